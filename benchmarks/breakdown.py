"""Where okxkc's per-order cost goes: each part of the hot path on its own, in time
and in interpreter instructions, next to what the bare floor does for the same job.

    python benchmarks/breakdown.py                    # times only (seconds)
    python benchmarks/breakdown.py --instructions     # and instruction counts (minutes)

Parts (OKX ``order``, engine-loop mode, as in ``run.py``):

- ``facade``: the generated ``AsyncWebsocketAPIClient.submit_new_order`` with its
  argument handling, validation and coroutine layers, up to the engine's
  ``ClientCore.send`` (replaced by a no-op, so no socket);
- ``validation``: ``validate_item`` alone;
- ``engine``: the engine's own bookkeeping without the socket: request id, encoding
  the frame, correlator entry (future + deadline) and its removal, decoding the reply
  in one pass (``classify``) into the typed result (``finish_reply``);
- ``floor-engine``: the bare floor's equivalent (encode, a future in a dict, decode,
  code check);
- ``roundtrip`` / ``floor-roundtrip``: one whole sequential order to the simulator
  (started here, in its own process) by okxkc in engine-loop mode and by the bare
  uvloop floor: every instruction the client side spends per order.

Times are the best of ``--repeat`` runs of ``--n`` calls: wall µs and process CPU µs
per call. Instruction counts come from ``valgrind --tool=callgrind`` (else
``perf stat -e instructions`` where the machine exposes the counter), in fresh
processes with N and 3N calls of a part after the same warm-up; the count
is (I(3N) - I(N)) / 2N, so start-up cancels out (one base process runs every part N
times, one more per part runs that part 3N times). They are the same for the same code
whatever else the machine does, which is what a before/after check on a shared
machine needs. A part whose okxkc internals changed shape is reported as not
measured instead of failing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

KEY = {"apiKey": "okxkc-test-key", "apiSecret": "okxkc-test-secret", "apiPass": "okxkc-test-pass"}
PARAMS = {
    "instIdCode": 100001,
    "tdMode": "cash",
    "side": "buy",
    "ordType": "ioc",
    "px": "20000",
    "sz": "0.01",
}
REPLY = (
    b'{"id":"%s","op":"order","code":"0","msg":"","data":[{"ordId":"700000000000001002",'
    b'"clOrdId":"","tag":"","ts":"1795319833422","sCode":"0","sMsg":"Order successfully '
    b'placed.","subCode":""}],"inTime":"1795319833422387","outTime":"1795319833422450"}'
)

Run = Callable[[int], Awaitable[None]]

PARTS: dict[str, str] = {
    "facade": "okxkc: generated method, argument handling, validation, up to ClientCore.send",
    "validation": "okxkc: validate_item alone",
    "engine": "okxkc: id + encode + correlator add/pop + reply decode to the typed result",
    "floor-engine": "floor: encode + future in a dict + decode + code check",
    "roundtrip": "okxkc engine-loop mode: one whole order to the simulator, client side",
    "floor-roundtrip": "bare uvloop floor: one whole order to the simulator, client side",
}
ROUNDTRIP = ("roundtrip", "floor-roundtrip")


class NotMeasured(Exception):
    """okxkc's internals no longer have the shape this part measures."""


# What the parts opened, closed once the measuring is done.
_OPENED: list[Callable[[], Awaitable[None]]] = []


async def close_all() -> None:
    while _OPENED:
        await _OPENED.pop()()


# -- the parts: each returns run(n), which makes n calls on the running (engine) loop --------


async def part_facade(server: dict[str, Any]) -> Run:
    from okxkc.okx import AsyncWebsocketAPIClient

    client = AsyncWebsocketAPIClient(
        accounts=[KEY], base_ws_url="ws://127.0.0.1:9", request_timeout=1
    )
    _OPENED.append(client.close)
    core = client._core
    if not hasattr(core, "send"):
        raise NotMeasured("ClientCore.send is gone")
    seen = [0]

    async def request(idx: int, meta: Any) -> None:
        seen[0] += 1

    # What the resolver awaits for every call (ClientCore.request awaits it too).
    core.send = request
    submit = client.submit_new_order

    async def run(n: int) -> None:
        before = seen[0]
        for _ in range(n):
            await submit(**PARAMS)
        if seen[0] - before != n:
            raise NotMeasured("the facade no longer goes through ClientCore.send")

    return run


async def part_validation(server: dict[str, Any]) -> Run:
    try:
        from okxkc._ops import validate_item
        from okxkc.okx._base import operation
    except ImportError as exc:
        raise NotMeasured(repr(exc)) from None
    op = operation("submit_new_order")

    async def run(n: int) -> None:
        for _ in range(n):
            validate_item(op, PARAMS)

    return run


async def part_engine(server: dict[str, Any]) -> Run:
    try:
        from okxkc._engine.correlator import Correlator
        from okxkc.okx import AsyncWebsocketAPIClient
        from okxkc.okx._base import operation
    except ImportError as exc:
        raise NotMeasured(repr(exc)) from None
    client = AsyncWebsocketAPIClient(accounts=[KEY], base_ws_url="ws://127.0.0.1:9")
    _OPENED.append(client.close)
    core = client._core
    adapter = core.adapter
    _, meta = client._prepare(operation("submit_new_order"), PARAMS, None, None, None, None)
    loop = asyncio.get_running_loop()
    corr = Correlator(loop)
    if not hasattr(adapter, "finish_reply"):
        raise NotMeasured("the adapter has no finish_reply")
    encode, classify, finish = adapter.encode, adapter.classify, adapter.finish_reply
    next_id = core.next_id

    async def run(n: int) -> None:
        deadline = loop.time() + 30
        for _ in range(n):
            rid = next_id()
            encode(rid, meta.op, meta.args, meta.extras)
            corr.add(rid, meta, 1, deadline, lambda e: TimeoutError())
            if finish(meta, classify(REPLY % rid.encode()), "private") is None:
                raise NotMeasured("the reply was not read in one pass")
            entry = corr.pop(rid)
            entry.future.cancel()

    return run


async def part_floor_engine(server: dict[str, Any]) -> Run:
    loop = asyncio.get_running_loop()
    encode, decode = msgspec.json.encode, msgspec.json.decode
    pending: dict[str, asyncio.Future[Any]] = {}
    counter = [0]

    async def run(n: int) -> None:
        for _ in range(n):
            counter[0] += 1
            rid = "b" + str(counter[0])
            encode({"id": rid, "op": "order", "args": [PARAMS]})
            pending[rid] = loop.create_future()
            reply = decode(REPLY % rid.encode())
            pending.pop(reply["id"]).cancel()
            if reply.get("code") != "0":
                raise RuntimeError

    return run


async def _roundtrip(make: Callable[[dict[str, Any]], Any], server: dict[str, Any]) -> Run:
    client = make(dict(server, kucoin_op="spot"))
    await client.open()
    _OPENED.append(client.close)
    order = client.order

    async def run(n: int) -> None:
        for _ in range(n):
            await order()

    return run


async def part_roundtrip(server: dict[str, Any]) -> Run:
    from clients import OkxkcAsync

    return await _roundtrip(lambda plan: OkxkcAsync("okx", plan), server)


async def part_floor_roundtrip(server: dict[str, Any]) -> Run:
    from clients import FloorOwnLoop

    return await _roundtrip(lambda plan: FloorOwnLoop("okx", plan), server)


MAKERS: dict[str, Callable[[dict[str, Any]], Awaitable[Run]]] = {
    "facade": part_facade,
    "validation": part_validation,
    "engine": part_engine,
    "floor-engine": part_floor_engine,
    "roundtrip": part_roundtrip,
    "floor-roundtrip": part_floor_roundtrip,
}


# -- times, in this process ------------------------------------------------------------------


async def time_parts(
    names: list[str], server: dict[str, Any], n: int, repeat: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        calls = n // 10 if name in ROUNDTRIP else n
        try:
            run = await MAKERS[name](server)
            await run(min(calls, 500))  # warm-up
            best_wall = best_cpu = float("inf")
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                await run(calls)
                best_wall = min(best_wall, (time.perf_counter() - t) / calls * 1e6)
                best_cpu = min(best_cpu, (time.process_time() - c) / calls * 1e6)
            out[name] = {"wall_us": best_wall, "cpu_us": best_cpu, "calls": calls}
        except Exception as exc:
            out[name] = {"error": repr(exc)}
    await close_all()
    return out


# -- instruction counts, one fresh process per (part, calls) -----------------------------------


def counter() -> tuple[str, list[str]] | None:
    """(name, command prefix) of the instruction counter this machine has, if any."""
    if shutil.which("valgrind"):
        # cachegrind without its cache simulation: counts instructions, about twice as
        # fast as callgrind.
        return "valgrind cachegrind", [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ]
    if shutil.which("perf"):
        probe = subprocess.run(
            ["perf", "stat", "-x,", "-e", "instructions:u", "true"], capture_output=True, text=True
        )
        if probe.returncode == 0 and "not supported" not in probe.stderr:
            return "perf stat", ["perf", "stat", "-x,", "-e", "instructions:u"]
    return None


def _count(prefix: list[str], calls: dict[str, int], server_file: str) -> int:
    spec = ",".join(f"{name}={k}" for name, k in calls.items())
    cmd = [*prefix, sys.executable, __file__, "--part", spec]
    if server_file:
        cmd += ["--server", server_file]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
        raise RuntimeError(f"exit {proc.returncode}: {tail}")
    m = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr) or re.search(
        r"^([\d,]+),,instructions", proc.stderr, re.M
    )
    if m is None:
        raise RuntimeError("no instruction count in the counter's output")
    return int(m.group(1).replace(",", ""))


def count_parts(
    names: list[str], prefix: list[str], server_file: str, n: int, jobs: int
) -> dict[str, Any]:
    """Instructions per call of each part: one process runs every part N times (the
    base), and one more per part runs that part 3N times and the others N times; the
    difference from the base, over 2N, is that part's count."""
    base = {name: n // 5 if name in ROUNDTRIP else n for name in names}
    plans = {"": base, **{name: dict(base, **{name: 3 * base[name]}) for name in names}}
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = {k: pool.submit(_count, prefix, plan, server_file) for k, plan in plans.items()}
    out: dict[str, Any] = {}
    try:
        i_base = futures[""].result()
    except Exception as exc:
        return {name: {"error": str(exc)} for name in names}
    for name in names:
        try:
            extra = futures[name].result() - i_base
            out[name] = {
                "instructions": extra / (2 * base[name]),
                "calls": (base[name], 3 * base[name]),
            }
        except Exception as exc:
            out[name] = {"error": str(exc)}
    return out


def part_process(spec: str, server_file: str | None) -> int:
    """Run each named part its number of calls after a fixed warm-up (what is counted)."""
    import okxkc

    server = json.loads(Path(server_file).read_text()) if server_file else {}
    calls = {name: int(k) for name, k in (item.split("=") for item in spec.split(","))}

    async def main() -> None:
        for name, k in calls.items():
            try:
                run = await MAKERS[name](server)
            except NotMeasured:
                continue  # the same in every process: counts as start-up
            await run(200)
            await run(k)
        await close_all()

    okxkc.run(main())
    return 0


# -- report --------------------------------------------------------------------------------


def table(times: dict[str, Any], counts: dict[str, Any] | None, how: str) -> str:
    lines = [
        "| part | what | wall µs | CPU µs | instructions |",
        "|---|---|---:|---:|---:|",
    ]
    for name, what in PARTS.items():
        t = times.get(name)
        if t is None:
            continue
        if "error" in t:
            lines.append(f"| `{name}` | {what} | not measured: {t['error']} | | |")
            continue
        c = (counts or {}).get(name) or {}
        ins = f"{c['instructions']:,.0f}" if "instructions" in c else c.get("error", "—")
        lines.append(f"| `{name}` | {what} | {t['wall_us']:.2f} | {t['cpu_us']:.2f} | {ins} |")
    lines.append("")
    lines.append(f"Instructions per call: {how}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=20000, help="calls per timed run (roundtrips: n/10)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset")
    parser.add_argument("--instructions", action="store_true", help="count instructions too")
    parser.add_argument("--count-n", type=int, default=1000, help="N of the N / 3N counted runs")
    parser.add_argument("--jobs", type=int, default=2, help="counted processes at a time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        return part_process(args.part, args.server)
    names = [p.strip() for p in args.parts.split(",") if p.strip() in PARTS]
    import runner

    import okxkc

    with tempfile.TemporaryDirectory(prefix="okxkc-breakdown-") as tmp:
        server = (
            runner.Server(Path(tmp), runner.Pinning(False)) if set(names) & set(ROUNDTRIP) else None
        )
        server_file = str(Path(tmp) / "server.json") if server else ""
        try:
            info = server.info if server else {}
            times = okxkc.run(time_parts(names, info, args.n, args.repeat))
            counts, how = None, "not counted (--instructions)"
            if args.instructions:
                found = counter()
                if found is None:
                    how = "no counter on this machine (install valgrind)"
                else:
                    how = (
                        f"{found[0]}, (I(3N) - I(N)) / 2N with N = {args.count_n} (roundtrips N/5)"
                    )
                    counts = count_parts(names, found[1], server_file, args.count_n, args.jobs)
        finally:
            if server:
                server.stop()
    print(f"okxkc hot path per order (OKX order, engine-loop mode; best of {args.repeat})\n")
    print(table(times, counts, how))
    if args.json:
        args.json.write_text(
            json.dumps({"times": times, "instructions": counts, "how": how}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
