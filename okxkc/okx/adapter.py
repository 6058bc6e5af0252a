"""OKX WS API protocol: URLs, login signing, ping, frames, reply -> result or error.

Pure protocol: no I/O and no aiohttp here; the engine does the talking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NoReturn

import msgspec

from .._engine.outcome import Sending
from .._engine.protocol import AuthStep, Incoming, Kind
from .._signing import Clock, hmac_b64, item_text, one_pass_replies
from ..config import OkxAccount, OkxConfig
from ..errors import AuthenticationError, ExchangeError, PartialFailureError, RateLimitError
from . import models
from .models import OkxResponse
from .operations import OPERATIONS

__all__ = ["OkxAdapter", "ResultSpec", "sign_login"]

_WS_HOSTS = {
    ("prod", False): "wss://ws.okx.com:8443",
    ("prod", True): "wss://wspap.okx.com:8443",
    ("EEA", False): "wss://wseea.okx.com:8443",
    ("EEA", True): "wss://wseeapap.okx.com:8443",
    ("US", False): "wss://wsus.okx.com:8443",
    ("US", True): "wss://wsuspap.okx.com:8443",
}
_REST_HOSTS = {
    "prod": "https://www.okx.com",
    "EEA": "https://eea.okx.com",
    "US": "https://us.okx.com",
}

# Codes OKX uses for rate limits (per user, per sub-account, per connection).
RATE_LIMIT_CODES = frozenset({"50011", "50061", "60014"})

# What to tell the user for the login failures that have a usual cause.
_AUTH_HINTS = {
    "60032": "the key does not exist on this host: check market='prod' | 'EEA' | 'US'",
    "60005": "unknown API key: check the key and market='prod' | 'EEA' | 'US'",
    "50101": "the key does not match this environment: check demo_trading",
    "60024": "wrong passphrase",
    "60007": "invalid signature: check the API secret",
    "60006": "login timestamp expired: check the clock or enable time_sync=True",
    "60004": "invalid timestamp: check the clock or enable time_sync=True",
}


# Login refusals that may pass if tried again later: the exchange is busy or limits
# the rate (source: the OKX API docs' error-code sections, WebSocket class and REST
# public codes). Every other refusal (60004-60007,
# 60009, 60024, 60032 key / timestamp / signature / passphrase / host, 50101 wrong
# environment, IP or permission codes, and codes not listed) is permanent: it ends
# the client's tries until connect_ws_api().
TRANSIENT_LOGIN_CODES = frozenset(
    {
        "50001",  # service temporarily unavailable
        "50004",  # endpoint request timeout
        "50011",  # rate limit reached
        "50013",  # systems busy
        "50026",  # system error
        "60014",  # requests too frequent
        "60023",  # bulk login requests too frequent
    }
)


def login_error_is_transient(code: str | None) -> bool:
    """Whether an OKX login refusal with ``code`` is worth trying again later."""
    return code in TRANSIENT_LOGIN_CODES


# Published trading rate limits, per User ID (a sub-account is its own user), the
# window is 2 s (source: the OKX API docs, "Rate limits" in the overview and the
# "Rate limit" line of each trading op's page). Per instrument: each order, amend
# or cancel counts against its own instrument; a batch counts its items, and a
# batch of one item counts against the single-order limit.
PACING_WINDOW = 2.0
PACING_PER_INSTRUMENT = {
    "order": 60,
    "cancel-order": 60,
    "amend-order": 60,
    "batch-orders": 300,
    "batch-cancel-orders": 300,
    "batch-amend-orders": 300,
}
_SINGLE_OF = {
    "batch-orders": "order",
    "batch-cancel-orders": "cancel-order",
    "batch-amend-orders": "amend-order",
}
PACING_PER_ACCOUNT = {
    "mass-cancel": 5,
    "sprd-order": 20,
    "sprd-amend-order": 20,
    "sprd-cancel-order": 20,
    "sprd-mass-cancel": 5,
}
# New and amended orders of a sub-account together, each batch item counting
# (error 50061; the base tier, VIP5+ fill-ratio tiers allow more).
PACING_SUB_ACCOUNT = 1000
_SUB_ACCOUNT_OPS = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})


def pacing_costs(op: str, args: Any) -> list[tuple[Any, int, int, float]]:
    """What one OKX request uses of the published limits (see the tables above)."""
    items = args if isinstance(args, list) else [args]
    costs: list[tuple[Any, int, int, float]] = []
    per_inst = PACING_PER_INSTRUMENT.get(op)
    if per_inst is not None:
        if len(items) == 1 and op in _SINGLE_OF:
            op = _SINGLE_OF[op]
            per_inst = PACING_PER_INSTRUMENT[op]
        counts: dict[Any, int] = {}
        for item in items:
            inst = None
            if isinstance(item, dict):
                inst = item.get("instIdCode", item.get("instId"))
            counts[inst] = counts.get(inst, 0) + 1
        for inst, n in counts.items():
            costs.append(((op, inst), n, per_inst, PACING_WINDOW))
    else:
        per_account = PACING_PER_ACCOUNT.get(op)
        if per_account is not None:
            costs.append(((op,), 1, per_account, PACING_WINDOW))
    if op in _SUB_ACCOUNT_OPS:
        costs.append((("sub-account",), len(items), PACING_SUB_ACCOUNT, PACING_WINDOW))
    return costs


def sign_login(secret: str, timestamp: str) -> str:
    """Base64 HMAC-SHA256 of ``timestamp + "GET" + "/users/self/verify"``."""
    return hmac_b64(secret, f"{timestamp}GET/users/self/verify")


class _Env(msgspec.Struct):
    """Every OKX frame on these sockets, with ``data`` left raw until the op is known."""

    id: str | None = None
    op: str | None = None
    code: str | int | None = None
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"")
    inTime: str | None = None
    outTime: str | None = None
    event: str | None = None
    connId: str | None = None


class _Reply(msgspec.Struct, tag_field="op"):
    """A reply to one of the table's ops, decoded in one pass with its typed ``data``.

    One subclass per op, tagged by ``op``: the frame's own ``op`` picks the item
    type. A frame that is not such a reply (an event, an error without an op, data
    that does not fit) is decoded as :class:`_Env` instead.
    """

    id: str | None = None
    code: str | int | None = None
    msg: str = ""
    inTime: str | None = None
    outTime: str | None = None
    event: str | None = None


def _items_of(type_name: str) -> Any:
    item = getattr(models, type_name)
    return list[item]  # type: ignore[valid-type]


_REPLY_TYPES, _reply_decoder = one_pass_replies(
    _Reply,
    {row.op: (_items_of(row.result), msgspec.field(default_factory=list)) for row in OPERATIONS},
)


class ResultSpec:
    """How to read the reply of one op."""

    __slots__ = ("batch", "decoder", "op", "reply_type")

    def __init__(self, op: str, item_type: Any, batch: bool) -> None:
        self.op = op
        self.batch = batch
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(list[item_type])
        #: The one-pass reply type of ``op`` when its items are ``item_type``.
        reply = _REPLY_TYPES.get(op)
        fits = reply is not None and reply.__annotations__.get("data") == list[item_type]
        self.reply_type: Any = reply if fits else None


RAW_RESULT = ResultSpec("raw", dict[str, Any], batch=True)

_env_decoder = msgspec.json.Decoder(_Env)
# An id echoed inside an error message ("Invalid request: {... "id":"abc1" ...}").
_ECHOED_ID = re.compile(r'"id"\s*:\s*"([A-Za-z0-9]{1,32})"')
_INVALID_OP = re.compile(r"Invalid op: (\S+)")
_encoder = msgspec.json.Encoder()


def result_spec(op: str, item_type_name: str, batch: bool) -> ResultSpec:
    return ResultSpec(op, getattr(models, item_type_name), batch)


class OkxAdapter:
    exchange = "okx"
    default_ping_interval = 15.0  # OKX closes a socket after 30 s without inbound data

    def __init__(self, config: OkxConfig) -> None:
        self.config = config
        #: The exchange's clock (its offset is set by time sync).
        self.clock = Clock()
        if config.base_ws_url:
            self._ws_base = config.base_ws_url.rstrip("/")
        else:
            self._ws_base = _WS_HOSTS[(config.market, config.demo_trading)]
        self.rest_base = (config.base_rest_url or _REST_HOSTS[config.market]).rstrip("/")

    # -- URLs --------------------------------------------------------------------------
    def ws_url(self, ws_key: str, account: Any) -> str:
        return self.public_url(ws_key)

    def public_url(self, ws_key: str) -> str:
        url = f"{self._ws_base}/ws/v5/{ws_key}"
        if ws_key == "business" and self.config.demo_trading and not self.config.base_ws_url:
            url += "?brokerId=9999"
        return url

    # -- login -------------------------------------------------------------------------
    @property
    def time_offset_ms(self) -> int:
        """Server clock minus local clock, in ms (set by time sync)."""
        return self.clock.offset_ms

    @time_offset_ms.setter
    def time_offset_ms(self, value: int) -> None:
        self.clock.offset_ms = value

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def auth_begin(self, ws_key: str, account: OkxAccount, request_id: str) -> tuple[Any, AuthStep]:
        ts = str(self.now_ms() // 1000)
        frame = _encoder.encode(
            {
                "id": request_id,
                "op": "login",
                "args": [
                    {
                        "apiKey": account.api_key,
                        "passphrase": account.api_pass,
                        "timestamp": ts,
                        "sign": sign_login(account.api_secret, ts),
                    }
                ],
            }
        ).decode()
        return ws_key, AuthStep([frame])

    def auth_feed(self, state: Any, frame: str) -> AuthStep:
        if frame == "pong":
            return AuthStep()
        try:
            env = _env_decoder.decode(frame)
        except msgspec.DecodeError:
            return AuthStep()
        if env.event == "login" and str(env.code) == "0":
            return AuthStep(done=True)
        if env.event == "error":
            code = str(env.code)
            hint = _AUTH_HINTS.get(code)
            text = f"OKX refused the login: {env.msg or 'login failed'}"
            if hint:
                text += f" ({hint})"
            return AuthStep(error=AuthenticationError(text, code=code, ws_key=state))
        return AuthStep()

    def login_error_is_transient(self, code: str | None) -> bool:
        return login_error_is_transient(code)

    def pacing_costs(self, op: str, args: Any) -> list[tuple[Any, int, int, float]]:
        return pacing_costs(op, args)

    def ping_frame(self, request_id: str) -> str:
        return "ping"

    # -- requests ----------------------------------------------------------------------
    def encode(self, request_id: str, op: str, args: Any, extras: Any) -> bytes:
        msg: dict[str, Any] = {"id": request_id, "op": op, "args": args}
        if type(extras) is Sending:
            # A call of the generated methods: remember the id and the expiry actually
            # sent, for the lookup that settles a lost reply.
            extras.request_id = request_id
            deadline = extras.deadline_ms
            if deadline is not None:  # the default expiry (Sending.expiry, written out)
                expires = extras.expires_ms = deadline + self.clock.offset_ms
                msg["expTime"] = str(expires)
            elif extras.exp_ms is not None:
                msg["expTime"] = str(extras.expiry(self.clock))
        elif extras:
            exp = extras.get("exp_time")
            if exp is not None:
                msg["expTime"] = str(self.now_ms() + int(exp))
            exp_abs = extras.get("expTime")
            if exp_abs is not None:
                msg["expTime"] = str(exp_abs)
        return _encoder.encode(msg)

    def classify(self, frame: str | bytes) -> Any:
        try:
            # A reply to an op of the table: envelope and typed items in one pass.
            reply = _reply_decoder.decode(frame)
        except msgspec.DecodeError:
            # Not one (the heartbeat's "pong", an event, data that does not fit): read
            # it plainly.
            if frame == b"pong" or frame == "pong":
                return Incoming(Kind.PONG)
        else:
            if reply.id:
                return reply
        env = _env_decoder.decode(frame)
        if env.id:
            # Any frame with an id answers one request, whatever its shape (a
            # ``subscribe`` sent through send_ws_api_request is answered with an
            # ``event`` and no ``op``): finish() tells what it is.
            return Incoming(Kind.RESPONSE, env, env.id)
        event = env.event
        if event == "notice":
            return Incoming(Kind.NOTICE, env)
        if event == "error":
            # OKX answers some malformed requests without their id; match them by
            # the request it echoes (60012) or the op it names (60019).
            echoed = _ECHOED_ID.search(env.msg)
            if echoed is not None:
                return Incoming(Kind.RESPONSE, env, echoed.group(1))
            named = _INVALID_OP.match(env.msg) if str(env.code) == "60019" else None
            return Incoming(Kind.ERROR, env, None, named.group(1) if named else None)
        return Incoming(Kind.OTHER, env)

    @staticmethod
    def _plain(incoming: Incoming) -> _Env:
        """The frame as :class:`_Env` (a one-pass reply is read again, on a cold path)."""
        env = incoming.envelope
        return env if type(env) is _Env else _env_decoder.decode(incoming.frame)

    def describe(self, incoming: Incoming) -> dict[str, Any]:
        if incoming.envelope is None:
            return {}
        env = self._plain(incoming)
        out: dict[str, Any] = {}
        for f in _Env.__struct_fields__:
            v = getattr(env, f)
            if v is None or (isinstance(v, msgspec.Raw) and not v):
                continue
            out[f] = msgspec.json.decode(v) if isinstance(v, msgspec.Raw) else v
        return out

    def finish_reply(self, meta: Any, reply: Any, ws_key: str) -> OkxResponse[Any] | None:
        spec: ResultSpec = meta.result
        if type(reply) is not spec.reply_type or reply.event is not None or reply.code != "0":
            return None
        return OkxResponse(
            id=reply.id,
            op=spec.op,
            code="0",
            msg=reply.msg,
            data=reply.data,
            inTime=reply.inTime,
            outTime=reply.outTime,
            ws_key=ws_key,
        )

    def finish(self, meta: Any, incoming: Incoming, ws_key: str) -> OkxResponse[Any]:
        env: Any = incoming.envelope
        spec: ResultSpec = meta.result
        if type(env) is spec.reply_type and env.event is None:
            # The common case: decoded in one pass as this op's reply.
            data = env.data
            op = spec.op
        else:
            env, data, op = self._read_plainly(meta, incoming, spec)
        code = env.code if type(env.code) is str else str(env.code)
        resp: OkxResponse[Any] = OkxResponse(
            id=env.id or "",
            op=op,
            code=code,
            msg=env.msg,
            data=data,
            inTime=env.inTime,
            outTime=env.outTime,
            ws_key=ws_key,
        )
        if code == "0":
            return resp
        self._refused(spec, env, code, data, resp)

    def _read_plainly(
        self, meta: Any, incoming: Incoming, spec: ResultSpec
    ) -> tuple[_Env, list[Any], str]:
        """An event, an error, a raw request's reply: the envelope, its items, its op."""
        env = self._plain(incoming)
        code = env.code if isinstance(env.code, str) else str(env.code)
        if env.event == "error":
            raise _error(code, env.msg, self.describe(incoming), env.op or meta.op, env.id)
        if env.op is None and env.event is not None:
            raise ExchangeError(
                "event",
                f"OKX answered {meta.op} with a {env.event!r} event, not a WS API reply: "
                "okxkc's sockets carry trading requests; channel subscriptions need a "
                "stream client",
                self.describe(incoming),
                op=meta.op,
                request_id=env.id,
            )
        data = spec.decoder.decode(env.data) if env.data else []
        return env, data, env.op or meta.op

    def _refused(
        self, spec: ResultSpec, env: Any, code: str, data: list[Any], resp: OkxResponse[Any]
    ) -> NoReturn:
        """A reply whose code is not "0": the exception it raises."""
        if code in ("1", "2") and data:
            failed = [it for it in data if _item_code(it) != "0"]
            if code == "2":
                raise PartialFailureError(
                    code,
                    env.msg or "some items failed",
                    resp.to_dict(),
                    data,
                    failed,
                    op=resp.op,
                    request_id=resp.id,
                )
            if not spec.batch or len(data) == 1:
                item = failed[0] if failed else data[0]
                exc = _error(_item_code(item), _item_msg(item), resp.to_dict(), resp.op, resp.id)
                exc.items = list(data)
                raise exc
            codes = {_item_code(it) for it in failed}
            exc = _error(
                codes.pop() if len(codes) == 1 else code,
                env.msg or "all items failed",
                resp.to_dict(),
                resp.op,
                resp.id,
            )
            exc.items = list(data)
            raise exc
        raise _error(code, env.msg, resp.to_dict(), resp.op, resp.id)


def _item_code(item: Any) -> str:
    return item_text(item, "sCode", "0")


def _item_msg(item: Any) -> str:
    return item_text(item, "sMsg", "")


def _error(
    code: str, msg: str, response: dict[str, Any], op: str | None, request_id: str | None
) -> ExchangeError:
    if code in RATE_LIMIT_CODES:
        return RateLimitError(code, msg, response, op=op, request_id=request_id)
    return ExchangeError(code, msg, response, op=op, request_id=request_id)


def describe_accounts(accounts: Sequence[OkxAccount]) -> list[str]:
    return [a.api_key for a in accounts]
