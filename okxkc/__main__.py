"""``python -m okxkc``: ``demo`` (the main job), ``sim`` (the simulators), ``--version``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ._version import __version__


async def _serve(which: str, args: argparse.Namespace) -> None:
    from .testing.kucoin import KucoinCredential, KucoinSimulator
    from .testing.okx import OkxCredential, OkxSimulator

    record = not args.fast
    rate_limits = not (args.fast or args.no_rate_limits)
    custom = args.api_key is not None
    key = args.api_key or "okxkc-test-key"
    secret = args.api_secret or "okxkc-test-secret"
    passphrase = args.api_passphrase or "okxkc-test-pass"
    sims: list[tuple[str, OkxSimulator | KucoinSimulator]] = []
    if which in ("okx", "both"):
        port = args.port if which == "okx" else 0
        sims.append(
            (
                "okx",
                OkxSimulator(
                    credentials=[OkxCredential(key, secret, passphrase)],
                    host=args.host,
                    port=port or 0,
                    record=record,
                    rate_limits=rate_limits,
                ),
            )
        )
    if which in ("kucoin", "both"):
        port = args.port if which == "kucoin" else 0
        sims.append(
            (
                "kucoin",
                KucoinSimulator(
                    credentials=[KucoinCredential(key, secret, passphrase)],
                    host=args.host,
                    port=port or 0,
                    record=record,
                    rate_limits=rate_limits,
                ),
            )
        )
    for name, sim in sims:
        await sim.start()
        print(f"{name} simulator listening on {sim.url}", flush=True)
    if not custom:
        print(f"test credentials: api key {key}, secret {secret}, passphrase {passphrase}")
        print(
            "point a client at it with base_ws_url='ws://HOST:PORT' (and base_rest_url='http://HOST:PORT')"
        )
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for _, sim in sims:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="okxkc", description="OKX and KuCoin WebSocket trading APIs"
    )
    parser.add_argument("--version", action="version", version=f"okxkc {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="place, amend and cancel orders on both simulated exchanges")
    sim = sub.add_parser("sim", help="run the simulated exchanges until Ctrl-C")
    sim.add_argument("exchange", nargs="?", choices=("okx", "kucoin", "both"), default="both")
    sim.add_argument("--port", type=int, default=0)
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--api-key")
    sim.add_argument("--api-secret")
    sim.add_argument("--api-passphrase")
    sim.add_argument("--no-rate-limits", action="store_true")
    sim.add_argument(
        "--fast", action="store_true", help="no request log, no rate limits (benchmarks)"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        return run()
    if args.command == "sim":
        if (args.api_key is None) != (args.api_secret is None) or (args.api_key is None) != (
            args.api_passphrase is None
        ):
            parser.error("give --api-key, --api-secret and --api-passphrase together")
        asyncio.run(_serve(args.exchange, args))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
