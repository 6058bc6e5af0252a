"""Odd callers: many threads, several user loops, Jupyter, the engine thread itself,
close() from elsewhere, engine-loop mode, cancellation, and where listeners run.

Every case runs on both exchanges; cases that concern both facades run through both.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import okxkc
from okxkc._engine import loop as loop_module
from okxkc._engine.loop import engine
from okxkc.errors import ClientClosedError, EngineThreadError

from .conftest import Facade, make_kucoin, make_okx, wait_for


class Exchange:
    """One exchange's simulator, clients and order vocabulary, for cases shared by both."""

    def __init__(self, name: str, sim: Any) -> None:
        self.name = name
        self.sim = sim
        self.place = "submit_new_order" if name == "okx" else "submit_new_spot_order"
        self.op = "order" if name == "okx" else "spot.order"
        self.id_field = "clOrdId" if name == "okx" else "clientOid"
        self.facades: list[Facade] = []

    def make(self, kind: str, **kw: Any) -> Facade:
        f = (make_okx if self.name == "okx" else make_kucoin)(kind, self.sim, **kw)
        self.facades.append(f)
        return f

    def order(self, cid: str) -> dict[str, Any]:
        if self.name == "okx":
            return dict(
                instId="BTC-USDT",
                tdMode="cash",
                side="buy",
                ordType="limit",
                px="20000",
                sz="0.01",
                clOrdId=cid,
            )
        return dict(
            symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001", clientOid=cid
        )

    def cid(self, result: Any) -> str:
        return str(result.data[0].clOrdId if self.name == "okx" else result.data.clientOid)

    def sent_ids(self) -> list[str]:
        out = []
        for r in self.sim.received:
            args = r["args"][0] if self.name == "okx" else r["args"]
            out.append(args[self.id_field])
        return out

    def close_all(self) -> None:
        for f in self.facades:
            if f.is_async:
                # A fresh loop on a helper thread: teardown may run where a loop is running.
                t = threading.Thread(target=asyncio.run, args=(f.client.close(),))
                t.start()
                t.join(10)
            else:
                f.client.close()


@pytest.fixture(params=["okx", "kucoin"])
def ex(request: pytest.FixtureRequest) -> Iterator[Exchange]:
    sim = request.getfixturevalue(f"{request.param}_sim")
    exchange = Exchange(request.param, sim)
    yield exchange
    exchange.close_all()


def run_threads(targets: list[Callable[[], None]], timeout: float = 30.0) -> list[BaseException]:
    """Run each target on its own thread; the exceptions they raised."""
    errors: list[BaseException] = []

    def guard(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a caller thread hung"
    return errors


# -- many callers at once ------------------------------------------------------------------
def test_blocking_calls_from_eight_threads_each_get_their_own_replies(ex: Exchange) -> None:
    client = ex.make("sync").client
    # Replies come back late by random amounts, so they interleave across threads.
    ex.sim.faults.random(delay=0.6, delay_range=(0.0, 0.02), seed=7)
    start = threading.Barrier(8)
    got: dict[int, list[str]] = {}

    def caller(t: int) -> Callable[[], None]:
        def run() -> None:
            start.wait(10)
            got[t] = [ex.cid(getattr(client, ex.place)(**ex.order(f"t{t}n{i}"))) for i in range(6)]

        return run

    assert run_threads([caller(t) for t in range(8)]) == []
    assert got == {t: [f"t{t}n{i}" for i in range(6)] for t in range(8)}
    assert sorted(ex.sent_ids()) == sorted(f"t{t}n{i}" for t in range(8) for i in range(6))
    assert ex.sim.faults.injected["delay"] > 0
    assert client.pending_requests() == 0


def test_awaits_from_two_user_loops_on_two_threads_at_once(ex: Exchange) -> None:
    client = ex.make("async").client  # one client, shared by both loops
    ex.sim.faults.random(delay=0.6, delay_range=(0.0, 0.02), seed=3)
    start = threading.Barrier(2)
    got: dict[str, tuple[list[str], asyncio.AbstractEventLoop, int]] = {}

    def app(tag: str) -> Callable[[], None]:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            ticks = 0

            async def ticker() -> None:  # the app's loop keeps running while it waits
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.001)

            tick = asyncio.create_task(ticker())
            start.wait(10)
            results = await asyncio.gather(
                *(getattr(client, ex.place)(**ex.order(f"{tag}n{i}")) for i in range(20))
            )
            tick.cancel()
            got[tag] = ([ex.cid(r) for r in results], loop, ticks)

        return lambda: asyncio.run(main())

    assert run_threads([app("la"), app("lb")]) == []
    for tag in ("la", "lb"):
        assert got[tag][0] == [f"{tag}n{i}" for i in range(20)]
        assert got[tag][2] > 1
    assert got["la"][1] is not got["lb"][1]
    assert len(ex.sim.received) == 40 and client.pending_requests() == 0


async def test_blocking_call_inside_a_running_loop_like_jupyter(ex: Exchange) -> None:
    # A notebook cell is code running on the kernel's own loop: the blocking client
    # must work there, on okxkc's private loop, without touching the kernel's.
    client = ex.make("sync").client
    notebook_loop = asyncio.get_running_loop()
    seen: list[asyncio.AbstractEventLoop] = []

    async def on_response(_payload: dict[str, Any]) -> None:
        seen.append(asyncio.get_running_loop())

    client.get_ws_client().on("response", on_response)
    res = getattr(client, ex.place)(**ex.order("cell1"))
    assert ex.cid(res) == "cell1"
    # The async listener registered in the cell runs on the kernel's loop once it is free.
    await wait_for(lambda: len(seen) == 1)
    assert seen == [notebook_loop]


# -- the engine thread ---------------------------------------------------------------------
def test_blocking_call_on_the_engine_thread_raises_instead_of_hanging(ex: Exchange) -> None:
    client = ex.make("sync").client
    outcomes: list[BaseException | None] = []
    done = threading.Event()

    def attempt(fn: Callable[[], Any]) -> None:
        try:
            fn()
            outcomes.append(None)
        except BaseException as exc:
            outcomes.append(exc)

    def on_engine_thread() -> None:
        attempt(lambda: getattr(client, ex.place)(**ex.order("eng1")))
        attempt(lambda: client.connect_ws_api())
        attempt(lambda: okxkc.run(asyncio.sleep(0)))
        done.set()

    engine.loop.call_soon_threadsafe(on_engine_thread)
    assert done.wait(5), "the engine thread hung"
    assert [type(e) for e in outcomes] == [EngineThreadError] * 3
    assert f"{ex.place} is a blocking call made on okxkc's engine thread" in str(outcomes[0])
    assert "use AsyncWebsocketAPIClient and await the same method" in str(outcomes[0])
    assert ex.sim.received == []
    # The engine survived: the same call from an ordinary thread works.
    assert ex.cid(getattr(client, ex.place)(**ex.order("eng2"))) == "eng2"


# -- close() while calls are in flight -----------------------------------------------------
async def test_close_from_another_thread_ends_calls_in_flight(
    ex: Exchange, facade_kind: str
) -> None:
    f = ex.make(facade_kind, request_timeout=30.0)
    client = f.client
    await f.connect_ws_api()
    ex.sim.faults.swallow_next(ex.op, count=3)
    ended: list[tuple[BaseException | None, float]] = []

    async def one(cid: str) -> None:
        try:
            if f.is_async:
                await getattr(client, ex.place)(**ex.order(cid))
            else:
                await asyncio.to_thread(getattr(client, ex.place), **ex.order(cid))
            ended.append((None, time.monotonic()))
        except BaseException as exc:
            ended.append((exc, time.monotonic()))

    calls = [asyncio.create_task(one(f"cl{i}")) for i in range(3)]
    await wait_for(lambda: client.pending_requests() == 3)
    closed_at = time.monotonic()
    if f.is_async:
        closer = threading.Thread(target=asyncio.run, args=(client.close(),))
    else:
        closer = threading.Thread(target=client.close)
    closer.start()
    await asyncio.gather(*calls)
    await asyncio.to_thread(closer.join, 5)
    assert [type(e) for e, _ in ended] == [ClientClosedError] * 3
    assert all("outcome unknown" in str(e) for e, _ in ended)
    assert max(t for _, t in ended) - closed_at < 2.0  # not the 30 s request timeout
    assert client.pending_requests() == 0
    with pytest.raises(ClientClosedError):
        await getattr(f, ex.place)(**ex.order("after"))
    assert len(ex.sim.received) == 3


# -- engine-loop mode ----------------------------------------------------------------------
def test_okxkc_run_puts_the_app_on_the_engine_loop(
    ex: Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocking = ex.make("sync").client
    hops: list[Any] = []
    hand_off = loop_module.run_coroutine_threadsafe

    def counting_hand_off(coro: Any, loop: Any) -> Any:
        hops.append(coro)
        return hand_off(coro, loop)

    # Every cross-thread hop of okxkc goes through this one function.
    monkeypatch.setattr(loop_module, "run_coroutine_threadsafe", counting_hand_off)
    seen: dict[str, Any] = {}

    async def main() -> list[str]:
        seen["loop"] = asyncio.get_running_loop()
        seen["thread"] = threading.current_thread().name
        client = ex.make("async").client
        async with client:
            results = await asyncio.gather(
                *(getattr(client, ex.place)(**ex.order(f"run{i}")) for i in range(5))
            )
            try:
                getattr(blocking, ex.place)(**ex.order("blocked"))
            except EngineThreadError as exc:
                seen["blocking"] = exc
        return [ex.cid(r) for r in results]

    assert okxkc.run(main()) == [f"run{i}" for i in range(5)]
    assert seen["loop"] is engine.loop and seen["thread"] == "okxkc-engine"
    # One hand-off for main() itself; the client's awaits inside needed none.
    assert len(hops) == 1
    assert isinstance(seen["blocking"], EngineThreadError)
    assert sorted(ex.sent_ids()) == [f"run{i}" for i in range(5)]


# -- cancellation --------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["cancel", "wait_for"])
async def test_cancelling_an_awaiting_call_cancels_the_engine_task(ex: Exchange, how: str) -> None:
    client = ex.make("async").client
    await client.connect_ws_api()
    late: list[dict[str, Any]] = []
    client.get_ws_client().on("late_response", late.append)
    ex.sim.faults.delay_next(0.5, ex.op)
    task = asyncio.create_task(getattr(client, ex.place)(**ex.order("cx1")))
    await wait_for(lambda: client.pending_requests() == 1)
    # A busy engine: it reaches the cancellation only 0.2 s later, so a caller that
    # did not wait for the engine task would see the request still pending.
    engine.loop.call_soon_threadsafe(time.sleep, 0.2)
    if how == "cancel":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(task, 0.01)
    # The engine task has finished by the time the caller sees the cancellation.
    assert client.pending_requests() == 0
    # The reply still comes (the order was sent: outcome unknown) and is not dropped.
    await wait_for(lambda: len(late) == 1)
    assert late[0]["request"]["op"] == ex.op
    args = late[0]["request"]["args"]
    assert (args[0] if ex.name == "okx" else args)[ex.id_field] == "cx1"
    assert ex.cid(await getattr(client, ex.place)(**ex.order("cx2"))) == "cx2"


def test_cancelling_before_the_engine_ran_it_sends_nothing(ex: Exchange) -> None:
    client = ex.make("async").client

    async def main() -> None:
        task = asyncio.create_task(getattr(client, ex.place)(**ex.order("never")))
        await asyncio.sleep(0)  # the call is handed to the engine, then cancelled at once
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert client.pending_requests() == 0

    asyncio.run(main())
    # Either nothing was sent, or it was sent and answered; nothing is left waiting.
    assert ex.sent_ids() in ([], ["never"])


# -- where listeners run -------------------------------------------------------------------
async def test_listeners_run_on_their_loop_or_the_events_thread_never_the_engine(
    ex: Exchange, facade_kind: str
) -> None:
    f = ex.make(facade_kind)
    emitter = f.get_ws_client()
    my_loop = asyncio.get_running_loop()
    plain: list[tuple[str, str]] = []
    coros: list[tuple[str, asyncio.AbstractEventLoop, str]] = []

    def on_plain(p: dict[str, Any]) -> None:
        plain.append((p["event"], threading.current_thread().name))

    async def on_coro(p: dict[str, Any]) -> None:
        coros.append((p["event"], asyncio.get_running_loop(), threading.current_thread().name))

    names = ("open", "authenticated", "response", "close")
    for name in names:
        emitter.on(name, on_plain)
        emitter.on(name, on_coro)
    assert ex.cid(await getattr(f, ex.place)(**ex.order("ev1"))) == "ev1"
    await f.close()
    await wait_for(lambda: {e for e, *_ in coros} == set(names))
    await wait_for(lambda: {e for e, _ in plain} == set(names))
    assert {t for _, t in plain} == {"okxkc-events"}
    assert all(loop is my_loop for _, loop, _ in coros)
    assert {t for *_, t in coros} == {threading.current_thread().name}
    assert "okxkc-engine" not in {t for _, t in plain} | {t for *_, t in coros}


def test_sys_exit_inside_okxkc_run_reaches_the_caller_and_the_engine_survives(
    ex: Exchange,
) -> None:
    client = ex.make("sync").client

    async def app() -> None:
        await asyncio.sleep(0)
        raise SystemExit(3)  # what sys.exit(3) does inside a bot run by okxkc.run

    with pytest.raises(SystemExit) as stopped:
        okxkc.run(app())
    assert stopped.value.code == 3
    # The engine loop did not go down with the app: calls still work.
    assert ex.cid(getattr(client, ex.place)(**ex.order("alive1"))) == "alive1"
