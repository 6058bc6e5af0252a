"""What both exchange adapters (and their REST order lookups) share: HMAC-SHA256
signatures, the exchange clock, timestamps, reading an item's code / message, and the
one-pass reply types.

Pure functions and one small value object; no I/O.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any, Union

import attrs
import msgspec

__all__ = ["Clock", "hmac_b64", "iso_ms", "item_text", "one_pass_replies"]


def hmac_b64(secret: str, message: str) -> str:
    """Base64 of HMAC-SHA256(``secret``, ``message``): the signature both exchanges use."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def iso_ms(ms: int) -> str:
    """``ms`` (Unix milliseconds) as ISO 8601 UTC with milliseconds: ``2020-12-08T09:08:57.715Z``."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@attrs.define(slots=True)
class Clock:
    """The exchange's clock as okxkc knows it: the local clock plus a measured offset.

    ``offset_ms`` (server minus local) is set by ``time_sync``; without it the
    local clock stands in for the exchange's.
    """

    offset_ms: int = 0

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


def item_text(item: Any, name: str, default: str) -> str:
    """A result item's field as text, from a typed item or a plain dict."""
    value = item.get(name, default) if isinstance(item, dict) else getattr(item, name, default)
    return default if value is None else str(value)


def one_pass_replies(
    base: type[msgspec.Struct], data: Mapping[str, tuple[Any, Any]], *, strict: bool = True
) -> tuple[dict[str, Any], msgspec.json.Decoder[Any]]:
    """Reply types to decode envelope and typed data in one pass, and their decoder.

    ``data`` maps each op to the (type, default) of its reply's ``data``; each op gets
    a subclass of ``base`` (a Struct with ``tag_field="op"``) tagged with the op, and
    the decoder reads their union, picking the type by the frame's own ``op``.
    """
    types = {
        op: msgspec.defstruct(
            "_Reply_" + re.sub(r"\W", "_", op), [("data", t, default)], bases=(base,), tag=op
        )
        for op, (t, default) in data.items()
    }
    union: Any = Union[tuple(types.values())]  # noqa: UP007 - a union built at run time
    return types, msgspec.json.Decoder(union, strict=strict)
