"""Process-level behaviour, in subprocesses: Ctrl-C, interpreter exit, fork.

Each child talks to a simulator running in this (the test's) process, so the test
can inject faults and see what the exchange received. Children print markers; the
test asserts on their exact output, their exit code, an empty stderr, and how long
things took.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and fork")

# Shared head of every child script: argv is (exchange, ws_url, rest_url).
PRELUDE = """
import asyncio, os, sys, threading, time, warnings
warnings.filterwarnings("ignore", ".*multi-threaded.*fork", DeprecationWarning)
from okxkc import okx, kucoin
from okxkc.errors import ClientClosedError
EXCHANGE, WS_URL, REST_URL = sys.argv[1:4]
KEY = {"apiKey": "okxkc-test-key", "apiSecret": "okxkc-test-secret"}

def make(is_async=False, **kw):
    common = dict(base_ws_url=WS_URL, base_rest_url=REST_URL, attach_event_listeners=False,
                  request_timeout=60.0, **kw)
    if EXCHANGE == "okx":
        cls = okx.AsyncWebsocketAPIClient if is_async else okx.WebsocketAPIClient
        return cls(accounts=[{**KEY, "apiPass": "okxkc-test-pass"}], **common)
    cls = kucoin.AsyncWebsocketAPIClient if is_async else kucoin.WebsocketAPIClient
    return cls(api_key=KEY["apiKey"], api_secret=KEY["apiSecret"],
               api_passphrase="okxkc-test-pass", **common)

PLACE = "submit_new_order" if EXCHANGE == "okx" else "submit_new_spot_order"
CANCEL = "cancel_order" if EXCHANGE == "okx" else "cancel_spot_order"

def order(cid):
    if EXCHANGE == "okx":
        return dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit",
                    px="20000", sz="0.01", clOrdId=cid)
    return dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001",
                clientOid=cid)

def cancel(cid):
    if EXCHANGE == "okx":
        return dict(instId="BTC-USDT", clOrdId=cid)
    return dict(symbol="BTC-USDT", clientOid=cid)

def cid(res):
    return res.data[0].clOrdId if EXCHANGE == "okx" else res.data.clientOid

def when_pending(client, text):
    # Tell the parent (by a line on stdout) once a request waits on the exchange.
    def watch():
        while client.pending_requests() == 0:
            time.sleep(0.005)
        print(text, flush=True)
    threading.Thread(target=watch, daemon=True).start()
"""


class Child:
    """A Python subprocess whose stdout lines are read with a bound."""

    def __init__(self, body: str, *args: str, head: str = "") -> None:
        script = textwrap.dedent(head) + PRELUDE + textwrap.dedent(body)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self, timeout: float = 20.0) -> str | None:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"no output from the child within {timeout}s") from None

    def rest(self, timeout: float = 20.0) -> list[str]:
        """Every remaining line, once the child has exited."""
        out = []
        while (line := self.line(timeout)) is not None:
            out.append(line)
        return out

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 20.0) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"the child did not exit within {timeout}s") from None
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._pump.join(10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start children; each is killed (if still running) and reaped after the test."""
    children: list[Child] = []

    def start(body: str, *args: str, head: str = "") -> Child:
        children.append(Child(body, *args, head=head))
        return children[-1]

    yield start
    for c in children:
        c.close()


@pytest.fixture(params=["okx", "kucoin"])
def exchange(request: pytest.FixtureRequest) -> tuple[str, Any]:
    return request.param, request.getfixturevalue(f"{request.param}_sim")


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll something this process can see (the simulator's log), with a bound."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.005)


def ops(name: str) -> tuple[str, str]:
    return ("order", "cancel-order") if name == "okx" else ("spot.order", "spot.cancel")


# -- Ctrl-C ----------------------------------------------------------------------------------
CTRL_C = """
import okxkc
client = make(is_async=(sys.argv[4] != "sync"))
when_pending(client, "IN FLIGHT")
if sys.argv[4] == "sync":
    client.connect_ws_api()
    try:
        getattr(client, PLACE)(**order("k1"))
        print("RETURNED")
    except KeyboardInterrupt:
        print(f"KeyboardInterrupt, pending={client.pending_requests()}", flush=True)
    client.close()
else:
    async def main():
        await client.connect_ws_api()
        await getattr(client, PLACE)(**order("k1"))
    run = okxkc.run if sys.argv[4] == "engine" else asyncio.run  # engine-loop mode
    try:
        run(main())
        print("RETURNED")
    except KeyboardInterrupt:
        print(f"KeyboardInterrupt, pending={client.pending_requests()}", flush=True)
    run(client.close())
print("DONE", flush=True)
"""


@pytest.mark.parametrize("kind", ["sync", "async", "engine"])
def test_ctrl_c_during_a_call_waiting_on_a_swallowed_reply(
    spawn: Callable[..., Child], exchange: tuple[str, Any], kind: str
) -> None:
    name, sim = exchange
    sim.faults.swallow_next(ops(name)[0])
    child = spawn(CTRL_C, name, sim.ws_url, sim.url, kind)
    assert child.line() == "IN FLIGHT"
    wait_until(lambda: len(sim.received) == 1)  # at the exchange; its reply never comes
    sent_at = time.monotonic()
    child.proc.send_signal(signal.SIGINT)
    assert child.line() == "KeyboardInterrupt, pending=0"
    # Control came back at once, not after the call's 60 s timeout.
    assert time.monotonic() - sent_at < 3.0
    assert child.rest() == ["DONE"]
    assert child.finish() == (0, "")


# -- interpreter exit ---------------------------------------------------------------------
# Runs before PRELUDE imports okxkc, so its exit handler runs after okxkc's (LIFO).
EXIT_HEAD = """
import atexit, threading
outcome = []
ended = threading.Event()

def report():
    ended.wait(5)
    print("in-flight call ended with", outcome[0] if outcome else "nothing", flush=True)
    left = sorted(t.name for t in threading.enumerate() if t.name.startswith("okxkc-"))
    print("okxkc threads left:", left, flush=True)

atexit.register(report)
"""

EXIT_MAIN = """
blocking = make()
awaiting = make(is_async=True)
for client in (blocking, awaiting):
    client.get_ws_client().on("close", lambda p: print("closed", p["wsKey"], flush=True))
if sys.argv[4] == "listening":  # the events thread runs before exit
    blocking.get_ws_client().on("response", lambda p: None)
print("placed", cid(getattr(blocking, PLACE)(**order("x1"))), flush=True)
print("placed", cid(asyncio.run(getattr(awaiting, PLACE)(**order("x2")))), flush=True)

def in_flight():
    try:
        getattr(blocking, CANCEL)(**cancel("x1"))
        outcome.append("a reply")
    except BaseException as exc:
        outcome.append(type(exc).__name__)
    ended.set()

threading.Thread(target=in_flight, daemon=True).start()
when_pending(blocking, "IN FLIGHT")
sys.stdin.readline()  # the parent says when the exchange has the request
print("EXITING", flush=True)
"""


@pytest.mark.parametrize("events", ["listening", "quiet"])
def test_exit_with_open_clients_and_a_call_in_flight_does_not_hang(
    spawn: Callable[..., Child], exchange: tuple[str, Any], events: str
) -> None:
    name, sim = exchange
    sim.faults.swallow_next(ops(name)[1])  # the cancel's reply never comes
    child = spawn(EXIT_MAIN, name, sim.ws_url, sim.url, events, head=EXIT_HEAD)
    assert child.line() == "placed x1"
    assert child.line() == "placed x2"
    assert child.line() == "IN FLIGHT"
    wait_until(lambda: len(sim.received) == 3)
    child.say("exit now")
    assert child.line() == "EXITING"
    exiting = time.monotonic()
    rest = child.rest()
    code, err = child.finish()
    # okxkc closed both clients at exit: the call in flight got ClientClosedError
    # promptly, not its 60 s timeout, and nothing complained on stderr. The close
    # events reached the listeners if the events thread was running; none is started
    # during exit; no okxkc thread is left behind.
    key = "private" if name == "okx" else "spot"
    closed = [f"closed {key}"] * 2 if events == "listening" else []
    assert rest == [
        *closed,
        "in-flight call ended with ClientClosedError",
        "okxkc threads left: []",
    ]
    assert (code, err) == (0, "")
    assert time.monotonic() - exiting < 5.0


# -- fork ------------------------------------------------------------------------------------
FORK = """
from okxkc._engine.events import EventEmitter
parent = make()
seen = []
parent.get_ws_client().on("response", lambda p: seen.append(p["op"]))
print("parent placed", cid(getattr(parent, PLACE)(**order("p1"))), flush=True)
EventEmitter.flush()  # the events thread runs before the fork
pid = os.fork()
if pid == 0:
    try:
        getattr(parent, PLACE)(**order("bad"))
        print("the parent's client in the child: RETURNED", flush=True)
    except ClientClosedError as exc:
        print("the parent's client in the child:", type(exc).__name__, flush=True)
    child = make()
    mine = []
    child.get_ws_client().on("response", lambda p: mine.append(p["op"]))
    print("child placed", cid(getattr(child, PLACE)(**order("c1"))), flush=True)
    EventEmitter.flush()
    print("child events", mine, flush=True)
    parent.close()  # a no-op here: those sockets are the parent's
    sys.exit(0)  # a normal exit: okxkc's exit handler runs in the child too
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status), flush=True)
print("parent placed", cid(getattr(parent, PLACE)(**order("p2"))), flush=True)
EventEmitter.flush()
print("parent events", seen, flush=True)
parent.close()
"""


def test_fork_child_makes_its_own_client_and_the_parent_keeps_working(
    spawn: Callable[..., Child], exchange: tuple[str, Any]
) -> None:
    name, sim = exchange
    op = ops(name)[0]
    child = spawn(FORK, name, sim.ws_url, sim.url)
    assert child.rest(30) == [
        "parent placed p1",
        "the parent's client in the child: ClientClosedError",
        "child placed c1",
        f"child events ['{op}']",
        "child exit 0",
        "parent placed p2",
        f"parent events ['{op}', '{op}']",
    ]
    assert child.finish() == (0, "")
    key = "clOrdId" if name == "okx" else "clientOid"
    args = [r["args"][0] if name == "okx" else r["args"] for r in sim.received]
    assert [a[key] for a in args] == ["p1", "c1", "p2"]
    # One socket for the parent (never disturbed by the child, so never reopened) and
    # one for the child.
    assert sim.stats["connections"] == 2
