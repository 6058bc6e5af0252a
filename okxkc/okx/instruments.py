"""instId -> instIdCode, from OKX's public instruments endpoint, cached per instType.

OKX order ops want the integer ``instIdCode``. When a call gives only ``instId``
the code is looked up here: the cache is filled per instType (per family for
options) on first use, refetched once when an instId is not in it (a new
listing), and an entry is dropped when the exchange answers 51001 for it.
``load`` fills whole instrument types ahead of time (``connect_ws_api()`` and
``load_instruments()``), so the first order pays no REST round trip.
Runs on the engine loop; lookups from other threads only read the dict.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..errors import ExchangeError, ValidationError

__all__ = ["InstrumentCodes", "inst_type_of"]

_FUTURES = re.compile(r"[A-Z0-9]+-[A-Z0-9]+-\d{6}")
_OPTION = re.compile(r"([A-Z0-9]+-[A-Z0-9]+)-\d{6}-[0-9.]+-[CP]")

# The least time between two refetches of the same instType for unknown instIds.
_REFETCH_GAP = 5.0


def inst_type_of(inst_id: str) -> tuple[str, str | None]:
    """Guess (instType, instFamily) from an instId's shape."""
    if inst_id.endswith("-SWAP"):
        return "SWAP", None
    m = _OPTION.fullmatch(inst_id)
    if m:
        return "OPTION", m.group(1)
    if _FUTURES.fullmatch(inst_id):
        return "FUTURES", None
    return "SPOT", None


GetJson = Callable[[str, Mapping[str, str] | None], Awaitable[Any]]


class InstrumentCodes:
    def __init__(self, rest_base: str, get_json: GetJson, demo: bool) -> None:
        self._rest = rest_base
        self._get_json = get_json
        self._headers = {"x-simulated-trading": "1"} if demo else None
        self.codes: dict[str, int] = {}
        self._fetched_at: dict[tuple[str, str | None], float] = {}
        self._inflight: dict[tuple[str, str | None], asyncio.Future[None]] = {}

    def lookup(self, inst_id: str) -> int | None:
        return self.codes.get(inst_id)

    def forget(self, inst_id: str) -> None:
        """Drop a mapping the exchange refused (51001); the next lookup refetches at once."""
        self.codes.pop(inst_id, None)
        self._fetched_at.pop(inst_type_of(inst_id), None)

    async def resolve(self, inst_id: str, field: str = "instId") -> int:
        code = self.codes.get(inst_id)
        if code is not None:
            return code
        key = inst_type_of(inst_id)
        loop = asyncio.get_running_loop()
        last = self._fetched_at.get(key)
        if last is None or loop.time() - last >= _REFETCH_GAP:
            await self._fetch(key)
        code = self.codes.get(inst_id)
        if code is None:
            raise ValidationError(
                field,
                f"unknown instrument {inst_id!r} (not listed by OKX as {key[0]}); nothing was sent",
            )
        return code

    def loaded(self, inst_type: str) -> bool:
        """Whether the list of ``inst_type`` has been fetched at least once."""
        return (inst_type, None) in self._fetched_at

    async def load(self, inst_types: Sequence[str]) -> None:
        """Fetch the lists of these instrument types (concurrently); raise the first failure."""
        results = await asyncio.gather(
            *(self._fetch((t, None)) for t in dict.fromkeys(inst_types)), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r

    async def _fetch(self, key: tuple[str, str | None]) -> None:
        running = self._inflight.get(key)
        if running is not None:
            await asyncio.shield(running)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            inst_type, family = key
            url = f"{self._rest}/api/v5/public/instruments?instType={inst_type}"
            if family:
                url += f"&instFamily={family}"
            body = await self._get_json(url, self._headers)
            if not isinstance(body, dict) or str(body.get("code")) != "0":
                code = str(body.get("code")) if isinstance(body, dict) else "?"
                msg = str(body.get("msg", "")) if isinstance(body, dict) else repr(body)[:200]
                raise ExchangeError(
                    code, f"instruments endpoint: {msg}", body if isinstance(body, dict) else None
                )
            for row in body.get("data") or ():
                iid, code_ = row.get("instId"), row.get("instIdCode")
                if iid and code_ not in (None, ""):
                    self.codes[iid] = int(code_)
            self._fetched_at[key] = asyncio.get_running_loop().time()
            fut.set_result(None)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()
            raise
        finally:
            del self._inflight[key]
