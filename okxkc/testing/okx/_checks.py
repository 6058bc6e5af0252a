"""Argument checks that refuse with OKX's codes, and the failure item of each op."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ._wire import _POS_DEC


class _Reject(Exception):
    """One item (or a whole single op) refused with an OKX code."""

    __slots__ = ("code", "msg")

    def __init__(self, code: str, msg: str) -> None:
        self.code = code
        self.msg = msg


# -- small validators (raise _Reject with OKX's code) ------------------------------------
def _echo(v: Any) -> str:
    if type(v) is str:
        return v
    if type(v) is int:
        return str(v)
    return ""


def _enum(a: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    v = a.get(name)
    if v is None or v == "":
        raise _Reject("50014", f"Parameter {name} can not be empty")
    if type(v) is not str or v not in allowed:
        raise _Reject("51000", f"Parameter {name} error")
    return v


def _is_pos(v: Any) -> bool:
    return type(v) is str and _POS_DEC.fullmatch(v) is not None and v.strip("0.") != ""


def _size(a: dict[str, Any], name: str) -> str:
    v = a.get(name)
    if v is None or v == "":
        raise _Reject("50014", f"Parameter {name} can not be empty")
    if not _is_pos(v):
        raise _Reject("51000", f"Parameter {name} error")
    return v  # type: ignore[no-any-return]


def _alnum(a: dict[str, Any], name: str, limit: int) -> str:
    v = a.get(name)
    if v is None or v == "":
        return ""
    if type(v) is not str or len(v) > limit or not (v.isascii() and v.isalnum()):
        raise _Reject("51000", f"Parameter {name} error")
    return v


def _present(v: Any) -> bool:
    return v is not None and v != ""


def _fmt(d: Decimal) -> str:
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


# -- failure items, one shape per op -------------------------------------------------------
def _fail_order(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": "",
        "clOrdId": _echo(a.get("clOrdId")),
        "tag": _echo(a.get("tag")),
        "ts": str(now),
        "sCode": code,
        "sMsg": msg,
        "subCode": "",
    }


def _fail_cancel(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "ts": str(now),
        "sCode": code,
        "sMsg": msg,
        "subCode": "",
    }


def _fail_amend(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "ts": str(now),
        "reqId": _echo(a.get("reqId")),
        "sCode": code,
        "sMsg": msg,
        "subCode": "",
    }


def _fail_sprd_order(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": "",
        "clOrdId": _echo(a.get("clOrdId")),
        "tag": _echo(a.get("tag")),
        "sCode": code,
        "sMsg": msg,
    }


def _fail_sprd_amend(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "reqId": _echo(a.get("reqId")),
        "sCode": code,
        "sMsg": msg,
    }


def _fail_sprd_cancel(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "sCode": code,
        "sMsg": msg,
    }
