"""Client options (attrs, validated), built from keyword arguments or a seed-style
camelCase dict (``{"accounts": [...], "demoTrading": True, "pingInterval": 10000}``).

Secrets are ``repr=False`` and never logged. Times are seconds in okxkc's own
names; the Node-style camelCase names take milliseconds, as in the Node SDKs.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .errors import ValidationError

__all__ = [
    "CommonOptions",
    "KucoinAccount",
    "KucoinConfig",
    "OkxAccount",
    "OkxConfig",
    "build_config",
]


def _nonempty(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(att.name, "must be a non-empty string")


def _positive(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
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


@attrs.define(kw_only=True, slots=True)
class OkxAccount:
    """One OKX API key. ``repr`` shows the key only."""

    api_key: str = attrs.field(validator=_nonempty)
    api_secret: str = attrs.field(validator=_nonempty, repr=False)
    api_pass: str = attrs.field(validator=_nonempty, repr=False)


@attrs.define(kw_only=True, slots=True)
class KucoinAccount:
    """One KuCoin API key (v2+). ``repr`` shows the key only."""

    api_key: str = attrs.field(validator=_nonempty)
    api_secret: str = attrs.field(validator=_nonempty, repr=False)
    api_passphrase: str = attrs.field(validator=_nonempty, repr=False)
    partner: str | None = None
    partner_key: str | None = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True)
class CommonOptions:
    """Options both exchanges share."""

    #: Log open / reconnect / reconnected / authenticated / exception / close through
    #: the ``okxkc`` logger (the Node SDKs' ``attachEventListeners``).
    attach_event_listeners: bool = True
    #: Default deadline of a call, from the call to its reply (seconds).
    request_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: Deadline for opening and authenticating one socket (seconds).
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: First reconnect delay; doubles per failed attempt, with jitter (seconds).
    reconnect_timeout: float = attrs.field(default=0.5, validator=_positive)
    #: Cap of the reconnect delay (seconds).
    reconnect_max: float = attrs.field(default=30.0, validator=_positive)
    #: Heartbeat period; ``None``: the exchange's (OKX 15 s, KuCoin: the server's).
    ping_interval: float | None = attrs.field(default=None, validator=_positive)
    #: How long to wait for any frame after a ping before reconnecting.
    pong_timeout: float | None = attrs.field(default=None, validator=_positive)
    #: Point the client at another server (the simulator): ``ws://127.0.0.1:PORT``.
    base_ws_url: str | None = attrs.field(default=None, validator=_url)
    #: REST base for helpers (instruments, server time): ``http://127.0.0.1:PORT``.
    base_rest_url: str | None = attrs.field(default=None, validator=_url)
    #: Sync the login timestamp with the exchange's server time before logging in.
    time_sync: bool = False
    #: Logger for lifecycle events (default ``logging.getLogger("okxkc")``).
    logger: logging.Logger | None = None
    #: Wait (within each call's deadline) to stay under the exchange's published
    #: per-op rate limits instead of sending and being refused.
    pacing: bool = False
    #: Trust the CAs in this PEM file for ``wss://`` and ``https://`` (e.g. a private
    #: gateway or a simulator with its own certificate); the system CAs otherwise.
    ca_file: str | None = attrs.field(default=None, validator=_ca_file)
    #: The TLS context for ``wss://`` and ``https://`` (client certificates, pinning);
    #: give this or ``ca_file``, not both.
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, validator=_ssl_context)


def _exp_time(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 86_400_000:
        raise ValidationError(
            "exp_time", f"must be a whole number of milliseconds in 1..86400000, got {value!r}"
        )


def _market(inst: Any, att: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("prod", "EEA", "US"):
        raise ValidationError("market", f"must be 'prod', 'EEA' or 'US', got {value!r}")


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


@attrs.define(kw_only=True)
class OkxConfig(CommonOptions):
    accounts: list[OkxAccount] = attrs.field(factory=list)
    market: str = attrs.field(default="prod", converter=_norm_market, validator=_market)
    demo_trading: bool = False
    #: Default request expiry for place/amend calls, in ms from the moment of sending.
    exp_time: int | None = attrs.field(default=None, validator=_exp_time)
    #: Resolve ``instId`` to ``instIdCode`` from the public instruments endpoint.
    resolve_instrument_codes: bool = True


@attrs.define(kw_only=True)
class KucoinConfig(CommonOptions):
    accounts: list[KucoinAccount] = attrs.field(factory=list)
    #: Ask for nanosecond ``inTime`` / ``outTime``.
    enable_ns: bool = False
    #: Route every op over one socket instead of ``spot`` + ``futures``.
    single_socket: bool = False


_CAMEL = {
    "attachEventListeners": ("attach_event_listeners", 1),
    "pingInterval": ("ping_interval", 1000),
    "pongTimeout": ("pong_timeout", 1000),
    "reconnectTimeout": ("reconnect_timeout", 1000),
    "requestTimeout": ("request_timeout", 1000),
    "demoTrading": ("demo_trading", 1),
    "apiKey": ("api_key", 1),
    "apiSecret": ("api_secret", 1),
    "apiPass": ("api_pass", 1),
    "apiPassphrase": ("api_passphrase", 1),
    "baseWsUrl": ("base_ws_url", 1),
    "baseRestUrl": ("base_rest_url", 1),
    "enableNs": ("enable_ns", 1),
}

_converter = cattrs.Converter(forbid_extra_keys=True)
for _cls, _fields in (
    (OkxAccount, {"api_key": "apiKey", "api_secret": "apiSecret", "api_pass": "apiPass"}),
    (
        KucoinAccount,
        {"api_key": "apiKey", "api_secret": "apiSecret", "api_passphrase": "apiPassphrase"},
    ),
):
    _overrides: dict[str, Any] = {k: override(rename=v) for k, v in _fields.items()}
    _converter.register_structure_hook(
        _cls, make_dict_structure_fn(_cls, _converter, _cattrs_forbid_extra_keys=True, **_overrides)
    )
_converter.register_structure_hook(logging.Logger, lambda v, _t: v)
_converter.register_structure_hook(ssl.SSLContext, lambda v, _t: v)  # checked by its validator

C = TypeVar("C", bound=CommonOptions)

_ACCOUNT_KEYS = {
    OkxAccount: {"api_key": "apiKey", "api_secret": "apiSecret", "api_pass": "apiPass"},
    KucoinAccount: {
        "api_key": "apiKey",
        "api_secret": "apiSecret",
        "api_passphrase": "apiPassphrase",
        "partner": "partner",
        "partner_key": "partnerKey",
    },
}


def _account_dict(cls: type, value: Any, where: str) -> Any:
    """Accept an account as the attrs object, or a dict in camelCase or snake_case."""
    if isinstance(value, (OkxAccount, KucoinAccount)) and isinstance(value, cls):
        fields = attrs.asdict(value)  # re-validated below
        return {_ACCOUNT_KEYS[cls][k]: v for k, v in fields.items()}
    if not isinstance(value, Mapping):
        raise ValidationError(where, "must be a dict with apiKey, apiSecret and the passphrase")
    names = _ACCOUNT_KEYS[cls]
    out: dict[str, Any] = {}
    for key, val in value.items():
        name = next((s for s, c in names.items() if key in (s, c)), None)
        if name is None:
            raise ValidationError(
                f"{where}.{key}", f"unknown account field; expected {', '.join(names.values())}"
            )
        out[names[name]] = val
    for name in ("api_key", "api_secret", "api_pass", "api_passphrase"):
        if name in names and names[name] not in out:
            raise ValidationError(f"{where}.{names[name]}", "is required")
    return out


def build_config(cls: type[C], options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> C:
    """Merge a seed-style options dict and keyword arguments into ``cls``."""
    merged: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key in _CAMEL:
            name, scale = _CAMEL[key]
            merged[name] = value / scale if scale != 1 and value is not None else value
        else:
            merged[key] = value
    merged.update({k: v for k, v in kwargs.items() if v is not None})
    account_cls = OkxAccount if cls is OkxConfig else KucoinAccount
    if "accounts" in merged:
        accounts = merged["accounts"]
        if isinstance(accounts, (Mapping, str)) or not isinstance(accounts, Sequence):
            raise ValidationError("accounts", "must be a list of credential dicts")
        merged["accounts"] = [
            _account_dict(account_cls, a, f"accounts[{i}]") for i, a in enumerate(accounts)
        ]
    known = {a.name for a in attrs.fields(cls)}
    for key in merged:
        if key not in known:
            raise ValidationError(key, f"is not an option of {cls.__name__}")
    try:
        return _converter.structure(merged, cls)
    except ValidationError:
        raise
    except cattrs.ClassValidationError as exc:
        inner = _first_leaf(exc)
        if isinstance(inner, ValidationError):
            raise inner from None
        raise ValidationError("options", str(inner)) from None
    except (TypeError, ValueError) as exc:
        raise ValidationError("options", str(exc)) from None


def _first_leaf(exc: BaseException) -> BaseException:
    inner: Any = exc
    while getattr(inner, "exceptions", None):
        inner = inner.exceptions[0]
    return inner  # type: ignore[no-any-return]
