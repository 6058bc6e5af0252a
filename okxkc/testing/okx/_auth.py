"""Who may trade: the accepted API keys, the socket login check and the signed-REST header
check, each with OKX's codes."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._checks import _present
from ._state import _Conn, _OkxState
from ._wire import _ISO_MS, _LOGIN_MSG, _REGIONS, _TS


@dataclass(frozen=True, repr=False)
class OkxCredential:
    """An API key the simulator accepts; ``region`` is "prod", "EEA" or "US"."""

    api_key: str
    api_secret: str
    passphrase: str
    region: str = "prod"
    demo: bool = False

    def __post_init__(self) -> None:
        if self.region not in _REGIONS:
            raise ValueError(f"region must be one of {sorted(_REGIONS)}, not {self.region!r}")

    def __repr__(self) -> str:
        return (
            f"OkxCredential(api_key={self.api_key!r}, api_secret='***', passphrase='***', "
            f"region={self.region!r}, demo={self.demo!r})"
        )


_DEFAULT_CREDENTIAL = OkxCredential("okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass")


def _sign(secret: str, timestamp: str) -> str:
    mac = hmac.new(secret.encode(), (timestamp + "GET/users/self/verify").encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _parse_iso_ms(ts: str) -> int | None:
    """Milliseconds since the epoch of ``2020-12-08T09:08:57.715Z``, or None."""
    m = _ISO_MS.fullmatch(ts)
    if m is None:
        return None
    try:
        y, mo, d, hh, mi, ss, ms = (int(g) for g in m.groups())
        when = datetime.datetime(y, mo, d, hh, mi, ss, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return int(when.timestamp()) * 1000 + ms


class _AuthMixin(_OkxState):
    def _check_login(self, conn: _Conn, args: Any, data: str) -> tuple[str, str]:
        """("0", "") and the socket logged in, or an OKX error code and text."""
        rejected, forced = self.faults.take_login_rejection()
        if rejected:
            code = forced or "60009"
            return code, _LOGIN_MSG.get(code, "Login failed.")
        if self.reject_relogin and conn.account is not None:
            return "60031", _LOGIN_MSG["60031"]
        if type(args) is not list or not args or any(type(a) is not dict for a in args):
            return "60012", f"Invalid request: {data}"
        now_s = self.now_ms() / 1000
        for a in args:
            for name in ("apiKey", "passphrase", "timestamp", "sign"):
                if not _present(a.get(name)):
                    return "60027", f"Parameter {name} can not be empty"
            ts = a["timestamp"]
            # The signature covers the timestamp exactly as the client wrote it.
            if type(ts) is str:
                text = ts if _TS.fullmatch(ts) else ""
            elif type(ts) is int:
                text = str(ts)
            elif type(ts) is float and math.isfinite(ts) and ts >= 0:
                text = repr(ts)
            else:
                text = ""
            if not text:
                return "60004", _LOGIN_MSG["60004"]
            if abs(now_s - float(text)) > self.login_window_s:
                return "60006", _LOGIN_MSG["60006"]
            key = a["apiKey"]
            cred = self._creds.get(key) if type(key) is str else None
            if cred is None:
                return "60005", _LOGIN_MSG["60005"]
            if cred.region != self.region:
                return "60032", _LOGIN_MSG["60032"]
            if cred.demo != self.demo:
                return "50101", _LOGIN_MSG["50101"]
            pw = a["passphrase"]
            if type(pw) is not str or not hmac.compare_digest(
                pw.encode(), cred.passphrase.encode()
            ):
                return "60024", _LOGIN_MSG["60024"]
            sign = a["sign"]
            want = _sign(cred.api_secret, text)
            if type(sign) is not str or not hmac.compare_digest(sign.encode(), want.encode()):
                return "60007", _LOGIN_MSG["60007"]
        conn.account = args[0]["apiKey"]
        return "0", ""

    # -- signed REST order lookups -------------------------------------------------------
    def _rest_auth(self, request: web.Request) -> tuple[str, str, int]:
        """Check OKX's signed-request headers: (api key, "", 0) or ("", code, HTTP status).

        The prehash is timestamp + method + path with its query string as sent + body.
        """
        h = request.headers
        key = h.get("OK-ACCESS-KEY", "")
        pw = h.get("OK-ACCESS-PASSPHRASE", "")
        sig = h.get("OK-ACCESS-SIGN", "")
        ts = h.get("OK-ACCESS-TIMESTAMP", "")
        for value, code in ((key, "50103"), (pw, "50104"), (sig, "50106"), (ts, "50107")):
            if not value:
                return "", code, 401
        when = _parse_iso_ms(ts)
        if when is None:
            return "", "50112", 401
        if abs(self.now_ms() - when) > self.login_window_s * 1000:
            return "", "50102", 401
        cred = self._creds.get(key)
        if cred is None:
            return "", "50111", 401
        if cred.region != self.region:
            return "", "50119", 401
        demo_header = h.get("x-simulated-trading", "") == "1"
        if demo_header != cred.demo or cred.demo != self.demo:
            return "", "50101", 401
        if not hmac.compare_digest(pw.encode(), cred.passphrase.encode()):
            return "", "50105", 401
        prehash = ts + request.method + request.raw_path
        mac = hmac.new(cred.api_secret.encode(), prehash.encode(), hashlib.sha256)
        want = base64.b64encode(mac.digest()).decode()
        if not hmac.compare_digest(sig.encode(), want.encode()):
            return "", "50113", 401
        return key, "", 0
