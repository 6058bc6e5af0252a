"""Every call ends in a definite answer under faults: both exchanges, both facades.

Each case is driven by the simulators' fault hooks (drop, swallow, delay, login
rejection, notice, broadcast of hostile frames) and asserts what a trader would
see: the error type and what it says about the order, how long the call took
against its deadline, the frames the exchange received, and the events emitted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from okxkc._engine.connection import backoff
from okxkc._engine.core import ClientCore
from okxkc._engine.correlator import Correlator
from okxkc._engine.loop import engine
from okxkc.errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    ExchangeError,
    RateLimitError,
    RequestTimeoutError,
    ValidationError,
)
from okxkc.testing._server import SimulatedExchange
from okxkc.testing.kucoin import KucoinCredential, KucoinSimulator, _Account
from okxkc.testing.okx import OkxCredential, OkxSimulator

from .conftest import Facade, make_kucoin, make_okx, wait_for

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")

# How late after its deadline a timed-out call may return: thread hops and a busy
# two-core CI machine, never the order of the deadline itself.
SLACK = 1.0


class Venue:
    """One exchange's simulator and the way to place an order on it, through one facade."""

    def __init__(self, exchange: str, kind: str, sim_kw: dict[str, Any]) -> None:
        self.exchange = exchange
        self.kind = kind
        self.sim_kw = sim_kw
        self.sim: Any = self._new_sim(**sim_kw)
        self.sims: list[SimulatedExchange] = [self.sim]
        self.clients: list[Facade] = []
        # Blocking calls run concurrently on threads of their own.
        self.pool = concurrent.futures.ThreadPoolExecutor(16, thread_name_prefix="test-caller")
        if exchange == "okx":
            self.ws_key, self.op, self.id_field = "private", "order", "clOrdId"
        else:
            self.ws_key, self.op, self.id_field = "spot", "spot.order", "clientOid"

    def _new_sim(self, **kw: Any) -> Any:
        if self.exchange == "okx":
            sim: Any = kw.pop("cls", OkxSimulator)(**kw)
        else:
            if "notice_grace" in kw:  # KuCoin's simulated session end has its own name
                kw["session_notice_grace"] = kw.pop("notice_grace")
            sim = kw.pop("cls", KucoinSimulator)(**kw)
        sim.start_in_thread()
        return sim

    def restart_sim(self) -> None:
        """Start a fresh simulator on the port of the (stopped) current one."""
        self.sim = self._new_sim(**dict(self.sim_kw, port=self.sim.port))
        self.sims.append(self.sim)

    def client(self, **kw: Any) -> Facade:
        # These cases test the engine's own handling of a lost reply (one error per call,
        # nothing re-sent, deadlines); tests/test_outcomes.py covers the lookup after it.
        kw.setdefault("resolve_unknown", False)
        make = make_okx if self.exchange == "okx" else make_kucoin
        c = make(self.kind, self.sim, **kw)
        self.clients.append(c)
        return c

    def _call(self, c: Facade, cid: str | None, kw: dict[str, Any]) -> Any:
        ids = {self.id_field: cid} if cid is not None else {}
        if self.exchange == "okx":
            return c.client.submit_new_order(**ORDER, **ids, **kw)
        return c.client.submit_new_spot_order(**SPOT, **ids, **kw)

    def start(self, c: Facade, cid: str | None = None, **kw: Any) -> asyncio.Future[Any]:
        """Place an order concurrently: a task (async facade) or a thread (blocking one)."""
        if c.is_async:
            return asyncio.ensure_future(self._call(c, cid, kw))
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self.pool, functools.partial(self._call, c, cid, kw))

    async def place(self, c: Facade, cid: str | None = None, **kw: Any) -> Any:
        return await self.start(c, cid, **kw)

    async def connect(self, c: Facade, **kw: Any) -> None:
        await c.connect_ws_api([self.ws_key], **kw)

    def ok(self, res: Any) -> bool:
        if self.exchange == "okx":
            return bool(res.data[0].sCode == "0")
        return bool(res.code == "200000")

    def sent_ids(self) -> list[str]:
        """Client order ids of the orders the exchange received, in order."""
        out = []
        for r in list(self.sim.received):
            if r.get("op") != self.op:
                continue
            args = r["args"][0] if self.exchange == "okx" else r["args"]
            out.append(args.get(self.id_field))
        return out

    @property
    def logins_ok(self) -> int:
        return int(self.sim.stats["logins_ok"])

    @property
    def logins_failed(self) -> int:
        return int(self.sim.stats["logins_failed"])

    async def aclose(self) -> None:
        for c in self.clients:
            if c.is_async:
                await c.client.close()
            else:
                await asyncio.get_running_loop().run_in_executor(self.pool, c.client.close)
        self.pool.shutdown(wait=True)
        for s in self.sims:
            s.stop_thread()


@pytest.fixture(params=["okx", "kucoin"])
def exchange(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def venues(exchange: str, facade_kind: str) -> AsyncIterator[Callable[..., Venue]]:
    made: list[Venue] = []

    def make(**sim_kw: Any) -> Venue:
        v = Venue(exchange, facade_kind, sim_kw)
        made.append(v)
        return v

    yield make
    for v in made:
        await v.aclose()


@pytest.fixture
def venue(venues: Callable[..., Venue]) -> Venue:
    return venues()


class Recorder:
    """Collects a client's events (delivered on the dispatcher thread)."""

    def __init__(self, c: Facade, *names: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.emitter = c.get_ws_client()
        for name in names:
            self.emitter.on(name, self.events.append)

    def names(self) -> list[str]:
        return [e["event"] for e in self.events]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == name]

    def flush(self) -> list[dict[str, Any]]:
        assert self.emitter.flush()
        return self.events


async def timed(aw: Any) -> tuple[float, BaseException | None, Any]:
    """(seconds, exception or None, result) of one awaited call."""
    t0 = time.monotonic()
    try:
        res = await aw
    except BaseException as exc:
        return time.monotonic() - t0, exc, None
    return time.monotonic() - t0, None, res


def assert_at_deadline(elapsed: float, timeout: float) -> None:
    """Ended at its deadline: not before it, and not long after it."""
    assert elapsed >= timeout, f"ended {timeout - elapsed:.4f}s before its deadline"
    assert elapsed <= timeout + SLACK, f"ended {elapsed - timeout:.2f}s after its deadline"


# -- 1. disconnects --------------------------------------------------------------------------
async def test_drop_fails_every_call_in_flight_and_resends_nothing(venue: Venue) -> None:
    c = venue.client(reconnect_timeout=0.5)
    rec = Recorder(c, "open", "reconnect", "reconnected", "authenticated")
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "warm0"))

    venue.sim.faults.delay_next(3.0, op=venue.op, count=3)
    in_flight = [venue.start(c, f"fly{i}") for i in range(3)]
    await wait_for(lambda: {"fly0", "fly1", "fly2"} <= set(venue.sent_ids()))
    assert c.pending_requests() == 3
    venue.sim.drop_all()
    outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
    for exc in outcomes:
        assert isinstance(exc, ConnectionLostError), exc
        assert "outcome unknown" in str(exc) and venue.id_field in str(exc)
        assert exc.op == venue.op and exc.ws_key == venue.ws_key

    # The reconnect waits 0.25-0.5 s (backoff): a call shorter than that was never sent ...
    dt, exc, _ = await timed(venue.place(c, "short0", timeout=0.1))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is False
    assert "was not sent" in str(exc)
    assert_at_deadline(dt, 0.1)
    # ... and calls issued during the reconnect wait for the new authenticated socket.
    results = await asyncio.gather(*(venue.start(c, f"wait{i}") for i in range(3)))
    assert all(venue.ok(r) for r in results)
    assert venue.logins_ok == 2

    sent = Counter(venue.sent_ids())
    assert max(sent.values()) == 1, f"re-sent: {sent.most_common(3)}"
    assert set(sent) == {"warm0", "fly0", "fly1", "fly2", "wait0", "wait1", "wait2"}
    assert c.pending_requests() == 0
    await wait_for(lambda: rec.names().count("authenticated") == 2)
    assert rec.flush() and rec.names() == [
        "open",
        "authenticated",
        "reconnect",
        "reconnected",
        "authenticated",
    ]


async def test_drop_while_request_is_processed(venue: Venue) -> None:
    """The exchange applied the order, then the link died before the reply: the caller
    is told the outcome is unknown, the order exists, and nothing is sent again."""
    c = venue.client(reconnect_timeout=0.05)
    await venue.connect(c)
    venue.sim.faults.drop_next(op=venue.op, process=True)
    with pytest.raises(ConnectionLostError) as err:
        await venue.place(c, "applied1")
    assert "reconcile" in str(err.value)
    if venue.exchange == "okx":
        assert venue.sim.find_order(cl_ord_id="applied1") is not None
    else:
        assert venue.sim.find_order(client_oid="applied1") is not None
    assert venue.ok(await venue.place(c, "next1"))
    assert venue.sent_ids() == ["applied1", "next1"]


def test_backoff_is_capped_exponential_with_jitter() -> None:
    base, cap = 0.5, 30.0
    for attempt in range(1, 200):
        step = min(cap, base * 2 ** (attempt - 1))
        for _ in range(20):
            d = backoff(attempt, base, cap)
            assert step * 0.5 <= d <= step <= cap
    # hours of failed attempts neither overflow nor exceed the cap
    for attempt in (1_024, 10**6):
        assert cap * 0.5 <= backoff(attempt, base, cap) <= cap
    # jitter: reconnecting clients do not move in lockstep
    assert len({backoff(3, base, cap) for _ in range(50)}) > 40


async def test_server_down_backs_off_then_recovers(venue: Venue) -> None:
    c = venue.client(reconnect_timeout=0.05, reconnect_max=0.2)
    rec = Recorder(c, "exception", "reconnect", "reconnected")
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "up0"))  # OKX: instrument codes cached
    venue.sim.stop_thread()  # the exchange goes away

    window = 1.5
    dt, exc, _ = await timed(venue.place(c, "down0", timeout=window))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is False
    assert "last error" in str(exc)  # says why it could not connect
    assert_at_deadline(dt, window)
    attempts = len(rec.flush()) - len(rec.of("reconnect"))
    # Delays 0.025-0.05, 0.05-0.1, then 0.1-0.2 s each: at most ~16 tries in the window,
    # where a client without backoff would make hundreds.
    assert 4 <= attempts <= 18, attempts
    assert len(rec.of("reconnect")) == 1 and rec.of("reconnected") == []

    venue.restart_sim()
    assert venue.ok(await venue.place(c, "back0", timeout=5))
    assert venue.logins_ok == 1
    assert venue.sent_ids() == ["back0"]
    await wait_for(lambda: len(rec.of("reconnected")) == 1)


async def test_request_on_a_socket_the_server_just_cut_waits_for_the_next(venue: Venue) -> None:
    """The transport is closing but the reader has not noticed yet: the request was not
    written, so it waits for the new socket instead of failing."""
    c = venue.client(reconnect_timeout=0.05)
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "pre0"))
    core: ClientCore = c.client._core
    key = venue.ws_key
    if venue.exchange == "okx":
        params = {k: v for k, v in ORDER.items() if k != "instId"}
        params.update(instIdCode=venue.sim.inst_id_code("BTC-USDT"), clOrdId="cut0")
    else:
        params = dict(SPOT, clientOid="cut0")
    idx, meta = c.client._prepare_raw(key, venue.op, params, None, 5.0, None)

    async def cut_then_send() -> Any:
        conn = core.connections[(0, key)]
        sock = conn._sock
        assert sock is not None
        conn._cut(sock)  # same loop step: the reader cannot have seen it yet
        return await core.request(idx, meta)

    res = await asyncio.wrap_future(engine.submit(cut_then_send()))
    ok = res.data[0]["sCode"] == "0" if venue.exchange == "okx" else res.code == "200000"
    assert ok
    assert venue.logins_ok == 2
    assert venue.sent_ids() == ["pre0", "cut0"]


# -- 2. service-upgrade notice: make before break -----------------------------------------------
async def test_notice_under_load_fails_nothing(venues: Callable[..., Venue]) -> None:
    v = venues(notice_grace=1.0, rate_limits=False)
    c = v.client()
    rec = Recorder(c, "notice", "reconnect", "reconnected", "exception")
    await v.connect(c)
    assert v.ok(await v.place(c, "warm"))

    done: list[Any] = []
    failed: list[BaseException] = []
    stop = asyncio.Event()
    seq = iter(range(10**9))

    async def worker() -> None:
        while not stop.is_set():
            try:
                done.append(await v.place(c, f"L{next(seq)}"))
            except Exception as exc:
                failed.append(exc)

    workers = [asyncio.ensure_future(worker()) for _ in range(4)]
    try:
        await wait_for(lambda: len(done) >= 50)
        v.sim.send_notice()
        before = len(done)
        t_notice = time.monotonic()
        await wait_for(lambda: v.logins_ok == 2)
        # the old socket drains and is closed by the client, well inside the grace period
        await wait_for(lambda: v.sim.open_sockets == 1, timeout=3)
        # keep the load on until ~1.5 s have passed and orders flow on the new socket
        await wait_for(lambda: time.monotonic() - t_notice > 1.5 and len(done) > before + 50)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert failed == []
    assert all(v.ok(r) for r in done)
    assert rec.flush() and len(rec.of("notice")) == 1
    assert rec.of("reconnect") == [] and rec.of("exception") == []
    assert len(rec.of("reconnected")) == 1
    sent = Counter(v.sent_ids())
    assert max(sent.values()) == 1 and len(sent) == len(done) + 1
    assert v.sim.stats["connections"] == 2 and c.pending_requests() == 0


async def test_notice_old_socket_closes_only_after_draining(
    venues: Callable[..., Venue],
) -> None:
    grace = 10.0
    v = venues(notice_grace=grace)
    c = v.client()
    await v.connect(c)
    assert v.ok(await v.place(c, "d0"))
    v.sim.faults.delay_next(1.0, op=v.op)
    slow = v.start(c, "slow1")  # in flight on the old socket across the notice
    await wait_for(lambda: "slow1" in v.sent_ids())
    t0 = time.monotonic()
    v.sim.send_notice()
    await wait_for(lambda: v.logins_ok == 2)
    fresh = await v.place(c, "new1")  # routed to the new socket at once
    assert v.ok(fresh) and not slow.done()
    assert v.sim.open_sockets == 2  # the old one is still draining
    assert v.ok(await slow)
    await wait_for(lambda: v.sim.open_sockets == 1)
    assert time.monotonic() - t0 < grace / 2  # closed by the client, not by the server
    assert v.sent_ids() == ["d0", "slow1", "new1"]


async def test_notice_old_socket_closes_after_its_last_call_times_out(
    venues: Callable[..., Venue],
) -> None:
    """Draining ends however the old socket's last call ends, a timeout included."""
    grace = 10.0
    v = venues(notice_grace=grace)
    c = v.client()
    await v.connect(c)
    v.sim.faults.swallow_next(op=v.op)
    lost = v.start(c, "never1", timeout=0.6)
    await wait_for(lambda: "never1" in v.sent_ids())
    t0 = time.monotonic()
    v.sim.send_notice()
    await wait_for(lambda: v.logins_ok == 2)
    assert v.sim.open_sockets == 2
    with pytest.raises(RequestTimeoutError) as err:
        await lost
    assert err.value.sent is True
    await wait_for(lambda: v.sim.open_sockets == 1)
    assert time.monotonic() - t0 < grace / 2  # the client closed it, the server did not
    assert v.ok(await v.place(c, "still1"))


async def test_notice_late_reply_on_the_old_socket_is_still_emitted(
    venues: Callable[..., Venue],
) -> None:
    """A call on the old socket times out just before it drains; its reply comes a
    moment later and is still delivered as ``late_response`` (the old socket drains
    for a grace after its last call), then the old socket closes."""
    grace = 10.0
    v = venues(notice_grace=grace)
    c = v.client()
    late = Recorder(c, "late_response")
    await v.connect(c)
    v.sim.faults.delay_next(0.8, op=v.op)
    slow = v.start(c, "late1", timeout=0.3)
    await wait_for(lambda: "late1" in v.sent_ids())
    t0 = time.monotonic()
    v.sim.send_notice()
    with pytest.raises(RequestTimeoutError) as err:
        await slow
    assert err.value.sent is True
    await wait_for(lambda: len(late.of("late_response")) == 1, timeout=3)
    request = late.of("late_response")[0]["request"]
    args = request["args"][0] if v.exchange == "okx" else request["args"]
    assert args[v.id_field] == "late1"
    await wait_for(lambda: v.sim.open_sockets == 1)
    assert time.monotonic() - t0 < grace / 2  # the client closed it, the server did not
    assert v.ok(await v.place(c, "after1"))


# -- 3. authentication failures: terminal and fast -------------------------------------------------
class _BadChallengeKucoin(KucoinSimulator):
    """Checks the session challenge with another secret than the URL signature: the
    client's challenge answer is refused with 400011 after the URL login passed."""

    def _check_url(self, query: dict[str, str]) -> tuple[Any, str | None]:
        acct, code = super()._check_url(query)
        if acct is not None:
            other = KucoinCredential(acct.cred.api_key, "a-different-secret", acct.cred.passphrase)
            acct = _Account(other, 10)
        return acct, code


_OKX_GOOD = {
    "apiKey": "okxkc-test-key",
    "apiSecret": "okxkc-test-secret",
    "apiPass": "okxkc-test-pass",
}

AUTH_CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], str]] = {
    # name: (exchange, simulator kwargs, client kwargs, expected code)
    "okx-wrong-key": ("okx", {}, {"accounts": [dict(_OKX_GOOD, apiKey="nope")]}, "60005"),
    "okx-wrong-passphrase": ("okx", {}, {"accounts": [dict(_OKX_GOOD, apiPass="bad")]}, "60024"),
    "okx-wrong-region": (
        "okx",
        {
            "credentials": [
                OkxCredential(
                    "okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass", region="EEA"
                )
            ]
        },
        {},
        "60032",
    ),
    "okx-demo-key-on-live": (
        "okx",
        {
            "credentials": [
                OkxCredential("okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass", demo=True)
            ]
        },
        {},
        "50101",
    ),
    "kucoin-wrong-key": ("kucoin", {}, {"api_key": "nope"}, "400003"),
    "kucoin-bad-challenge": ("kucoin", {"cls": _BadChallengeKucoin}, {}, "400011"),
}


@pytest.mark.parametrize("case", sorted(AUTH_CASES))
async def test_auth_failure_reaches_every_waiting_call_after_one_try(
    case: str, facade_kind: str
) -> None:
    exchange, sim_kw, client_kw, code = AUTH_CASES[case]
    v = Venue(exchange, facade_kind, sim_kw)
    try:
        c = v.client(**client_kw)
        # several calls wait for the first login
        calls = [v.start(c, f"a{i}") for i in range(4)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        for exc in outcomes:
            assert isinstance(exc, AuthenticationError), exc
            assert exc.code == code and exc.ws_key == v.ws_key
        assert v.logins_failed == 1 and v.logins_ok == 0
        # a later call fails at once with the same code, without another login
        dt, exc, _ = await timed(v.place(c, "later"))
        assert isinstance(exc, AuthenticationError) and exc.code == code
        assert dt < 0.5
        assert v.logins_failed == 1
        assert v.sim.received == [] and c.pending_requests() == 0
        # connect_ws_api() tries again (once)
        with pytest.raises(AuthenticationError) as again:
            await v.connect(c)
        assert again.value.code == code and v.logins_failed == 2
    finally:
        await v.aclose()


async def test_injected_login_rejection_then_connect_retries(venue: Venue) -> None:
    code = "60009" if venue.exchange == "okx" else "400011"
    venue.sim.faults.reject_next_login(code)
    c = venue.client()
    calls = [venue.start(c, f"r{i}") for i in range(3)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(e, AuthenticationError) and e.code == code for e in outcomes)
    assert venue.logins_failed == 1
    await venue.connect(c)  # the retry logs in
    assert venue.ok(await venue.place(c, "rafter"))
    assert venue.sent_ids() == ["rafter"]
    assert venue.sim.faults.injected["reject_login"] == 1


TRANSIENT_LOGIN = {"okx": ["50013", "50026", "60023"], "kucoin": ["500000", "429000", "400012"]}


@pytest.mark.parametrize("nth", [0, 1, 2])
async def test_transient_login_refusal_during_a_reconnect_is_retried(
    venue: Venue, nth: int
) -> None:
    """Busy / rate limited / server error at login: the client keeps reconnecting with
    its backoff and later calls succeed; nothing is re-sent."""
    code = TRANSIENT_LOGIN[venue.exchange][nth]
    c = venue.client(reconnect_timeout=0.05)
    rec = Recorder(c, "exception", "reconnected")
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "tl0"))
    venue.sim.faults.reject_next_login(code)
    venue.sim.drop_all()
    assert venue.ok(await venue.place(c, "tl1"))  # waits through the refused login
    assert venue.sim.faults.injected["reject_login"] == 1
    assert venue.logins_failed == 1 and venue.logins_ok == 2
    assert venue.ok(await venue.place(c, "tl2"))
    assert venue.sent_ids() == ["tl0", "tl1", "tl2"]
    await wait_for(lambda: len(rec.of("reconnected")) == 1)
    assert rec.flush() and any(code in e.get("error", "") for e in rec.of("exception"))


async def test_transient_login_refusal_at_first_connect_is_retried(venue: Venue) -> None:
    code = TRANSIENT_LOGIN[venue.exchange][0]
    venue.sim.faults.reject_next_login(code, count=2)
    c = venue.client(reconnect_timeout=0.05)
    assert venue.ok(await venue.place(c, "tf1"))
    assert venue.logins_failed == 2 and venue.logins_ok == 1


# -- 4. timeouts ----------------------------------------------------------------------------------
async def test_timeouts_at_the_deadline(venue: Venue) -> None:
    c = venue.client(request_timeout=0.4)
    late = Recorder(c, "late_response")
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "t0"))

    # the client default
    venue.sim.faults.swallow_next(op=venue.op)
    dt, exc, _ = await timed(venue.place(c, "swallowed1"))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is True
    assert "outcome unknown" in str(exc) and venue.id_field in str(exc)
    assert exc.op == venue.op and exc.ws_key == venue.ws_key
    assert_at_deadline(dt, 0.4)

    # a per-call timeout wins over the default
    venue.sim.faults.swallow_next(op=venue.op)
    dt, exc, _ = await timed(venue.place(c, "swallowed2", timeout=0.15))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is True
    assert_at_deadline(dt, 0.15)

    # a reply after the deadline is emitted with the request it answers
    venue.sim.faults.delay_next(0.6, op=venue.op)
    dt, exc, _ = await timed(venue.place(c, "late1", timeout=0.2))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is True
    assert_at_deadline(dt, 0.2)
    await wait_for(lambda: len(late.events) == 1)
    ev = late.events[0]
    req = ev["request"]
    args = req["args"][0] if venue.exchange == "okx" else req["args"]
    assert req["op"] == venue.op and args[venue.id_field] == "late1"
    assert ev["response"]["id"] == req["id"]
    assert c.pending_requests() == 0
    # and the connection is still fine
    assert venue.ok(await venue.place(c, "t1"))
    assert venue.sim.stats["connections"] == 1


async def test_timeout_never_fires_before_the_deadline(venue: Venue) -> None:
    """uvloop's timers have millisecond resolution: a deadline must still hold exactly."""
    c = venue.client()
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "e0"))
    early = []
    for i in range(12):
        timeout = 0.03 + i * 0.0017  # not whole milliseconds
        venue.sim.faults.swallow_next(op=venue.op)
        dt, exc, _ = await timed(venue.place(c, f"e{i + 1}", timeout=timeout))
        assert isinstance(exc, RequestTimeoutError)
        if dt < timeout:
            early.append(round(timeout - dt, 5))
    assert early == [], f"timed out early by {early} s"


def test_correlator_deadlines_hold_on_a_millisecond_clock() -> None:
    """uvloop rounds timers to milliseconds and fires some early: the correlator re-arms."""
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dev dependency
        loop = asyncio.new_event_loop()
    fired: dict[str, float] = {}

    async def run() -> None:
        corr = Correlator(asyncio.get_running_loop())
        entries = []
        for i in range(300):
            deadline = time.monotonic() + 0.002 + i * 0.00031
            e = corr.add(f"r{i}", None, 1, deadline, lambda _e: RequestTimeoutError("t", sent=True))
            e.future.add_done_callback(
                lambda _f, rid=e.request_id: fired.setdefault(rid, time.monotonic())
            )
            entries.append(e)
        await asyncio.wait([e.future for e in entries])
        early = [e.request_id for e in entries if fired[e.request_id] < e.deadline]
        assert early == []
        assert all(isinstance(e.future.exception(), RequestTimeoutError) for e in entries)
        assert len(corr) == 0 and corr.count(1) == 0

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


async def test_timeout_without_a_connection_was_not_sent(venue: Venue) -> None:
    c = venue.client(reconnect_timeout=0.05, reconnect_max=0.1)
    assert venue.ok(await venue.place(c, "n0"))
    venue.sim.stop_thread()
    dt, exc, _ = await timed(venue.place(c, "n1", timeout=0.3))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is False
    assert "not sent" in str(exc) and exc.op == venue.op
    assert_at_deadline(dt, 0.3)
    dt, exc, _ = await timed(venue.connect(c, timeout=0.2))
    assert isinstance(exc, RequestTimeoutError) and exc.sent is False
    assert_at_deadline(dt, 0.2)
    assert venue.sent_ids() == ["n0"]


async def test_cancelled_async_caller_leaves_nothing_pending(exchange: str) -> None:
    v = Venue(exchange, "async", {})
    try:
        c = v.client()
        late = Recorder(c, "late_response")
        await v.connect(c)
        v.sim.faults.delay_next(0.4, op=v.op)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(v.place(c, "gone1"), 0.1)
        await wait_for(lambda: c.pending_requests() == 0)
        # the reply still arrives and is reported with its request, never dropped silently
        await wait_for(lambda: len(late.events) == 1)
        assert v.ok(await v.place(c, "aftercancel"))
    finally:
        await v.aclose()


# -- 5. rate limits --------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["item", "top"])
async def test_okx_rate_limit_both_styles(facade_kind: str, style: str) -> None:
    v = Venue("okx", facade_kind, {"rate_limit_style": style})
    try:
        c = v.client()
        # "order" allows 60 per instrument per 2 s
        results = await asyncio.gather(*(v.start(c, f"q{i}") for i in range(60)))
        assert all(v.ok(r) for r in results)
        with pytest.raises(RateLimitError) as err:
            await v.place(c, "over1")
        e = err.value
        assert isinstance(e, ExchangeError) and e.code == "50011" and e.op == "order"
        assert e.reset_ms is None and e.remaining is None  # OKX says neither
        assert "Rate limit" in e.msg
        if style == "top":
            assert e.response["code"] == "50011"
        else:
            assert e.response["data"][0]["sCode"] == "50011"
        assert v.sim.find_order(cl_ord_id="over1") is None
    finally:
        await v.aclose()


async def test_kucoin_rate_limit_and_quota_on_every_result(facade_kind: str) -> None:
    v = Venue("kucoin", facade_kind, {"spot_pool_limit": 4, "pool_window_s": 30.0})
    try:
        c = v.client()
        placed = await v.place(c, "k1")
        assert placed.rate_limit.limit == 4 and placed.rate_limit.remaining == 3
        modified = await c.modify_spot_order(symbol="BTC-USDT", clientOid="k1", newPrice="20001")
        assert modified.rate_limit.remaining == 2
        cancelled = await c.cancel_spot_order(symbol="BTC-USDT", orderId=modified.data.newOrderId)
        assert cancelled.rate_limit.remaining == 1
        futures = await c.submit_futures_order(
            symbol="XBTUSDTM",
            side="buy",
            type="limit",
            price="30000",
            size=1,
            leverage=5,
            clientOid="kf1",
        )
        assert futures.rate_limit.limit == 2000  # its own pool, on its own socket
        assert (await v.place(c, "k2")).rate_limit.remaining == 0
        with pytest.raises(RateLimitError) as err:
            await v.place(c, "k3")
        e = err.value
        assert e.code == "429000" and e.remaining == 0 and e.limit == 4
        assert e.reset_ms is not None and 0 < e.reset_ms <= 30_000
        assert v.sim.find_order(client_oid="k3") is None
    finally:
        await v.aclose()


# -- 6. hostile server input ------------------------------------------------------------------------
HOSTILE: dict[str, tuple[str | bytes, str | bytes, str]] = {
    # name: (OKX frame, KuCoin frame, what the exception event says)
    "garbage-text": ("}{ this is not json", "}{ this is not json", "unparseable"),
    "binary": (b"\x00\xff\xfebinary\x01", b"\x00\xff\xfebinary\x01", "unparseable"),
    "not-an-object": ("[1, 2, 3]", '"just a string"', "unparseable"),
    "reply-to-unknown-id": (
        '{"id":"nobodyasked1","op":"order","code":"0","msg":"","data":[]}',
        '{"id":"nobodyasked1","op":"spot.order","code":"200000","data":{}}',
        "unknown request id",
    ),
    "unknown-event-or-op": (
        '{"event":"mystery","connId":"abc"}',
        '{"op":"mystery.op","data":{"x":1}}',
        "unrecognised",
    ),
    "ten-megabytes": ("10MB", "10MB", "ignored"),
}


@pytest.mark.parametrize("what", list(HOSTILE))
async def test_hostile_frame_is_reported_and_harmless(
    venue: Venue, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    okx_frame, kc_frame, says = HOSTILE[what]
    frame = okx_frame if venue.exchange == "okx" else kc_frame
    if frame == "10MB":
        frame = '{"event":"x","op":"x","pad":"' + "x" * 10_000_000 + '"}'
    c = venue.client()
    rec = Recorder(c, "exception", "reconnect", "close")
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "h0"))
    venue.sim.faults.delay_next(0.3, op=venue.op)
    in_flight = venue.start(c, "h1")
    await wait_for(lambda: "h1" in venue.sent_ids())
    with caplog.at_level("WARNING", logger="okxkc.connection"):
        venue.sim.broadcast(frame)
        await wait_for(lambda: len(rec.of("exception")) == 1)
        assert venue.ok(await in_flight)
        assert venue.ok(await venue.place(c, "h2"))
    ev = rec.flush()[0]
    assert says in ev["error"] and ev["wsKey"] == venue.ws_key
    assert len(str(ev.get("frame"))) < 1000  # a preview, not the frame
    assert any(says in r.getMessage() for r in caplog.records)
    assert rec.names() == ["exception"]  # no reconnect, no close
    assert venue.sim.stats["connections"] == 1 and venue.logins_ok == 1


async def test_unencodable_raw_params_are_a_validation_error(venue: Venue) -> None:
    c = venue.client()
    await venue.connect(c)
    with pytest.raises(ValidationError) as err:
        await c.send_ws_api_request(venue.ws_key, venue.op, {"weird": object()})
    assert err.value.field == "params"
    assert venue.sim.received == [] and c.pending_requests() == 0
    assert venue.ok(await venue.place(c, "fine1"))
    assert venue.sim.stats["connections"] == 1


# -- odd callers ------------------------------------------------------------------------------------
async def test_many_concurrent_first_callers_share_one_login(venue: Venue) -> None:
    c = venue.client()
    ids = [f"m{i}" for i in range(12)]
    random.shuffle(ids)
    results = await asyncio.gather(*(venue.start(c, i) for i in ids))
    assert all(venue.ok(r) for r in results)
    assert venue.logins_ok == 1 and venue.sim.stats["connections"] == 1
    assert sorted(venue.sent_ids()) == sorted(ids)


async def test_close_with_calls_in_flight_and_waiting(venue: Venue) -> None:
    c = venue.client(reconnect_timeout=5.0)
    await venue.connect(c)
    assert venue.ok(await venue.place(c, "c0"))
    venue.sim.faults.delay_next(3.0, op=venue.op, count=2)
    in_flight = [venue.start(c, f"cf{i}") for i in range(2)]
    await wait_for(lambda: c.pending_requests() == 2)
    t0 = time.monotonic()
    await c.close()
    outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
    assert time.monotonic() - t0 < 2.0
    for exc in outcomes:
        assert isinstance(exc, ClientClosedError), exc
        assert "outcome unknown" in str(exc)
    with pytest.raises(ClientClosedError):
        await venue.place(c, "c9")
    assert venue.sent_ids() == ["c0", "cf0", "cf1"]
