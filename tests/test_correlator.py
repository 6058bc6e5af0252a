"""The correlator's deadlines: calls end at their deadline (never before), answered calls
leave nothing behind, and one timer serves them all (the memory benchmark's 1M-order run
once caught per-deadline buckets that kept their size until their tick)."""

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


def test_answered_requests_leave_nothing_behind() -> None:
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
    assert len(corr) == 0 and corr.count(1) == 0


def test_a_request_after_an_answered_one_still_times_out_on_time() -> None:
    async def main() -> tuple[Any, float, float]:
        loop = asyncio.get_running_loop()
        corr = Correlator(loop)
        deadline = time.monotonic() + 0.05
        first = corr.add("a", None, 1, deadline, _timeout)
        corr.pop("a")  # answered: the timer armed for it stays armed
        assert first.future.done() is False
        second = corr.add("b", None, 1, deadline, _timeout)  # same deadline: same timer
        with pytest.raises(Timeout):
            await asyncio.wait_for(second.future, 5)
        return second, time.monotonic(), deadline

    entry, ended, deadline = asyncio.run(main())
    assert ended >= deadline  # never early
    assert ended - deadline < 1.0  # and not forgotten
    assert entry.sent is False


def test_abandoned_and_failed_requests_leave_nothing_behind() -> None:
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
    assert len(corr) == 0 and corr.pending == {}


def test_mixed_timeouts_each_end_at_their_own_deadline() -> None:
    """A short deadline after a long one (out of order) re-arms the timer earlier; a long
    one after a short one waits; none ends early or is forgotten."""

    async def main() -> dict[str, float]:
        corr = Correlator(asyncio.get_running_loop())
        t0 = time.monotonic()
        plan = {"long": 0.30, "short": 0.05, "mid": 0.15, "short2": 0.08, "long2": 0.25}
        ended: dict[str, float] = {}
        entries = []
        for rid, after in plan.items():
            e = corr.add(rid, None, 1, t0 + after, _timeout)
            e.future.add_done_callback(lambda _f, r=rid: ended.setdefault(r, time.monotonic()))
            entries.append(e)
        corr.pop("mid")  # answered: its deadline must not end anything
        await asyncio.wait([e.future for e in entries if e.request_id != "mid"])
        assert all(
            isinstance(e.future.exception(), Timeout) for e in entries if e.request_id != "mid"
        )
        return {rid: ended[rid] - (t0 + plan[rid]) for rid in ended}

    late = asyncio.run(main())
    assert set(late) == {"long", "short", "short2", "long2"}
    assert all(v >= 0 for v in late.values()), late  # never early
    assert all(v < 0.5 for v in late.values()), late  # and not forgotten


def test_a_stalled_socket_with_many_staggered_deadlines_sweeps_at_most_once_per_tick() -> None:
    """1,000 calls with deadlines 0.1 ms apart: each ends after its deadline, and the
    timer fires at most twice per tick, not once per call."""

    async def main() -> tuple[int, list[float]]:
        loop = asyncio.get_running_loop()
        corr = Correlator(loop)
        sweeps = [0]
        real = corr._sweep

        def counting() -> None:
            sweeps[0] += 1
            real()

        corr._sweep = counting  # type: ignore[method-assign]
        t0 = time.monotonic() + 0.02
        entries = [corr.add(f"s{i}", None, 1, t0 + i * 0.0001, _timeout) for i in range(1000)]
        ended: dict[str, float] = {}
        for e in entries:
            e.future.add_done_callback(
                lambda _f, r=e.request_id: ended.setdefault(r, time.monotonic())
            )
        await asyncio.wait([e.future for e in entries])
        return sweeps[0], [ended[e.request_id] - e.deadline for e in entries]

    sweeps, late = asyncio.run(main())
    assert min(late) >= 0
    # About 0.1 s of deadlines: at most two sweeps per tick (about 20), not 1,000.
    assert sweeps <= 2 * 0.1 / TICK + 5


def test_a_timer_that_fires_early_re_arms_for_the_deadline_itself() -> None:
    """uvloop's millisecond timers may fire before the deadline: the sweep then ends
    nothing and re-arms for that deadline exactly, not a tick later."""

    async def main() -> None:
        corr = Correlator(asyncio.get_running_loop())
        deadline = time.monotonic() + TICK / 5
        entry = corr.add("only", None, 1, deadline, _timeout)
        assert corr._timer_at == deadline
        corr._sweep()  # as if the timer fired early
        assert not entry.future.done()
        assert corr._timer_at == deadline
        with pytest.raises(Timeout):
            await entry.future
        assert time.monotonic() >= deadline

    asyncio.run(main())
