"""KuCoin authentication, checked for real: the WS API's signed URL and the REST
``KC-API-*`` headers (base64 HMAC-SHA256 with the account's secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from aiohttp import web

    from .book import Account


@dataclass(frozen=True)
class KucoinCredential:
    """One API key the simulator accepts. ``repr`` hides the secret and passphrase."""

    api_key: str
    api_secret: str
    passphrase: str

    def __repr__(self) -> str:
        return f"KucoinCredential(api_key={self.api_key!r}, api_secret='***', passphrase='***')"


DEFAULT_CREDENTIAL = KucoinCredential("okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass")


def b64_hmac(key: bytes, msg: str) -> str:
    return base64.b64encode(hmac.new(key, msg.encode(), hashlib.sha256).digest()).decode()


def parse_query(raw: str) -> dict[str, str]:
    """Percent-decoding only, in any order: a "+" left unescaped by a client is part of
    the base64 value, not a space (form decoding would break the signature)."""
    out: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        out.setdefault(unquote(k), unquote(v))
    return out


def _skewed(ts: str, now_ms: int, window_ms: int) -> bool:
    try:
        return abs(now_ms - int(ts)) > window_ms
    except ValueError:
        return True


def check_url(
    accounts: Mapping[str, Account],
    query: Mapping[str, str],
    *,
    now_ms: int,
    window_ms: int,
    partners: Mapping[str, str],
) -> tuple[Account | None, str | None]:
    """The WS URL login checks in KuCoin's order; (account, None) or (None, error code)."""
    apikey = query.get("apikey")
    ts = query.get("timestamp")
    sign = query.get("sign")
    passphrase = query.get("passphrase")
    if not apikey or not ts or not sign or not passphrase:
        return None, "400001"
    acct = accounts.get(apikey)
    if acct is None:
        return None, "400003"
    if _skewed(ts, now_ms, window_ms):
        return None, "400002"
    if not hmac.compare_digest(sign, b64_hmac(acct.secret, apikey + ts)):
        return None, "400005"
    if not hmac.compare_digest(passphrase, acct.passphrase_sign):
        return None, "400004"
    partner = query.get("partner")
    if partner:
        partner_secret = partners.get(partner)
        if partner_secret is None:
            return None, "400200"
        wanted = b64_hmac(partner_secret.encode(), ts + partner + apikey)
        if not hmac.compare_digest(query.get("partner_sign", ""), wanted):
            return None, "400201"
    return acct, None


def check_rest(
    accounts: Mapping[str, Account],
    request: web.Request,
    *,
    now_ms: int,
    window_ms: int,
    key_versions: tuple[str, ...],
) -> tuple[Account | None, str | None]:
    """KuCoin's REST header authentication; (account, None) or (None, error code)."""
    h = request.headers
    key = h.get("KC-API-KEY")
    sign = h.get("KC-API-SIGN")
    ts = h.get("KC-API-TIMESTAMP")
    passphrase = h.get("KC-API-PASSPHRASE")
    if not key or not sign or not ts or not passphrase:
        return None, "400001"
    acct = accounts.get(key)
    if acct is None:
        return None, "400003"
    if _skewed(ts, now_ms, window_ms):
        return None, "400002"
    version = h.get("KC-API-KEY-VERSION", "")
    if version not in key_versions:
        return None, "400008" if version in ("1", "2") else "400009"
    # The docs sign the endpoint with its query not URL-encoded; a client that signs
    # what it sent (encoded) is accepted too, as both name the same request.
    raw = request.rel_url.raw_path_qs
    prefix = ts + request.method
    wanted = [b64_hmac(acct.secret, prefix + raw)]
    if unquote(raw) != raw:
        wanted.append(b64_hmac(acct.secret, prefix + unquote(raw)))
    if not any(hmac.compare_digest(sign, w) for w in wanted):
        return None, "400005"
    if not hmac.compare_digest(passphrase, acct.passphrase_sign):
        return None, "400004"
    return acct, None
