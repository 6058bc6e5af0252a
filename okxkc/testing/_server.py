"""What both simulated exchanges share: an aiohttp server that can run in its own
thread, fault injection, a request log and rolling-window rate limits.

Nothing here (nor anywhere in ``okxkc.testing``) imports the client's engine or
adapters: the simulators sign, parse and frame on their own, so a client bug
cannot be mirrored by the simulator and pass unseen.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

__all__ = ["Decision", "Faults", "RollingLimiter", "SimulatedExchange"]

T = TypeVar("T")


@dataclass
class Decision:
    """What the server does with one request, as decided by :class:`Faults`."""

    drop: bool = False  # close the socket abruptly (no close frame)
    process: bool = True  # apply the request to the order book first
    reply: bool = True  # send the reply
    delay: float = 0.0  # seconds before the reply is sent
    # With ``drop``: apply the request this many seconds after the socket is cut (a request
    # still queued at the exchange when the connection died); None: ``process`` decides.
    execute_after: float | None = None

    @property
    def normal(self) -> bool:
        return not self.drop and self.reply and self.delay == 0.0


_NORMAL = Decision()


@dataclass
class _Rule:
    kind: str  # "drop" | "drop_queued" | "swallow" | "delay"
    op: str | None
    remaining: int | None  # None: forever
    delay: float = 0.0
    process: bool = True


@dataclass
class _Random:
    drop: float = 0.0
    swallow: float = 0.0
    delay: float = 0.0
    delay_range: tuple[float, float] = (0.0, 0.05)
    rng: random.Random = field(default_factory=random.Random)


class Faults:
    """Fault injection plan, safe to change from any thread while the server runs.

    Rules are consumed in the order they were added, one rule per request:

    - ``drop_next`` closes the socket abruptly when the next matching request
      arrives, before it is applied (nothing happens at the exchange); with
      ``process=True`` it is the same as ``drop_after_execution``;
    - ``drop_after_execution`` applies the request, then closes the socket before
      the reply is sent (the order exists, the reply is lost);
    - ``drop_then_execute`` closes the socket first and applies the request
      ``after`` seconds later, as a request still queued at the exchange when the
      connection died (an ``expTime`` that has passed by then refuses it);
      simulators that do not model it raise ``NotImplementedError``;
    - ``swallow_next`` applies the request and never answers;
    - ``delay_next`` answers late.

    ``op=None`` matches any trading op. ``random`` injects faults by probability
    (for soak tests). ``fail_rest_next`` makes the next signed REST calls fail
    with an HTTP error (the exchange's REST side unreachable or broken).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._random: _Random | None = None
        self.login_rejections: collections.deque[str | None] = collections.deque()
        self.rest_failures: collections.deque[int] = collections.deque()
        self.injected: collections.Counter[str] = collections.Counter()
        # Set by a simulator that can apply a request after its socket is gone.
        self.supports_queued_execution = False

    def drop_next(self, op: str | None = None, count: int = 1, *, process: bool = False) -> None:
        self._add(_Rule("drop", op, count, process=process))

    def drop_after_execution(self, op: str | None = None, count: int = 1) -> None:
        """Apply the next matching request, then cut the socket before replying."""
        self._add(_Rule("drop", op, count, process=True))

    def drop_then_execute(
        self, op: str | None = None, count: int = 1, *, after: float = 0.1
    ) -> None:
        """Cut the socket at the next matching request; apply it ``after`` seconds later."""
        if not self.supports_queued_execution:
            raise NotImplementedError("this simulator does not model queued execution")
        if after < 0:
            raise ValueError("after must be >= 0")
        self._add(_Rule("drop_queued", op, count, delay=after, process=False))

    def fail_rest_next(self, count: int = 1, *, status: int = 503) -> None:
        """Answer the next ``count`` signed REST calls with HTTP ``status`` and no JSON."""
        with self._lock:
            self.rest_failures.extend([status] * count)

    def take_rest_failure(self) -> int | None:
        """The HTTP status to fail this REST call with, or None; called by the server."""
        with self._lock:
            if self.rest_failures:
                self.injected["rest_failure"] += 1
                return self.rest_failures.popleft()
            return None

    def swallow_next(self, op: str | None = None, count: int = 1) -> None:
        self._add(_Rule("swallow", op, count))

    def delay_next(self, seconds: float, op: str | None = None, count: int | None = 1) -> None:
        self._add(_Rule("delay", op, count, delay=seconds))

    def reject_next_login(self, code: str | None = None, count: int = 1) -> None:
        """Refuse the next ``count`` logins (``code`` defaults to the exchange's generic one)."""
        with self._lock:
            self.login_rejections.extend([code] * count)

    def random(
        self,
        *,
        drop: float = 0.0,
        swallow: float = 0.0,
        delay: float = 0.0,
        delay_range: tuple[float, float] = (0.0, 0.05),
        seed: int | None = None,
    ) -> None:
        with self._lock:
            self._random = _Random(drop, swallow, delay, delay_range, random.Random(seed))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._random = None
            self.login_rejections.clear()
            self.rest_failures.clear()

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def take_login_rejection(self) -> tuple[bool, str | None]:
        with self._lock:
            if self.login_rejections:
                self.injected["reject_login"] += 1
                return True, self.login_rejections.popleft()
            return False, None

    def decide(self, op: str) -> Decision:
        """Consume the first rule matching ``op``; called by the server per request."""
        if not self._rules and self._random is None:
            return _NORMAL
        with self._lock:
            for i, rule in enumerate(self._rules):
                if rule.op is not None and rule.op != op:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        del self._rules[i]
                self.injected[rule.kind] += 1
                if rule.kind == "drop":
                    return Decision(drop=True, process=rule.process, reply=False)
                if rule.kind == "drop_queued":
                    return Decision(drop=True, process=False, reply=False, execute_after=rule.delay)
                if rule.kind == "swallow":
                    return Decision(reply=False)
                return Decision(delay=rule.delay)
            r = self._random
            if r is not None:
                x = r.rng.random()
                if x < r.drop:
                    self.injected["drop"] += 1
                    return Decision(drop=True, process=r.rng.random() < 0.5, reply=False)
                x -= r.drop
                if x < r.swallow:
                    self.injected["swallow"] += 1
                    return Decision(reply=False)
                x -= r.swallow
                if x < r.delay:
                    self.injected["delay"] += 1
                    return Decision(delay=r.rng.uniform(*r.delay_range))
        return _NORMAL


class RollingLimiter:
    """A rolling-window counter: ``limit`` units per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[Any, collections.deque[tuple[float, int]]] = {}
        self._used: dict[Any, int] = {}

    def _trim(self, key: Any, now: float) -> collections.deque[tuple[float, int]]:
        q = self._events.setdefault(key, collections.deque())
        used = self._used.get(key, 0)
        edge = now - self.window
        while q and q[0][0] <= edge:
            used -= q.popleft()[1]
        self._used[key] = used
        return q

    def try_take(self, key: Any, weight: int = 1, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        q = self._trim(key, now)
        if self._used[key] + weight > self.limit:
            return False
        q.append((now, weight))
        self._used[key] += weight
        return True

    def remaining(self, key: Any, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        self._trim(key, now)
        return max(0, self.limit - self._used[key])

    def reset_ms(self, key: Any, now: float | None = None) -> int:
        """Milliseconds until the oldest counted unit leaves the window."""
        now = time.monotonic() if now is None else now
        q = self._trim(key, now)
        if not q:
            return 0
        return max(0, int((q[0][0] + self.window - now) * 1000))


class SimulatedExchange:
    """Base of the simulated exchanges: lifecycle, threads, faults, request log.

    Use it from async code (``await sim.start()`` / ``await sim.stop()``, or
    ``async with``) or from blocking code, where it runs on its own thread
    (``with sim:`` or ``sim.start_in_thread()`` / ``sim.stop_thread()``).
    """

    name = "exchange"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_offset_ms: int = 0,
        record: bool = True,
        tls: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.clock_offset_ms = clock_offset_ms
        self.record = record
        self.tls = tls
        # With tls=True: the PEM file of the throwaway certificate authority that signed
        # the listener's certificate, written at start (trust it in clients), else None.
        self.ca_file: str | None = None
        self._ca_dir: str | None = None
        self.faults = Faults()
        # Every trading request the server received after the envelope parsed, in order.
        self.received: list[dict[str, Any]] = []
        self.stats: collections.Counter[str] = collections.Counter()
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- to be provided by each exchange -------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def notice_frames(self) -> list[str]:
        """Frames sent to every socket by :meth:`send_notice` (a service-upgrade notice)."""
        raise NotImplementedError

    # -- clock -----------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    # -- lifecycle -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self._url_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client-side context that trusts this simulator's CA (tls=True, started)."""
        if self.ca_file is None:
            raise RuntimeError("the simulator serves TLS only with tls=True, once started")
        return ssl.create_default_context(cafile=self.ca_file)

    def _server_ssl_context(self) -> ssl.SSLContext:
        # trustme (the ``tls`` extra) is imported only here: plain simulators never need it.
        import trustme

        ca = trustme.CA(organization_name="okxkc simulator")
        names = ["127.0.0.1", "::1", "localhost"]
        if self.host not in names and self.host not in ("0.0.0.0", "::", ""):
            names.append(self.host)
        cert = ca.issue_cert(*names)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._ca_dir = tempfile.mkdtemp(prefix=f"okxkc-{self.name}-sim-")
        path = os.path.join(self._ca_dir, "ca.pem")
        ca.cert_pem.write_to_path(path)
        self.ca_file = path
        return ctx

    def _drop_ca(self) -> None:
        if self._ca_dir is not None:
            shutil.rmtree(self._ca_dir, ignore_errors=True)
        self._ca_dir = None
        self.ca_file = None

    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        ssl_context = self._server_ssl_context() if self.tls else None
        site = web.TCPSite(
            self._runner, self.host, self.port, reuse_address=True, ssl_context=ssl_context
        )
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._drop_ca()

    async def __aenter__(self) -> SimulatedExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> SimulatedExchange:
        """Run the server on a private loop in a daemon thread; returns once it listens."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # pragma: no cover - reported to the starter
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(
            target=main, name=f"okxkc-{self.name}-simulator", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> SimulatedExchange:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()

    # -- thread-safe helpers ---------------------------------------------------------
    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run ``coro`` on the simulator's loop from another thread and return its result."""
        assert self._loop is not None, "simulator not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _on_loop(self, fn: Callable[[], Awaitable[None]]) -> None:
        assert self._loop is not None, "simulator not started"
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._spawn(fn())
        else:
            asyncio.run_coroutine_threadsafe(_as_coro(fn()), loop).result(10)

    def _spawn(self, aw: Awaitable[None]) -> None:
        task = asyncio.ensure_future(aw)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- actions on live sockets (thread-safe) ---------------------------------------
    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    def drop_all(self) -> None:
        """Close every socket abruptly, without a close frame (like a network cut)."""

        async def go() -> None:
            for ws in list(self._sockets):
                _abort(ws)

        self._on_loop(go)

    def broadcast(self, frame: str | bytes) -> None:
        """Send one raw frame (text or binary) to every open socket."""

        async def go() -> None:
            for ws in list(self._sockets):
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)

        self._on_loop(go)

    def send_notice(self) -> None:
        """Send the service-upgrade notice to every open socket."""
        frames = self.notice_frames()

        async def go() -> None:
            for ws in list(self._sockets):
                for f in frames:
                    await ws.send_str(f)

        self._on_loop(go)

    # -- for subclasses --------------------------------------------------------------
    def track(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)
        self.stats["connections"] += 1

    def untrack(self, ws: web.WebSocketResponse) -> None:
        self._sockets.discard(ws)

    def log_request(self, request: dict[str, Any]) -> None:
        if self.record:
            self.received.append(request)

    async def _close_sockets(self, app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")


async def _as_coro(aw: Awaitable[None]) -> None:
    await aw


def _abort(ws: web.WebSocketResponse) -> None:
    """Cut a socket without a close frame."""
    req = getattr(ws, "_req", None)
    transport = req.transport if req is not None else None
    if transport is not None:
        transport.abort()
