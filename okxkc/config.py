"""Client options (attrs, validated; structured by cattrs), built from keyword
arguments or a seed-style camelCase dict (``{"accounts": [...], "demoTrading": True,
"pingInterval": 10000}``).

Each option is declared once, as a field of the classes below. Its Node-style
camelCase name and unit scale sit beside it (:func:`option`); everything else is
derived from that one table: the camelCase dict handling here, and the typed
keyword arguments of the generated client constructors (``tools/generate.py``).
Secrets are ``repr=False`` and never logged. Times are seconds in okxkc's own
names; their camelCase names take milliseconds, as in the Node SDKs.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import logging
import os
import ssl
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from .errors import ValidationError

__all__ = [
    "ACCOUNT_OF",
    "INST_TYPES",
    "MAX_EXP_TIME_MS",
    "CommonOptions",
    "KucoinAccount",
    "KucoinConfig",
    "NodeName",
    "OkxAccount",
    "OkxConfig",
    "build_config",
    "check_exp_time",
    "name_table",
    "option",
]

#: The longest request expiry accepted (ms): a day; a typo fails instead of waiting.
MAX_EXP_TIME_MS = 86_400_000

_META = "okxkc"


@attrs.frozen
class NodeName:
    """One row of the name table: okxkc's option name, the Node SDKs' name for it,
    and how many Node units make one okxkc unit (1000: Node ms, okxkc seconds)."""

    option: str
    node: str
    scale: int = 1
    #: The keyword argument's type in the generated constructors, when it differs
    #: from the field's own type (``accounts`` takes dicts as well).
    arg_type: str | None = None
    doc: str = ""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def option(
    default: Any = attrs.NOTHING,
    *,
    node: str | None = None,
    scale: int = 1,
    doc: str = "",
    arg_type: str | None = None,
    **kwargs: Any,
) -> Any:
    """An attrs field that is also a row of the name table.

    ``node``: the Node SDKs' camelCase name (default: this name in camelCase);
    ``scale``: Node units per okxkc unit; ``doc``: one line for the constructor's
    docstring. Other arguments go to ``attrs.field``. Fields declared with plain
    ``attrs.field`` get a row too (camelCase name, scale 1).
    """
    meta = {_META: {"node": node, "scale": scale, "doc": doc, "arg_type": arg_type}}
    return attrs.field(default=default, metadata=meta, **kwargs)


@functools.cache
def name_table(cls: type) -> dict[str, NodeName]:
    """The rows of an attrs options class, keyed by okxkc name (in field order)."""
    rows = {}
    for f in attrs.fields(cls):
        m = f.metadata.get(_META, {})
        rows[f.name] = NodeName(
            f.name, m.get("node") or _camel(f.name), m.get("scale", 1), m.get("arg_type"),
            m.get("doc", ""),
        )  # fmt: skip
    return rows


@functools.cache
def _lookup(cls: type) -> dict[str, tuple[str, int]]:
    """Given name (okxkc or Node) -> (okxkc name, scale to apply)."""
    out: dict[str, tuple[str, int]] = {}
    for row in name_table(cls).values():
        out[row.node] = (row.option, row.scale)
        out[row.option] = (row.option, 1)
    return out


# -- validators --------------------------------------------------------------------------
def _show_number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "an integer of more than 64 bits"  # repr() of a huge int is slow or refused
    if isinstance(value, (int, float)):
        return repr(value)
    return type(value).__name__


def check_exp_time(value: Any, field: str = "exp_time") -> None:
    """The one check of a request expiry: a whole number of ms in 1..86400000."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_EXP_TIME_MS:
        raise ValidationError(
            field,
            f"must be a positive whole number of milliseconds, at most {MAX_EXP_TIME_MS}; "
            f"got {_show_number(value)}",
        )


def _exp_time(value: Any) -> Any:
    check_exp_time(value)
    return value


def _nonempty(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(att.name, "must be a non-empty string")


def _optional_text(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _nonempty(inst, att, value)


def _positive(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9
    ):
        raise ValidationError(att.name, f"must be a positive number of seconds, got {value!r}")


def _url(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(att.name, "must be a URL string")
    parts = urlsplit(value)
    allowed = ("ws", "wss") if att.name == "base_ws_url" else ("http", "https")
    if parts.scheme not in allowed or not parts.hostname:
        raise ValidationError(att.name, f"must be a {'/'.join(allowed)}:// URL, got {value!r}")
    if parts.scheme in ("ws", "http") and not is_loopback(parts.hostname):
        raise ValidationError(
            att.name,
            f"credentials are never sent over plain {parts.scheme}:// except to a loopback host; "
            f"use {parts.scheme}s:// for {parts.hostname}",
        )


def _ca_file(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not os.path.isfile(value):
        raise ValidationError("ca_file", f"must be the path of a PEM file, got {value!r}")


def _ssl_context(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, ssl.SSLContext):
        raise ValidationError("ssl_context", f"must be an ssl.SSLContext, got {value!r}")
    if inst.ca_file is not None:
        raise ValidationError("ssl_context", "give ssl_context or ca_file, not both")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- accounts ----------------------------------------------------------------------------
@attrs.define(kw_only=True, slots=True)
class OkxAccount:
    """One OKX API key. ``repr`` shows the key only."""

    api_key: str = option(validator=_nonempty)
    api_secret: str = option(validator=_nonempty, repr=False)
    api_pass: str = option(validator=_nonempty, repr=False)


def _partner_pair(inst: KucoinAccount, att: attrs.Attribute[Any], value: Any) -> None:
    _optional_text(inst, att, value)
    if (inst.partner is None) != (value is None):
        raise ValidationError("partner_key", "give partner and partner_key together")


@attrs.define(kw_only=True, slots=True)
class KucoinAccount:
    """One KuCoin API key (v2+), optionally with a broker ``partner`` and its
    ``partner_key`` (signs ``partner_sign``). ``repr`` shows the key only."""

    api_key: str = option(validator=_nonempty)
    api_secret: str = option(validator=_nonempty, repr=False)
    api_passphrase: str = option(validator=_nonempty, repr=False)
    partner: str | None = option(None, validator=_optional_text)
    partner_key: str | None = option(None, validator=_partner_pair, repr=False)


# -- options -----------------------------------------------------------------------------
@attrs.define(kw_only=True)
class CommonOptions:
    """Options both exchanges share."""

    attach_event_listeners: bool = option(
        True,
        doc="log open / reconnect / reconnected / authenticated / exception / close "
        "through the ``okxkc`` logger",
    )
    request_timeout: float = option(
        10.0, validator=_positive, scale=1000, doc="default deadline of a call, in seconds"
    )
    connect_timeout: float = option(
        10.0,
        validator=_positive,
        scale=1000,
        doc="deadline for opening and authenticating a socket",
    )
    reconnect_timeout: float = option(
        0.5, validator=_positive, scale=1000, doc="first reconnect delay; doubles, with jitter"
    )
    reconnect_max: float = option(
        30.0, validator=_positive, scale=1000, doc="cap of the reconnect delay"
    )
    ping_interval: float | None = option(
        None, validator=_positive, scale=1000, doc="heartbeat period (default: the exchange's)"
    )
    pong_timeout: float | None = option(
        None, validator=_positive, scale=1000, doc="how long to wait for a frame after a ping"
    )
    base_ws_url: str | None = option(
        None, validator=_url, doc="another server (the simulator): ``ws://127.0.0.1:PORT``"
    )
    base_rest_url: str | None = option(
        None, validator=_url, doc="REST base for helpers: ``http://127.0.0.1:PORT``"
    )
    time_sync: bool = option(False, doc="use the exchange's clock for login timestamps")
    logger: logging.Logger | None = option(
        None, doc='logger for lifecycle events (default ``logging.getLogger("okxkc")``)'
    )
    #: When a place / amend / cancel loses its reply (socket lost, or no reply by the
    #: deadline after sending), look the order up over the exchange's signed REST API and
    #: end the call with the result, ``NotExecutedError`` or (if nothing is provable) the
    #: original error with ``.lookup``. Also puts a default expiry on OKX place/amend and
    #: KuCoin spot places (the call's deadline, on the exchange's clock).
    resolve_unknown: bool = option(
        True, doc="settle a lost reply by REST order lookup (see README, When things go wrong)"
    )
    #: Seconds after a lost reply from which an order still live counts as "cancel not
    #: executed"; places / amends without an expiry are looked up until then.
    settle_time: float = option(
        3.0,
        validator=_positive,
        scale=1000,
        doc="after a lost reply, when a still-live order means the cancel did not apply",
    )
    #: How far past its timeout a call may run to finish its lookups (seconds).
    resolve_grace: float = option(
        5.0, validator=_positive, scale=1000, doc="how far past its timeout a lookup may run"
    )
    pacing: bool = option(
        False,
        doc="wait within each call's deadline to stay under the exchange's published "
        "per-op rate limits instead of being refused",
    )
    ca_file: str | None = option(
        None,
        validator=_ca_file,
        doc="PEM file of CAs to trust for ``wss://`` and ``https://`` (system CAs otherwise)",
    )
    ssl_context: ssl.SSLContext | None = option(
        None,
        validator=_ssl_context,
        doc="TLS context for ``wss://`` and ``https://`` (give this or ``ca_file``)",
    )


def _norm_market(value: Any) -> Any:
    if isinstance(value, str):
        v = value.strip()
        if v.lower() in ("prod", "global", "www"):
            return "prod"
        if v.upper() in ("EEA", "US"):
            return v.upper()
        if v.lower() == "demo":
            raise ValidationError("market", "use demo_trading=True for the demo environment")
    return value


def _market(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("prod", "EEA", "US"):
        raise ValidationError("market", f"must be 'prod', 'EEA' or 'US', got {value!r}")


#: The OKX instrument types whose instrument lists can be fetched without a family.
INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES")


def _inst_types(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    for t in value:
        if t not in INST_TYPES:
            raise ValidationError(
                att.name, f"must list instrument types of {INST_TYPES}; got {t!r}"
            )


@attrs.define(kw_only=True)
class OkxConfig(CommonOptions):
    accounts: list[OkxAccount] = option(
        factory=list,
        arg_type="Sequence[OkxAccount | Mapping[str, Any]]",
        doc='``[{"apiKey": ..., "apiSecret": ..., "apiPass": ...}, ...]``; calls take ``account=``',
    )
    market: str = option(
        "prod",
        converter=_norm_market,
        validator=_market,
        arg_type="Literal['prod', 'EEA', 'US']",
        doc='``"prod"`` (www.okx.com), ``"EEA"`` (my.okx.com) or ``"US"`` (app.okx.com)',
    )
    demo_trading: bool = option(False, doc="trade in the demo environment")
    exp_time: int | None = option(
        None, converter=_exp_time, doc="default request expiry of place/amend calls (ms)"
    )
    resolve_instrument_codes: bool = option(
        True, doc="send ``instIdCode`` for ``instId``, from the public instruments list"
    )
    preload_instruments: tuple[str, ...] = option(
        ("SPOT", "SWAP"),
        validator=_inst_types,
        arg_type="Sequence[str]",
        doc="instrument types whose codes ``connect_ws_api()`` loads ahead of the first order",
    )


@attrs.define(kw_only=True)
class KucoinConfig(CommonOptions):
    accounts: list[KucoinAccount] = option(
        factory=list,
        arg_type="Sequence[KucoinAccount | Mapping[str, Any]]",
        doc='``[{"apiKey", "apiSecret", "apiPassphrase"}, ...]`` (or ``api_key`` ... for one)',
    )
    enable_ns: bool = option(False, doc="ask for nanosecond ``inTime`` / ``outTime``")
    single_socket: bool = option(
        False, doc="route every op over one socket instead of ``spot`` + ``futures``"
    )


#: The account class of each options class: its fields may also be given at the top
#: level for a single account (``api_key=..., api_secret=..., ...``).
ACCOUNT_OF: dict[type, type] = {OkxConfig: OkxAccount, KucoinConfig: KucoinAccount}


# -- structuring -------------------------------------------------------------------------
def _strict(kind: type | tuple[type, ...], what: str) -> Any:
    def hook(value: Any, _t: Any) -> Any:
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise TypeError(f"must be {what}, got {value!r}")
        if not isinstance(value, kind):
            raise TypeError(f"must be {what}, got {type(value).__name__}")
        return value

    return hook


def _inst_type_tuple(value: Any, _t: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"must be a list of instrument types, got {type(value).__name__}")
    return tuple(value)


def _fallback(t: Any) -> Any:
    """A type cattrs has no rule for (``Pacing | bool``, ...): the value must be an instance
    of one of its classes; the field's own attrs validator checks the rest."""
    classes = tuple(c for c in (*typing.get_args(t), t) if isinstance(c, type))

    def hook(value: Any, _t: Any) -> Any:
        if classes and not isinstance(value, classes):
            names = " or ".join(c.__name__ for c in classes)
            raise TypeError(f"must be {names}, got {type(value).__name__}")
        return value

    return hook


# A field with an attrs converter gets the given value as is: the converter checks it.
_converter = cattrs.Converter(prefer_attrib_converters=True, structure_fallback_factory=_fallback)
_converter.register_structure_hook(bool, _strict(bool, "True or False"))
_converter.register_structure_hook(str, _strict(str, "a string"))
_converter.register_structure_hook(int, _strict(int, "an integer"))
_converter.register_structure_hook(float, _strict((int, float), "a number"))
_converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _inst_type_tuple)


def _is_object_type(t: Any) -> bool:
    # A class of its own (logging.Logger, ssl.SSLContext, ...), not a builtin or attrs class.
    return isinstance(t, type) and t.__module__ != "builtins" and not attrs.has(t)


def _instance_hook(t: type) -> Any:
    return _strict(t, f"a {t.__module__}.{t.__qualname__}")


def _attrs_hook(t: type) -> Any:
    # An attrs value given as the object itself passes as is; a dict is structured.
    from_dict: Any = make_dict_structure_fn(t, _converter)
    return lambda v, _t: v if isinstance(v, t) else from_dict(v, t)


_converter.register_structure_hook_factory(_is_object_type, _instance_hook)
_converter.register_structure_hook_factory(
    lambda t: isinstance(t, type) and attrs.has(t) and t not in ACCOUNT_OF.values(), _attrs_hook
)
for _acc in ACCOUNT_OF.values():
    _converter.register_structure_hook(_acc, lambda v, _t: v)  # built by _account below

C = TypeVar("C", bound=CommonOptions)


def _suggest(name: str, known: Iterable[str]) -> str:
    known = list(known)
    lower = {k.lower(): k for k in known}
    match = lower.get(name.lower()) or next(iter(difflib.get_close_matches(name, known, 1)), None)
    return f"; did you mean {match}?" if match else ""


def _account(cls: type, value: Any, where: str) -> Any:
    """An account object of ``cls``, from such an object or a camelCase / snake_case dict.

    ``where`` prefixes the field a ValidationError names (``accounts[0].apiKey``); with
    an empty ``where`` (one account given as keywords) it names the keyword itself.
    """
    table = name_table(cls)
    if isinstance(value, cls):
        return value
    if isinstance(value, (OkxAccount, KucoinAccount)):
        raise ValidationError(
            where, f"is a {type(value).__name__}; this client takes {cls.__name__}"
        )
    if not isinstance(value, Mapping):
        raise ValidationError(
            where,
            f"must be a {cls.__name__} or a dict with {', '.join(r.node for r in table.values())}",
        )
    lookup = _lookup(cls)
    fields: dict[str, Any] = {}
    for key, val in value.items():
        if not isinstance(key, str) or key not in lookup:
            raise ValidationError(
                f"{where}.{key}",
                f"unknown account field; expected {', '.join(r.node for r in table.values())}"
                + (_suggest(key, lookup) if isinstance(key, str) else ""),
            )
        if val is not None:
            fields[lookup[key][0]] = val
    for f in attrs.fields(cls):
        if f.default is attrs.NOTHING and f.name not in fields:
            raise ValidationError(
                f"{where}.{table[f.name].node}" if where else f.name, "is required"
            )
    try:
        return cls(**fields)
    except ValidationError as exc:
        if not where:
            raise
        raise ValidationError(f"{where}.{table[exc.field].node}", exc.reason) from None


def build_config(cls: type[C], options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> C:
    """Merge a seed-style options dict (camelCase or okxkc names) and keyword arguments
    (okxkc names; they win) into ``cls``. ``None`` means "not given"."""
    account_cls = ACCOUNT_OF[cls]
    plain: type = cls  # (functools.cache wants a hashable, which a TypeVar's type is not)
    known, acc_known = _lookup(plain), _lookup(account_cls)
    merged: dict[str, Any] = {}
    single: dict[str, Any] = {}
    if options is not None and not isinstance(options, Mapping):
        raise ValidationError("options", f"must be a dict, got {type(options).__name__}")
    for source, values in (("options", options or {}), ("keyword", kwargs)):
        for key, value in values.items():
            if value is None:
                continue
            if (
                isinstance(key, str)
                and key in known
                and (source == "options" or known[key][0] == key)
            ):
                name, scale = known[key]
                if scale != 1 and isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = value / scale
                merged[name] = value
            elif isinstance(key, str) and key in acc_known and key != "accounts":
                single[acc_known[key][0]] = value
            else:
                names = (
                    [*known, *acc_known]
                    if source == "options"
                    else list({*name_table(plain), *name_table(account_cls)})
                )
                raise ValidationError(
                    str(key), f"is not an option of {cls.__name__}" + _suggest(str(key), names)
                )
    if single:
        if "accounts" in merged:
            first = name_table(account_cls)[next(iter(single))].option
            raise ValidationError(first, f"give either {first} and the rest, or accounts, not both")
        merged["accounts"] = [_account(account_cls, single, "")]
    elif "accounts" in merged:
        accounts = merged["accounts"]
        if isinstance(accounts, (Mapping, str, bytes)) or not isinstance(accounts, Sequence):
            if isinstance(accounts, account_cls):
                raise ValidationError("accounts", "must be a list: accounts=[account]")
            raise ValidationError("accounts", "must be a list of accounts")
        merged["accounts"] = [
            _account(account_cls, a, f"accounts[{i}]") for i, a in enumerate(accounts)
        ]
    try:
        return _converter.structure(merged, cls)
    except ValidationError:
        raise
    except cattrs.ClassValidationError as exc:
        raise _as_validation_error(exc) from None
    except (TypeError, ValueError) as exc:
        raise ValidationError("options", str(exc)) from None


def _as_validation_error(exc: BaseException) -> ValidationError:
    """The first leaf of cattrs' error tree, naming the option it is about."""
    field = "options"
    inner: Any = exc
    while True:
        for note in getattr(inner, "__notes__", ()):
            name = getattr(note, "name", None)
            if isinstance(name, str):
                field = name
        subs = getattr(inner, "exceptions", None)
        if not subs:
            break
        inner = subs[0]
        for note in getattr(inner, "__notes__", ()):
            name = getattr(note, "name", None)
            if isinstance(name, str):
                field = name
    if isinstance(inner, ValidationError):
        return inner
    return ValidationError(field, str(inner))
