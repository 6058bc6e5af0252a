"""Argument checks of the KuCoin ops: each raises :class:`OpError` with KuCoin's code.

KuCoin's own wording for most business errors is undocumented; the messages are the
named constants of :mod:`.wire`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .wire import (
    CLIENT_OID_RE,
    FUTURES_STP,
    ID_REQUIRED,
    MSG_BAD_CLIENT_OID,
    MSG_BOTH_IDS,
    MSG_ENUM,
    MSG_INVALID,
    MSG_REQUIRED,
    PARAM_ERROR,
    SPOT_STP,
    OpError,
    fmt,
)


def missing(field: str) -> OpError:
    return OpError(PARAM_ERROR, MSG_REQUIRED.format(field=field))


def invalid(field: str) -> OpError:
    return OpError(PARAM_ERROR, MSG_INVALID.format(field=field))


def args_obj(args: Any) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise OpError(PARAM_ERROR, MSG_INVALID.format(field="args"))
    return args


def enum_field(
    args: dict[str, Any], field: str, allowed: tuple[str, ...], default: str | None = None
) -> str:
    v = args.get(field)
    if v is None or v == "":
        if default is None:
            raise missing(field)
        return default
    if v not in allowed:
        raise OpError(PARAM_ERROR, MSG_ENUM.format(field=field, allowed=", ".join(allowed)))
    return str(v)


def opt_enum(args: dict[str, Any], field: str, allowed: tuple[str, ...]) -> None:
    v = args.get(field)
    if v is not None and v != "" and v not in allowed:
        raise OpError(PARAM_ERROR, MSG_ENUM.format(field=field, allowed=", ".join(allowed)))


def num(args: dict[str, Any], field: str, *, integer: bool = False) -> str | None:
    """A positive number sent as a string (KuCoin's way) or a JSON number; None if absent."""
    v = args.get(field)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        # Plain decimal notation only ("1e5", "nan", " 1" are refused), and not zero.
        digits = v.replace(".", "", 1)
        if not (digits.isascii() and digits.isdigit()) or not v.strip("0."):
            raise invalid(field)
        if integer and "." in v:
            raise invalid(field)
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise invalid(field)
    if isinstance(v, float):
        if integer and not v.is_integer():
            raise invalid(field)
        return fmt(Decimal(repr(v)))
    return str(v)


def boolean(args: dict[str, Any], field: str) -> bool:
    v = args.get(field)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise invalid(field)
    return v


def integer(args: dict[str, Any], field: str) -> int | None:
    v = args.get(field)
    if v is None or v == "":
        return None
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise invalid(field)


def max_len(args: dict[str, Any], field: str, limit: int) -> None:
    v = args.get(field)
    if v is not None and (not isinstance(v, str) or len(v) > limit):
        raise invalid(field)


def client_oid(args: dict[str, Any], required: bool) -> str:
    v = args.get("clientOid")
    if v is None or v == "":
        if required:
            raise missing("clientOid")
        return ""
    if not isinstance(v, str) or CLIENT_OID_RE.match(v) is None:
        raise OpError(PARAM_ERROR, MSG_BAD_CLIENT_OID)
    return v


Check = Callable[[dict[str, Any], str], object]


def _enum_check(allowed: tuple[str, ...]) -> Check:
    return lambda args, field: opt_enum(args, field, allowed)


def _len_check(limit: int) -> Check:
    return lambda args, field: max_len(args, field, limit)


# Optional fields, checked only when present: most requests carry few of them, and
# looking each one up on every order is measurable at a million orders.
SPOT_EXTRAS: dict[str, Check] = {
    "stp": _enum_check(SPOT_STP),
    "hidden": boolean,
    "iceberg": boolean,
    "isIsolated": boolean,
    "autoBorrow": boolean,
    "autoRepay": boolean,
    "remark": _len_check(20),
    "tags": _len_check(20),
    "visibleSize": num,
    "cancelAfter": integer,
}
FUTURES_EXTRAS: dict[str, Check] = {
    "stp": _enum_check(FUTURES_STP),
    "marginMode": _enum_check(("ISOLATED", "CROSS")),
    "positionSide": _enum_check(("BOTH", "LONG", "SHORT")),
    "remark": _len_check(100),
    "leverage": num,
    "visibleSize": num,
    "reduceOnly": boolean,
    "forceHold": boolean,
    "hidden": boolean,
    "iceberg": boolean,
}


def check_extras(args: dict[str, Any], checks: dict[str, Check]) -> None:
    get = checks.get
    for field in args:
        check = get(field)
        if check is not None:
            check(args, field)


def one_id(args: dict[str, Any]) -> tuple[str | None, str | None]:
    """(orderId, clientOid), exactly one of them set."""
    oid = args.get("orderId")
    coid = args.get("clientOid")
    oid = None if oid == "" else oid
    coid = None if coid == "" else coid
    if oid is None and coid is None:
        raise OpError(*ID_REQUIRED)
    if oid is not None and coid is not None:
        raise OpError(PARAM_ERROR, MSG_BOTH_IDS)
    if oid is not None and not isinstance(oid, str):
        raise invalid("orderId")
    if coid is not None and not isinstance(coid, str):
        raise invalid("clientOid")
    return oid, coid
