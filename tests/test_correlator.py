"""The correlator's deadline buckets: calls end at their deadline, and finished calls
leave nothing behind (the memory benchmark's 1M-order run caught emptied buckets that
kept their size until their tick)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from okxkc._engine.correlator import TICK, Correlator, Pending


class Timeout(Exception):
    pass


def _timeout(entry: Pending) -> BaseException:
    return Timeout(entry.request_id)


def test_answered_requests_leave_no_buckets_behind() -> None:
    async def main() -> Correlator:
        corr = Correlator(asyncio.get_running_loop())
        deadline = time.monotonic() + 30
        for burst in range(20):
            entries = [
                corr.add(f"r{burst}x{i}", None, 1, deadline + i * 0.001, _timeout)
                for i in range(500)
            ]
            for e in entries:
                assert corr.pop(e.request_id) is e
        return corr

    corr = asyncio.run(main())
    assert len(corr) == 0
    assert corr._buckets == {}  # every emptied bucket was dropped, not kept until its tick
    assert corr.count(1) == 0


def test_a_request_in_a_tick_whose_bucket_emptied_still_times_out_on_time() -> None:
    async def main() -> tuple[Any, float, float]:
        loop = asyncio.get_running_loop()
        corr = Correlator(loop)
        deadline = time.monotonic() + 0.05
        first = corr.add("a", None, 1, deadline, _timeout)
        corr.pop("a")  # its bucket empties and is dropped; its timer stays armed
        assert first.future.done() is False
        second = corr.add("b", None, 1, deadline, _timeout)  # same tick: reuses that timer
        with pytest.raises(Timeout):
            await asyncio.wait_for(second.future, 5)
        return second, time.monotonic(), deadline

    entry, ended, deadline = asyncio.run(main())
    assert ended >= deadline  # never early
    assert ended - deadline < 1.0  # and not forgotten
    assert entry.sent is False


def test_abandoned_and_failed_requests_drop_their_buckets() -> None:
    async def main() -> Correlator:
        corr = Correlator(asyncio.get_running_loop())
        deadline = time.monotonic() + 30
        for i in range(100):
            corr.abandon(corr.add(f"c{i}", None, 1, deadline, _timeout))
        for i in range(100):
            corr.add(f"f{i}", None, 2, deadline + i * TICK, _timeout)
        assert corr.fail(lambda e: Timeout(e.request_id), socket_gen=2) == 100
        return corr

    corr = asyncio.run(main())
    assert len(corr) == 0 and corr._buckets == {}
