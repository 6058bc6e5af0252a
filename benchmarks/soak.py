"""Soak: many concurrent callers against simulators that drop sockets, delay and
swallow replies at random; then check that every call ended in a definite answer.

    python benchmarks/soak.py [--requests 100000] [--exchange both] [--facade both]
                              [--resolve both] [--concurrency 64] [--threads 32]
                              [--timeout 1.0] [--drop 0.0005] [--swallow 0.003]
                              [--delay 0.01] [--seed 1]

``--resolve both`` runs every exchange and facade twice, with ``resolve_unknown`` off
(before: a lost reply ends "outcome unknown") and on (after: a REST lookup settles it),
and prints how many calls ended unknown each way, by kind of order, with the longest
time a resolved call took.

The simulators run in a separate process (so the client's memory and CPU are its
own); the requests are split evenly over the chosen exchanges and facades. It
prints the requests, the faults injected by kind, hung calls (past deadline +
slack), duplicates (a client order id the exchange saw twice), results by outcome
type, and RSS memory before and after. The exit status is 1 if any call hung,
any id was sent twice, any call ended in an untyped error, a call said "not sent"
yet reached the exchange, or a request was left pending.

``tests/test_soak.py`` runs the same workload at a modest size in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import itertools
import logging
import multiprocessing
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from okxkc import kucoin as kc
from okxkc import okx
from okxkc.errors import (
    ClientClosedError,
    ConnectionLostError,
    ExchangeError,
    NotExecutedError,
    OkxkcError,
    RequestTimeoutError,
    ValidationError,
)

# How long past its deadline (+ the lookup grace, when resolving) a call may end before
# it counts as hung.
SLACK = 1.0
# Lookup options of the soak's clients (seconds): a cancel-free workload needs the settle
# time only to give up on orders without an expiry (KuCoin futures).
SETTLE = 1.0
GRACE = 2.0

OKX_KEY = {
    "apiKey": "okxkc-test-key",
    "apiSecret": "okxkc-test-secret",
    "apiPass": "okxkc-test-pass",
}
KC_KEY = {
    "api_key": "okxkc-test-key",
    "api_secret": "okxkc-test-secret",
    "api_passphrase": "okxkc-test-pass",
}
_OKX_ORDER = dict(
    instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01"
)
_KC_SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
_KC_FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)

# Outcome of one call, one byte per call index.
(
    PENDING,
    OK,
    REFUSED,
    LOST,
    TIMEOUT_SENT,
    TIMEOUT_UNSENT,
    CLOSED,
    INVALID,
    OTHER,
    UNTYPED,
    OK_RESOLVED,
    NOT_EXECUTED,
) = range(12)
UNKNOWN_CODES = (LOST, TIMEOUT_SENT)


# -- what each call sends ------------------------------------------------------------------
class Plan:
    """Call ``i`` of a run: which method, which client order ids. A mix of single orders
    and batches (OKX); spot, futures and futures batches on two sockets (KuCoin)."""

    def __init__(self, exchange: str, prefix: str) -> None:
        self.exchange = exchange
        self.prefix = prefix

    def kind(self, i: int) -> str:
        """What call ``i`` places (the unknown-outcome table is split by it)."""
        if self.exchange == "okx":
            return "okx batch" if i % 10 == 9 else "okx order"
        if i % 10 == 9:
            return "kucoin futures batch"
        return "kucoin futures" if i % 10 >= 6 else "kucoin spot"

    def ids(self, i: int) -> list[str]:
        base = f"{self.prefix}{i}"
        if self.exchange == "okx":
            return [f"{base}x{k}" for k in range(3)] if i % 10 == 9 else [base]
        return [f"{base}x{k}" for k in range(2)] if i % 10 == 9 else [base]

    def call(self, client: Any, i: int, timeout: float) -> Any:
        """Invoke the method (a result for the blocking client, an awaitable otherwise)."""
        ids = self.ids(i)
        if self.exchange == "okx":
            if len(ids) > 1:
                orders = [dict(_OKX_ORDER, clOrdId=c) for c in ids]
                return client.submit_multiple_orders(orders, timeout=timeout)
            return client.submit_new_order(**_OKX_ORDER, clOrdId=ids[0], timeout=timeout)
        if len(ids) > 1:
            orders = [dict(_KC_FUT, clientOid=c) for c in ids]
            return client.submit_multiple_futures_orders(orders, timeout=timeout)
        if i % 10 >= 6:
            return client.submit_futures_order(**_KC_FUT, clientOid=ids[0], timeout=timeout)
        return client.submit_new_spot_order(**_KC_SPOT, clientOid=ids[0], timeout=timeout)


def received_ids(exchange: str, received: list[dict[str, Any]]) -> Counter[str]:
    """How often the exchange received each client order id in an order-placing request."""
    seen: Counter[str] = Counter()
    field_name = "clOrdId" if exchange == "okx" else "clientOid"
    for r in received:
        args = r.get("args")
        items = args if isinstance(args, list) else [args]
        for item in items:
            if isinstance(item, dict) and item.get(field_name):
                seen[item[field_name]] += 1
    return seen


# -- one run: N calls through one facade ----------------------------------------------------
@dataclass
class RunResult:
    exchange: str
    facade: str
    requests: int
    plan: Plan
    codes: bytearray
    outcomes: Counter[str] = field(default_factory=Counter)
    hung: int = 0
    worst_overshoot: float = 0.0  # seconds past the deadline, worst call
    untyped: list[str] = field(default_factory=list)
    late_responses: int = 0
    pending_after: int = -1
    elapsed: float = 0.0
    resolve: bool = True
    resolved_events: int = 0
    longest_resolved: float = 0.0  # seconds, the slowest call a lookup settled

    def unknown_by_kind(self) -> Counter[str]:
        """Calls that ended "outcome unknown", by what they placed."""
        out: Counter[str] = Counter()
        for i, code in enumerate(self.codes):
            if code in UNKNOWN_CODES:
                out[self.plan.kind(i)] += 1
        return out

    def violations(self, seen: Counter[str], existing: set[str] | None = None) -> dict[str, int]:
        """What must never happen, counted (every value must be 0).

        ``existing``: the client ids of the orders the exchange holds, when known.
        """
        dup = sum(1 for i in range(self.requests) for c in self.plan.ids(i) if seen[c] > 1)
        unsent_but_received = ok_not_received = unfinished = refuted_but_there = 0
        for i, code in enumerate(self.codes):
            if code == PENDING:
                unfinished += 1
            elif code == TIMEOUT_UNSENT and any(seen[c] for c in self.plan.ids(i)):
                unsent_but_received += 1
            elif code in (OK, OK_RESOLVED) and not all(seen[c] for c in self.plan.ids(i)):
                ok_not_received += 1
            elif (
                code == NOT_EXECUTED
                and existing is not None
                and all(c in existing for c in self.plan.ids(i))
            ):
                refuted_but_there += 1
        return {
            "hung calls": self.hung,
            "duplicates": dup,
            "untyped errors": len(self.untyped),
            "calls without an outcome": unfinished,
            "said not sent, yet received": unsent_but_received,
            "succeeded, yet not received": ok_not_received,
            "said not executed, yet placed": refuted_but_there,
            "pending after the run": self.pending_after,
        }


def _classify(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, NotExecutedError):
        return NOT_EXECUTED, "NotExecutedError"
    if isinstance(exc, RequestTimeoutError):
        return (
            (TIMEOUT_SENT, "RequestTimeoutError(sent)")
            if exc.sent
            else (
                TIMEOUT_UNSENT,
                "RequestTimeoutError(not sent)",
            )
        )
    if isinstance(exc, ConnectionLostError):
        return LOST, "ConnectionLostError"
    if isinstance(exc, ExchangeError):
        return REFUSED, type(exc).__name__
    if isinstance(exc, ClientClosedError):
        return CLOSED, "ClientClosedError"
    if isinstance(exc, ValidationError):
        return INVALID, "ValidationError"
    if isinstance(exc, OkxkcError):
        return OTHER, type(exc).__name__
    return UNTYPED, f"UNTYPED {type(exc).__name__}"


class _Tally:
    """Per-call bookkeeping shared by the callers of one run (threads or tasks)."""

    def __init__(self, result: RunResult, timeout: float) -> None:
        self.r = result
        self.timeout = timeout
        # A call that loses its reply may run on for its lookups, up to the grace.
        self.allowed = timeout + (GRACE if result.resolve else 0.0)
        self.lock = threading.Lock()

    def record(self, i: int, elapsed: float, exc: BaseException | None, res: Any = None) -> None:
        looked_up = False
        if exc is None:
            looked_up = getattr(res, "resolved_by", None) == "lookup"
            code, name = (OK_RESOLVED, "ok (found by lookup)") if looked_up else (OK, "ok")
        else:
            code, name = _classify(exc)
            looked_up = getattr(exc, "lookup", None) is not None
        over = elapsed - self.allowed
        with self.lock:
            r = self.r
            r.codes[i] = code
            r.outcomes[name] += 1
            if code == UNTYPED and len(r.untyped) < 20:
                r.untyped.append(repr(exc))
            if over > r.worst_overshoot:
                r.worst_overshoot = over
            if over > SLACK:
                r.hung += 1
            if looked_up and elapsed > r.longest_resolved:
                r.longest_resolved = elapsed


def make_client(
    exchange: str, facade: str, ws_url: str, rest_url: str, resolve: bool = True
) -> Any:
    common: dict[str, Any] = dict(
        base_ws_url=ws_url,
        base_rest_url=rest_url,
        attach_event_listeners=False,
        reconnect_timeout=0.02,
        reconnect_max=0.2,
        resolve_unknown=resolve,
        settle_time=SETTLE,
        resolve_grace=GRACE,
    )
    if exchange == "okx":
        cls: Any = okx.AsyncWebsocketAPIClient if facade == "async" else okx.WebsocketAPIClient
        return cls(accounts=[OKX_KEY], **common)
    cls = kc.AsyncWebsocketAPIClient if facade == "async" else kc.WebsocketAPIClient
    return cls(**KC_KEY, **common)


def run(
    exchange: str,
    facade: str,
    ws_url: str,
    rest_url: str,
    requests: int,
    *,
    concurrency: int = 64,
    threads: int = 32,
    timeout: float = 1.0,
    prefix: str = "s",
    before_faults: Callable[[], None] | None = None,
    after_calls: Callable[[Any], None] | None = None,
    resolve: bool = True,
) -> RunResult:
    """Make ``requests`` calls through one facade and close the client; blocking.

    ``before_faults()`` runs after the warm-up call (turn the faults on there);
    ``after_calls(client)`` runs after the last call, before the client is closed;
    ``resolve``: the client's ``resolve_unknown``.
    """
    plan = Plan(exchange, prefix)
    result = RunResult(exchange, facade, requests, plan, bytearray(requests), resolve=resolve)
    tally = _Tally(result, timeout)
    warm = Plan(exchange, prefix + "w")
    if facade == "async":
        asyncio.run(
            _run_async(
                exchange,
                ws_url,
                rest_url,
                plan,
                warm,
                tally,
                concurrency,
                before_faults,
                after_calls,
            )
        )
    else:
        _run_sync(
            exchange, ws_url, rest_url, plan, warm, tally, threads, before_faults, after_calls
        )
    return result


def _count_late(client: Any, result: RunResult) -> None:
    def late(_payload: dict[str, Any]) -> None:
        result.late_responses += 1  # one dispatcher thread: no race

    def resolved(_payload: dict[str, Any]) -> None:
        result.resolved_events += 1

    client.get_ws_client().on("late_response", late)
    client.get_ws_client().on("resolved", resolved)


async def _run_async(
    exchange: str,
    ws_url: str,
    rest_url: str,
    plan: Plan,
    warm: Plan,
    tally: _Tally,
    concurrency: int,
    before_faults: Callable[[], None] | None,
    after_calls: Callable[[Any], None] | None,
) -> None:
    r = tally.r
    client = make_client(exchange, "async", ws_url, rest_url, r.resolve)
    _count_late(client, r)
    try:
        await client.connect_ws_api()
        await warm.call(client, 0, 10.0)  # OKX: instrument codes cached before faults
        if before_faults is not None:
            before_faults()
        indices = iter(range(r.requests))
        timeout = tally.timeout

        async def caller() -> None:
            for i in indices:
                t0 = time.monotonic()
                try:
                    res = await plan.call(client, i, timeout)
                except Exception as exc:
                    tally.record(i, time.monotonic() - t0, exc)
                else:
                    tally.record(i, time.monotonic() - t0, None, res)

        t0 = time.monotonic()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        r.elapsed = time.monotonic() - t0
        r.pending_after = client.pending_requests()
        if after_calls is not None:
            after_calls(client)
    finally:
        await client.close()


def _run_sync(
    exchange: str,
    ws_url: str,
    rest_url: str,
    plan: Plan,
    warm: Plan,
    tally: _Tally,
    threads: int,
    before_faults: Callable[[], None] | None,
    after_calls: Callable[[Any], None] | None,
) -> None:
    r = tally.r
    client = make_client(exchange, "sync", ws_url, rest_url, r.resolve)
    _count_late(client, r)
    try:
        client.connect_ws_api()
        warm.call(client, 0, 10.0)
        if before_faults is not None:
            before_faults()
        indices = itertools.count()  # next() is atomic: threads share it
        n = r.requests
        timeout = tally.timeout

        def caller() -> None:
            while (i := next(indices)) < n:
                t0 = time.monotonic()
                try:
                    res = plan.call(client, i, timeout)
                except Exception as exc:
                    tally.record(i, time.monotonic() - t0, exc)
                else:
                    tally.record(i, time.monotonic() - t0, None, res)

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="soak") as pool:
            for f in [pool.submit(caller) for _ in range(threads)]:
                f.result()
        r.elapsed = time.monotonic() - t0
        r.pending_after = client.pending_requests()
        if after_calls is not None:
            after_calls(client)
    finally:
        client.close()


# -- the simulators' process -------------------------------------------------------------------
def _serve(conn: Any, faults: dict[str, Any]) -> None:
    """Child process: both simulators on one loop; answers 'faults', 'report', 'stop'."""
    from okxkc.testing.kucoin import KucoinSimulator
    from okxkc.testing.okx import OkxSimulator

    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()

    async def main() -> None:
        sims = {
            "okx": OkxSimulator(rate_limits=False, keep_closed=1000),
            "kucoin": KucoinSimulator(rate_limits=False, keep_closed_orders=1000),
        }
        for s in sims.values():
            await s.start()
        conn.send({name: (s.ws_url, s.url) for name, s in sims.items()})
        while True:
            while not conn.poll():
                await asyncio.sleep(0.05)
            cmd, arg = conn.recv()
            if cmd == "faults":
                sims[arg].faults.random(**faults)
                conn.send(None)
            elif cmd == "calm":
                sims[arg].faults.clear()
                conn.send(None)
            elif cmd == "report":
                s = sims[arg]
                id_field = "clOrdId" if arg == "okx" else "clientOid"
                existing = {o.get(id_field) for o in s.orders()}
                conn.send(
                    (
                        received_ids(arg, s.received),
                        dict(s.faults.injected),
                        dict(s.stats),
                        existing,
                    )
                )
                s.received.clear()  # each report covers one run
                s.faults.injected.clear()
            elif cmd == "stop":
                break
        for s in sims.values():
            await s.stop()

    loop.run_until_complete(main())
    conn.send("stopped")


# -- the command line ------------------------------------------------------------------------------
def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=100_000, help="total calls (split evenly)")
    ap.add_argument("--exchange", choices=("okx", "kucoin", "both"), default="both")
    ap.add_argument("--facade", choices=("sync", "async", "both"), default="both")
    ap.add_argument(
        "--resolve",
        choices=("on", "off", "both"),
        default="both",
        help="resolve_unknown of the clients (both: before/after table)",
    )
    ap.add_argument("--concurrency", type=int, default=64, help="async callers")
    ap.add_argument("--threads", type=int, default=32, help="blocking callers (threads)")
    ap.add_argument("--timeout", type=float, default=1.0, help="per-call timeout (s)")
    ap.add_argument("--drop", type=float, default=0.0005, help="P(socket dropped at a request)")
    ap.add_argument("--swallow", type=float, default=0.003, help="P(reply never sent)")
    ap.add_argument("--delay", type=float, default=0.01, help="P(reply delayed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true", help="show okxkc's warnings")
    args = ap.parse_args(argv)
    if not args.verbose:  # thousands of "connection lost" warnings are the point here
        logging.getLogger("okxkc").addHandler(logging.NullHandler())
        logging.getLogger("okxkc").propagate = False

    exchanges = ["okx", "kucoin"] if args.exchange == "both" else [args.exchange]
    facades = ["async", "sync"] if args.facade == "both" else [args.facade]
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.resolve]
    runs = [(e, f, m) for m in modes for e in exchanges for f in facades]
    per_run = max(1, args.requests // len(runs))
    faults = dict(
        drop=args.drop,
        swallow=args.swallow,
        delay=args.delay,
        # a third of the delayed replies arrive after the deadline (late responses)
        delay_range=(0.0, args.timeout * 1.5),
        seed=args.seed,
    )

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, faults), daemon=True)
    proc.start()
    urls = parent.recv()

    def ask(cmd: str, arg: Any = None) -> Any:
        parent.send((cmd, arg))
        return parent.recv()

    # Warm up (imports, engine thread, caches) so RSS growth means growth.
    for e in exchanges:
        for f in facades:
            run(e, f, *urls[e], 50, prefix=f"w{e[0]}{f[0]}", concurrency=8, threads=4)
            ask("report", e)
    gc.collect()
    rss_before = rss_mib()

    results: list[RunResult] = []
    violations: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    t_start = time.monotonic()
    for e, f, m in runs:
        r = run(
            e,
            f,
            *urls[e],
            per_run,
            concurrency=args.concurrency,
            threads=args.threads,
            timeout=args.timeout,
            prefix=f"s{e[0]}{f[0]}{int(m)}",
            before_faults=lambda e=e: ask("faults", e),  # type: ignore[misc]
            resolve=m,
        )
        ask("calm", e)
        seen, inj, _stats, existing = ask("report", e)
        injected.update(inj)
        violations.update(r.violations(seen, existing))
        del seen, existing
        results.append(r)
        gc.collect()
        print(
            f"  {e:6} {f:5} resolve {'on ' if m else 'off'} {per_run:>7} calls in "
            f"{r.elapsed:6.1f} s ({per_run / r.elapsed:,.0f}/s), worst end "
            f"{r.worst_overshoot:+.3f} s vs allowed, RSS {rss_mib():.1f} MiB",
            flush=True,
        )
    total_elapsed = time.monotonic() - t_start
    gc.collect()
    rss_after = rss_mib()
    ask("stop")
    proc.join(10)

    total = sum(r.requests for r in results)
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r.outcomes)
    late = sum(r.late_responses for r in results)
    run_names = ", ".join(f"{e} {f} resolve {'on' if m else 'off'}" for e, f, m in runs)

    def row(label: str, value: object) -> None:
        print(f"{label + ':':<30}{value}")

    row("requests", f"{total:,} ({len(runs)} runs of {per_run:,}: {run_names})")
    row("elapsed", f"{total_elapsed:.1f} s ({total / total_elapsed:,.0f} calls/s)")
    row(
        "faults injected",
        ", ".join(f"{k} {v:,}" for k, v in sorted(injected.items()))
        + f" (P: drop={args.drop}, swallow={args.swallow}, delay={args.delay})",
    )
    row("outcomes", ", ".join(f"{k} {v:,}" for k, v in outcomes.most_common()))
    row("late responses", f"{late:,} (emitted as 'late_response' before the client closed)")
    print()
    print(outcome_table(results))
    print()
    row(
        "hung calls",
        f"{violations['hung calls']} (ended > {SLACK} s past the deadline, + {GRACE} s "
        "lookup grace when resolving)",
    )
    row("duplicates", f"{violations['duplicates']} (client ids the exchange saw twice)")
    for k in (
        "untyped errors",
        "calls without an outcome",
        "said not sent, yet received",
        "succeeded, yet not received",
        "said not executed, yet placed",
        "pending after the run",
    ):
        row(k, violations[k])
    for r in results:
        for u in r.untyped[:5]:
            print(f"  untyped ({r.exchange} {r.facade}): {u}")
    row(
        "RSS",
        f"before {rss_before:.1f} MiB, after {rss_after:.1f} MiB, "
        f"growth {rss_after - rss_before:+.1f} MiB",
    )
    bad = {k: v for k, v in violations.items() if v}
    if bad:
        print(f"FAILED: {bad}")
        return 1
    print("OK: every call ended in a result or a typed okxkc error within its deadline")
    return 0


def outcome_table(results: list[RunResult]) -> str:
    """Calls that ended "outcome unknown" with resolution off (before) and on (after), by
    exchange and kind of order; what the lookups settled; the slowest settled call."""
    lines = [
        "| exchange | order kind | resolve_unknown | calls | ended unknown | found by lookup "
        "| NotExecutedError | longest resolved call |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str, bool], list[int]] = {}
    longest: dict[tuple[str, bool], float] = {}
    for r in results:
        key_l = (r.exchange, r.resolve)
        longest[key_l] = max(longest.get(key_l, 0.0), r.longest_resolved)
        for i, code in enumerate(r.codes):
            g = groups.setdefault((r.exchange, r.plan.kind(i), r.resolve), [0, 0, 0, 0])
            g[0] += 1
            g[1] += code in UNKNOWN_CODES
            g[2] += code == OK_RESOLVED
            g[3] += code == NOT_EXECUTED
    for (exchange, kind, resolve), (n, unknown, found, refuted) in sorted(groups.items()):
        slow = longest.get((exchange, resolve), 0.0)
        lines.append(
            f"| {exchange} | {kind} | {'on' if resolve else 'off'} | {n:,} | {unknown:,} "
            f"| {found:,} | {refuted:,} | {f'{slow:.2f} s' if resolve and slow else '-'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
