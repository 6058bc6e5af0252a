"""KuCoin WS API protocol: signed URL, session challenge, JSON ping, frames,
reply -> result or error.

Pure protocol: no I/O and no aiohttp here; the engine does the talking.
"""

from __future__ import annotations

from time import time as wall_time
from typing import Any
from urllib.parse import quote

import msgspec

from .._engine.outcome import Sending
from .._engine.protocol import AuthStep, Incoming, Kind
from .._signing import Clock, hmac_b64, item_text, one_pass_replies
from ..config import KucoinAccount, KucoinConfig
from ..errors import AuthenticationError, ExchangeError, PartialFailureError, RateLimitError
from . import models
from .models import KucoinResponse, RateLimit
from .operations import OPERATIONS

__all__ = ["KucoinAdapter", "ResultSpec", "sign"]

_WS_BASE = "wss://wsapi.kucoin.com"
_REST_BASE = "https://api.kucoin.com"
SUCCESS = "200000"
_ITEM_OK = frozenset({"200000", "200"})
RATE_LIMIT_CODE = "429000"

_AUTH_HINTS = {
    "400002": "timestamp outside the window: check the clock or enable time_sync=True",
    "400003": "unknown API key",
    "400004": "wrong passphrase",
    "400005": "invalid signature: check the API secret",
    "400011": "session challenge signature refused: check the API secret",
    "400012": "session challenge timed out",
}


# Login refusals that may pass if tried again later (source: KuCoin's error-code
# page, gateway codes). Every other refusal
# (400001-400011 URL / timestamp / key / passphrase / signature / IP / permission /
# key version / challenge signature, 400200-400202 partner, 400301 region, and
# codes not listed) is permanent: it ends the client's tries until connect_ws_api().
TRANSIENT_LOGIN_CODES = frozenset(
    {
        "400012",  # session verification timed out (the challenge answer came late)
        "429000",  # too many requests
        "500000",  # internal server error
    }
)


def login_error_is_transient(code: str | None) -> bool:
    """Whether a KuCoin login refusal with ``code`` is worth trying again later."""
    return code in TRANSIENT_LOGIN_CODES


# Published limits: each WS API op draws on the REST resource pool of its REST twin,
# with that endpoint's weight, per account, per 30 s; the pool sizes are the VIP0
# ones (the lowest). Source: KuCoin's API docs, "Rate limit" (resource pools per VIP
# level) and each endpoint's "API-RATE-LIMIT-WEIGHT". That WS ops draw on the same
# pools is not stated; the quota in every reply says so.
PACING_WINDOW = 30.0
PACING_POOLS = {"spot": 4000, "futures": 2000}
PACING_WEIGHTS: dict[str, tuple[str, int]] = {
    "spot.order": ("spot", 1),
    "spot.sync_order": ("spot", 1),
    "spot.modify": ("spot", 1),
    "spot.cancel": ("spot", 1),
    "spot.sync_cancel": ("spot", 1),
    "margin.order": ("spot", 2),
    "margin.cancel": ("spot", 2),
    "futures.order": ("futures", 2),
    "futures.cancel": ("futures", 1),
    "futures.multi_order": ("futures", 20),
    "futures.multi_cancel": ("futures", 20),
}


def pacing_costs(op: str, args: Any) -> list[tuple[Any, int, int, float]]:
    """What one KuCoin request uses of its resource pool (see the table above)."""
    found = PACING_WEIGHTS.get(op)
    if found is None:
        return []
    pool, weight = found
    return [((pool,), weight, PACING_POOLS[pool], PACING_WINDOW)]


#: Base64 HMAC-SHA256, KuCoin's signature for the URL, passphrase and challenge.
sign = hmac_b64


class _Env(msgspec.Struct):
    id: str | None = None
    op: str | None = None
    code: str | int | None = None
    msg: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"")
    inTime: int | None = None
    outTime: int | None = None
    userRateLimit: RateLimit | None = None
    rateLimit: RateLimit | None = None
    sessionId: str | None = None
    type: str | None = None


class _Reply(msgspec.Struct, tag_field="op"):
    """A reply to one of the table's ops, decoded in one pass with its typed ``data``.

    One subclass per op, tagged by ``op``: the frame's own ``op`` picks the data
    type. A frame that is not such a reply (an event, a refusal whose data does not
    fit) is decoded as :class:`_Env` instead.
    """

    id: str | None = None
    code: str | int | None = None
    msg: str | None = None
    inTime: int | None = None
    outTime: int | None = None
    userRateLimit: RateLimit | None = None
    rateLimit: RateLimit | None = None


def _data_type(item_type_name: str, is_list: bool) -> Any:
    item = getattr(models, item_type_name)
    return list[item] if is_list else item  # type: ignore[valid-type]


_REPLY_TYPES, _reply_decoder = one_pass_replies(
    _Reply,
    {
        row.op: (_data_type(row.result, row.batch or row.result_is_list) | None, None)
        for row in OPERATIONS
    },
    strict=False,
)


class ResultSpec:
    __slots__ = ("decoder", "is_list", "op", "reply_type")

    def __init__(self, op: str, data_type: Any, is_list: bool) -> None:
        self.op = op
        self.is_list = is_list
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(data_type, strict=False)
        #: The one-pass reply type of ``op`` when its data is ``data_type``.
        reply = _REPLY_TYPES.get(op)
        fits = reply is not None and reply.__annotations__.get("data") == data_type | None
        self.reply_type: Any = reply if fits else None


RAW_RESULT = ResultSpec("raw", Any, is_list=False)

_env_decoder = msgspec.json.Decoder(_Env, strict=False)
_encoder = msgspec.json.Encoder()


def result_spec(op: str, item_type_name: str, is_list: bool) -> ResultSpec:
    return ResultSpec(op, _data_type(item_type_name, is_list), is_list)


class _AuthState:
    __slots__ = ("account", "challenged", "ws_key")

    def __init__(self, ws_key: str, account: KucoinAccount) -> None:
        self.ws_key = ws_key
        self.account = account
        self.challenged = False


class KucoinAdapter:
    exchange = "kucoin"
    default_ping_interval = 15.0

    def __init__(self, config: KucoinConfig) -> None:
        self.config = config
        #: The exchange's clock (its offset is set by time sync).
        self.clock = Clock()
        self._ws_base = (config.base_ws_url or _WS_BASE).rstrip("/")
        self.rest_base = (config.base_rest_url or _REST_BASE).rstrip("/")

    @property
    def time_offset_ms(self) -> int:
        """Server clock minus local clock, in ms (set by time sync)."""
        return self.clock.offset_ms

    @time_offset_ms.setter
    def time_offset_ms(self, value: int) -> None:
        self.clock.offset_ms = value

    def now_ms(self) -> int:
        return self.clock.now_ms()

    # -- URL ---------------------------------------------------------------------------
    def public_url(self, ws_key: str) -> str:
        return f"{self._ws_base}/v1/private"

    def ws_url(self, ws_key: str, account: KucoinAccount) -> str:
        ts = str(self.now_ms())
        query = [
            ("apikey", account.api_key),
            ("timestamp", ts),
            ("sign", sign(account.api_secret, account.api_key + ts)),
            ("passphrase", sign(account.api_secret, account.api_passphrase)),
        ]
        if account.partner and account.partner_key:
            query.append(("partner", account.partner))
            query.append(
                ("partner_sign", sign(account.partner_key, ts + account.partner + account.api_key))
            )
        if self.config.enable_ns:
            query.append(("enable_ns", "true"))
        return (
            self.public_url(ws_key) + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
        )

    # -- session challenge -------------------------------------------------------------
    def auth_begin(
        self, ws_key: str, account: KucoinAccount, request_id: str
    ) -> tuple[Any, AuthStep]:
        return _AuthState(ws_key, account), AuthStep()

    def auth_feed(self, state: Any, frame: str) -> AuthStep:
        st: _AuthState = state
        try:
            env = _env_decoder.decode(frame)
        except msgspec.DecodeError:
            return AuthStep()
        code = None if env.code is None else str(env.code)
        if code is not None and code != SUCCESS and env.id is None:
            hint = _AUTH_HINTS.get(code)
            text = f"KuCoin refused the connection: {env.msg or 'authentication failed'}"
            if hint:
                text += f" ({hint})"
            return AuthStep(error=AuthenticationError(text, code=code, ws_key=st.ws_key))
        if env.sessionId is not None and not env.data and not st.challenged:
            # Sign the exact text the server sent, not a re-serialisation of it.
            st.challenged = True
            return AuthStep([sign(st.account.api_secret, frame)])
        if env.sessionId is not None and bytes(env.data) == b'"welcome"':
            welcome = msgspec.json.decode(frame)
            interval = welcome.get("pingInterval")
            timeout = welcome.get("pingTimeout")
            return AuthStep(
                done=True,
                # Ping a little before the announced interval so the server never waits.
                ping_interval=interval / 1000 * 0.8
                if isinstance(interval, (int, float)) and interval > 0
                else None,
                pong_timeout=timeout / 1000
                if isinstance(timeout, (int, float)) and timeout > 0
                else None,
            )
        return AuthStep()

    def login_error_is_transient(self, code: str | None) -> bool:
        return login_error_is_transient(code)

    def pacing_costs(self, op: str, args: Any) -> list[tuple[Any, int, int, float]]:
        return pacing_costs(op, args)

    def ping_frame(self, request_id: str) -> str:
        return f'{{"id":"{request_id}","op":"ping","timestamp":{self.now_ms()}}}'

    # -- requests ----------------------------------------------------------------------
    def encode(self, request_id: str, op: str, args: Any, extras: Any) -> bytes:
        if type(extras) is Sending:
            extras.request_id = request_id  # for the lookup that settles a lost reply
            deadline = extras.deadline_ms
            if deadline is not None and isinstance(args, dict):
                # The default expiry: the call's deadline on the exchange's clock
                # (Sending.expiry, written out), and the window from now to it.
                offset = self.clock.offset_ms
                now = int(wall_time() * 1000) + offset
                expires = deadline + offset
                if expires <= now:  # the deadline is (about) now: the least window
                    expires = now + 1
                extras.expires_ms = expires
                args["allowMaxTimeWindow"] = expires - now
                args["clientTimestamp"] = now
                return _encoder.encode({"id": request_id, "op": op, "args": args})
        if (
            isinstance(args, dict)
            and "allowMaxTimeWindow" in args
            and "clientTimestamp" not in args
        ):
            # The window counts from this moment, when the request leaves okxkc.
            args["clientTimestamp"] = self.clock.now_ms()
        return _encoder.encode({"id": request_id, "op": op, "args": args})

    def classify(self, frame: str | bytes) -> Any:
        try:
            # A reply to an op of the table: envelope and typed data in one pass.
            reply = _reply_decoder.decode(frame)
        except msgspec.ValidationError:
            pass  # not one (pong, an event, data that does not fit): read it plainly
        else:
            if reply.id:
                return reply
        env = _env_decoder.decode(frame)
        op = env.op
        if op == "pong":
            return Incoming(Kind.PONG, env)
        if env.id:
            # Any frame with an id answers one request, even without an ``op``.
            return Incoming(Kind.RESPONSE, env, env.id)
        if env.type == "notice":
            return Incoming(Kind.NOTICE, env)
        if env.code is not None:
            return Incoming(Kind.ERROR, env)
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
            if isinstance(v, msgspec.Raw):
                v = msgspec.json.decode(v)
            elif isinstance(v, RateLimit):
                v = msgspec.to_builtins(v)
            out[f] = v
        return out

    def finish_reply(self, meta: Any, reply: Any, ws_key: str) -> KucoinResponse[Any] | None:
        spec: ResultSpec = meta.result
        if type(reply) is not spec.reply_type or reply.code != SUCCESS:
            return None
        data = reply.data
        if spec.is_list and isinstance(data, list) and data:
            return None  # items may have failed one by one: finish() tells
        return KucoinResponse(
            id=reply.id,
            op=spec.op,
            code=SUCCESS,
            msg=reply.msg,
            data=data,
            inTime=reply.inTime,
            outTime=reply.outTime,
            rate_limit=reply.userRateLimit or reply.rateLimit,
            ws_key=ws_key,
        )

    def finish(self, meta: Any, incoming: Incoming, ws_key: str) -> KucoinResponse[Any]:
        env = incoming.envelope
        spec: ResultSpec = meta.result
        code = env.code if type(env.code) is str else str(env.code)
        one_pass = type(env) is spec.reply_type and code == SUCCESS
        if not one_pass:
            env = self._plain(incoming)
        rate = env.userRateLimit or env.rateLimit
        op = spec.op if one_pass else env.op or meta.op
        if code != SUCCESS:
            resp = self.describe(incoming)
            resp["wsKey"] = ws_key
            if code == RATE_LIMIT_CODE:
                raise RateLimitError(
                    code,
                    env.msg or "too many requests",
                    resp,
                    op=op,
                    request_id=env.id,
                    reset_ms=rate.reset if rate else None,
                    remaining=rate.remaining if rate else None,
                    limit=rate.limit if rate else None,
                )
            raise ExchangeError(code, env.msg or "", resp, op=op, request_id=env.id)
        # One pass: decoded with the envelope.
        data = env.data if one_pass else spec.decoder.decode(env.data) if env.data else None
        result: KucoinResponse[Any] = KucoinResponse(
            id=env.id or "",
            op=op,
            code=code,
            msg=env.msg,
            data=data,
            inTime=env.inTime,
            outTime=env.outTime,
            rate_limit=rate,
            ws_key=ws_key,
        )
        if spec.is_list and isinstance(data, list) and data:
            failed = [it for it in data if not _item_ok(it)]
            if failed:
                as_dict = result.to_dict()
                if len(failed) < len(data):
                    raise PartialFailureError(
                        code,
                        "some items failed",
                        as_dict,
                        data,
                        failed,
                        op=op,
                        request_id=result.id,
                    )
                first = failed[0]
                codes = {_item_code(it) for it in failed}
                exc = ExchangeError(
                    codes.pop() if len(codes) == 1 else code,
                    _item_msg(first) if len(failed) == 1 else "all items failed",
                    as_dict,
                    op=op,
                    request_id=result.id,
                )
                exc.items = list(data)
                raise exc
        return result


def _item_code(item: Any) -> str:
    return item_text(item, "code", "")


def _item_msg(item: Any) -> str:
    return item_text(item, "msg", "")


def _item_ok(item: Any) -> bool:
    code = item.get("code") if isinstance(item, dict) else getattr(item, "code", None)
    return code is None or str(code) in _ITEM_OK
