"""The ``okxkc`` command (also ``python -m okxkc``).

okxkc --version
okxkc demo                                   both exchanges, both facades, one table
okxkc sim [okx|kucoin|both] [--port N] ...   the simulated exchanges, until Ctrl-C
okxkc sim [okx|kucoin|both] --tls           over wss:// / https:// (prints the CA file)
okxkc call EXCHANGE OPERATION key=value ...  any operation of the tables, result as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._ops import Operation, Param
from ._version import __version__
from .errors import ExchangeError, OkxkcError, ValidationError
from .kucoin.operations import OPERATIONS as KUCOIN_OPERATIONS
from .okx.operations import OPERATIONS as OKX_OPERATIONS

__all__ = ["build_parser", "main", "parse_params"]

TEST_KEY = "okxkc-test-key"
TEST_SECRET = "okxkc-test-secret"
TEST_PASSPHRASE = "okxkc-test-pass"

EXCHANGES: dict[str, tuple[Operation, ...]] = {
    "okx": OKX_OPERATIONS,
    "kucoin": KUCOIN_OPERATIONS,
}
#: Exit code of a usage problem (argparse's) and of a missing credential.
USAGE = 2


# -- the parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okxkc",
        description="OKX and KuCoin WebSocket trading APIs as plain method calls.",
    )
    parser.add_argument("--version", action="version", version=f"okxkc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "demo",
        help="place, amend and cancel orders on both simulated exchanges, through both "
        "facades, and print a table of results and round trips",
        description="Runs both simulators and trades on them with the blocking and the "
        "awaitable client of each exchange; exits 0 when every step went as planned.",
    )
    _add_sim_parser(commands)
    _add_call_parser(commands)
    return parser


def _add_sim_parser(commands: Any) -> None:
    sim = commands.add_parser(
        "sim",
        help="run the simulated exchange(s) until Ctrl-C",
        description="Run the simulated OKX and/or KuCoin exchange on this machine until "
        "Ctrl-C or SIGTERM.",
    )
    sim.add_argument("exchange", nargs="?", choices=("okx", "kucoin", "both"), default="both")
    sim.add_argument(
        "--port",
        type=int,
        default=0,
        help="port to listen on (default: a free one); with 'both', KuCoin takes PORT+1",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--api-key", help="accept this API key (default: the test credentials)")
    sim.add_argument("--api-secret")
    sim.add_argument("--api-passphrase")
    sim.add_argument("--no-rate-limits", action="store_true", help="turn rate limits off")
    sim.add_argument(
        "--fast",
        action="store_true",
        help="for benchmarks: no request log (record=False) and no rate limits",
    )
    sim.add_argument(
        "--tls",
        action="store_true",
        help="serve wss:// and https:// with a certificate from a throwaway CA "
        "made at start; the CA's .pem file is printed (trust it in the client, e.g. "
        "SSL_CERT_FILE=... for python-okx, which speaks only wss://); needs trustme "
        "(pip install 'okxkc[tls]')",
    )
    sim.add_argument(
        "--sprd-times",
        action="store_true",
        help="OKX only: add inTime/outTime to mass-cancel and sprd-* replies too; OKX's "
        "docs show them only on the other ops, but the Node okx-api SDK expects them on "
        "every WS API reply",
    )


def _add_call_parser(commands: Any) -> None:
    call = commands.add_parser(
        "call",
        help="run one operation (e.g. 'call okx submit_new_order instId=BTC-USDT ...')",
        description="Run any operation of the operation tables and print the reply as JSON. "
        "Credentials come from OKXKC_<EXCHANGE>_API_KEY, _API_SECRET and _API_PASSPHRASE.",
    )
    exchanges = call.add_subparsers(dest="exchange", metavar="EXCHANGE", required=True)
    for name, operations in EXCHANGES.items():
        prefix = f"OKXKC_{name.upper()}_"
        ex = exchanges.add_parser(
            name,
            help=f"an operation on {_label(name)}",
            description=f"Operations on {_label(name)} (credentials from {prefix}API_KEY, "
            f"{prefix}API_SECRET, {prefix}API_PASSPHRASE; '... OPERATION --help' lists an "
            "operation's fields).",
        )
        ops = ex.add_subparsers(dest="operation", metavar="OPERATION", required=True)
        for op in operations:
            _add_operation_parser(ops, name, op)


def _add_operation_parser(ops: Any, exchange: str, op: Operation) -> None:
    p = ops.add_parser(
        op.method,
        help=op.doc,
        description=f"{op.doc}\n\n{_label(exchange)} op {op.op!r} on the {op.ws_key!r} socket.",
        epilog=_fields_help(op),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(op=op)
    p.add_argument(
        "params",
        nargs="*",
        metavar="key=value",
        help=f"{op.collection}='[{{...}}, ...]' (a JSON list)"
        if op.batch
        else "the operation's fields (listed below)",
    )
    env = f"OKXKC_{exchange.upper()}_"
    p.add_argument(
        "--ws-url", help=f"WebSocket base URL (default: ${env}WS_URL, else the exchange)"
    )
    p.add_argument("--rest-url", help=f"REST base URL (default: ${env}REST_URL, else the exchange)")
    p.add_argument("--timeout", type=float, help="seconds to wait for the reply")
    if not op.batch:
        p.add_argument(
            "--extra",
            action="append",
            default=[],
            metavar="key=value",
            help="a field the table does not list, sent as given (repeatable)",
        )
    if exchange == "okx":
        p.add_argument("--market", choices=("prod", "EEA", "US"), help="OKX site (default prod)")
        p.add_argument("--demo-trading", action="store_true", help="OKX demo trading")
        if op.exp_time:
            p.add_argument("--exp-time", type=int, help="request expiry, ms from sending")
    p.add_argument("-v", "--verbose", action="store_true", help="log connection events to stderr")


def _label(exchange: str) -> str:
    return {"okx": "OKX", "kucoin": "KuCoin"}[exchange]


def _fields_help(op: Operation) -> str:
    width = max(len(p.name) for p in op.params)
    lines = []
    for param in op.params:
        kind = {"dec": "decimal", "str": "text", "strlist": "JSON list of text"}.get(
            param.kind, "JSON " + param.kind if param.kind in ("list", "obj") else param.kind
        )
        notes = [kind]
        if param.required:
            notes.append("required")
        if param.choices:
            notes.append("one of " + ", ".join(param.choices))
        if param.doc:
            notes.append(param.doc)
        lines.append(f"  {param.name.ljust(width)}  " + "; ".join(notes))
    head = f"fields of each item of {op.collection}" if op.batch else "fields"
    groups = [f"at least one of {', '.join(g)}" for g in op.one_of]
    tail = "\n" + "\n".join(textwrap.wrap("; ".join(groups), 88)) if groups else ""
    return f"{head}:\n" + "\n".join(lines) + tail


# -- call: key=value arguments -------------------------------------------------------------


def parse_value(param: Param | None, text: str) -> Any:
    """One ``key=value`` value: text and decimal fields keep the raw text (so
    ``px=20000`` is sent as ``"20000"`` and ``clOrdId=123`` stays text); other
    values are JSON when they parse (numbers, true/false, lists, objects), else text."""
    if param is not None and param.kind in ("str", "dec"):
        return text
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError:
        return text


def parse_params(op: Operation, pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` arguments as the operation's params.

    Raises ``ValueError`` for a malformed argument (a usage error) and
    :class:`ValidationError` for a bad batch (``orders=`` not a JSON list of objects).
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {pair!r}")
        if key in params:
            raise ValueError(f"{key} is given twice")
        if op.batch:
            params[key] = _parse_batch(op, key, text)
        elif key in op.fields:
            params[key] = parse_value(op.fields[key], text)
        else:
            raise ValidationError(
                key,
                f"is not a field of {op.op} (see '{op.method} --help'); "
                "pass unlisted fields with --extra key=value",
            )
    if op.batch and op.collection not in params:
        raise ValidationError(op.collection, f"{op.method} takes {op.collection}='[{{...}}, ...]'")
    return params


def parse_extra(pairs: Sequence[str]) -> dict[str, Any]:
    """``--extra key=value`` fields the table does not list, passed as ``extra_params``:
    numbers stay text (both exchanges take numbers as strings); true/false, lists and
    objects are JSON."""
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--extra: expected key=value, got {pair!r}")
        value = parse_value(None, text)
        is_number = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
        extra[key] = text if is_number else value
    return extra


def _parse_batch(op: Operation, key: str, text: str) -> Any:
    if key != op.collection:
        raise ValidationError(
            key, f"{op.method} takes only {op.collection}='[{{...}}, ...]' (a JSON list)"
        )
    try:
        # Decimals keep a price's exact text (20000.10 stays 20000.10).
        return json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise ValidationError(key, f"must be a JSON list of objects ({exc})") from None


def _credentials(exchange: str) -> tuple[dict[str, str], list[str]]:
    prefix = f"OKXKC_{exchange.upper()}_"
    names = ("API_KEY", "API_SECRET", "API_PASSPHRASE")
    values = {name: os.environ.get(prefix + name, "") for name in names}
    return values, [prefix + name for name, value in values.items() if not value]


def _make_client(args: argparse.Namespace, creds: Mapping[str, str]) -> Any:
    env = f"OKXKC_{args.exchange.upper()}_"
    options: dict[str, Any] = {
        "base_ws_url": args.ws_url or os.environ.get(env + "WS_URL") or None,
        "base_rest_url": args.rest_url or os.environ.get(env + "REST_URL") or None,
        "request_timeout": args.timeout,
        "attach_event_listeners": args.verbose,
    }
    if args.exchange == "okx":
        from .okx import WebsocketAPIClient as OkxClient

        account = {
            "apiKey": creds["API_KEY"],
            "apiSecret": creds["API_SECRET"],
            "apiPass": creds["API_PASSPHRASE"],
        }
        return OkxClient(
            accounts=[account],
            market=args.market,
            demo_trading=args.demo_trading or None,
            **options,
        )
    from .kucoin import WebsocketAPIClient as KucoinClient

    return KucoinClient(
        api_key=creds["API_KEY"],
        api_secret=creds["API_SECRET"],
        api_passphrase=creds["API_PASSPHRASE"],
        **options,
    )


def _invoke(
    client: Any, op: Operation, params: dict[str, Any], extra: dict[str, Any], exp_time: int | None
) -> Any:
    method: Callable[..., Any] = getattr(client, op.method)
    options: dict[str, Any] = {} if exp_time is None else {"exp_time": exp_time}
    if op.batch:
        return method(params[op.collection], **options)
    return method(**params, extra_params=extra or None, **options)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str), flush=True)


def run_call(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    op: Operation = args.op
    try:
        params = parse_params(op, args.params)
        extra = parse_extra(getattr(args, "extra", []))
    except ValidationError as exc:
        return _error(exc)
    except ValueError as exc:
        parser.error(str(exc))
    creds, missing = _credentials(args.exchange)
    if missing:
        print(f"error: missing credential: set {', '.join(missing)}", file=sys.stderr)
        return USAGE
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    client = None
    try:
        client = _make_client(args, creds)
        reply = _invoke(client, op, params, extra, getattr(args, "exp_time", None))
    except OkxkcError as exc:
        if isinstance(exc, ExchangeError) and exc.response:
            _print_json(dict(exc.response))  # a partly accepted batch: the accepted ids
        return _error(exc)
    finally:
        if client is not None:
            client.close()
    _print_json(reply.to_dict())
    return 0


def _error(exc: BaseException) -> int:
    print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1


# -- sim ---------------------------------------------------------------------------------


def _make_simulators(args: argparse.Namespace) -> list[Any]:
    from .testing.kucoin import KucoinCredential, KucoinSimulator
    from .testing.okx import OkxCredential, OkxSimulator

    key = args.api_key or TEST_KEY
    secret = args.api_secret or TEST_SECRET
    passphrase = args.api_passphrase or TEST_PASSPHRASE
    common = {
        "host": args.host,
        "record": not args.fast,
        "rate_limits": not (args.fast or args.no_rate_limits),
    }
    sims: list[Any] = []
    if args.exchange in ("okx", "both"):
        sims.append(
            OkxSimulator(
                credentials=[OkxCredential(key, secret, passphrase)],
                port=args.port,
                tls=args.tls,
                sprd_times=args.sprd_times,
                **common,
            )
        )
    if args.exchange in ("kucoin", "both"):
        port = args.port + 1 if args.port and args.exchange == "both" else args.port
        sims.append(
            KucoinSimulator(
                credentials=[KucoinCredential(key, secret, passphrase)],
                port=port,
                tls=args.tls,
                **common,
            )
        )
    return sims


def _announce(sim: Any, test_credentials: bool) -> None:
    print(f"{sim.name} simulator listening on {sim.url}", flush=True)
    if test_credentials:
        print(
            f"  test credentials: api key {TEST_KEY}, secret {TEST_SECRET}, "
            f"passphrase {TEST_PASSPHRASE}"
        )
    client = "okxkc.okx" if sim.name == "okx" else "okxkc.kucoin"
    # Listening on every address: clients on this machine use loopback (plain ws:// and
    # http:// carry credentials only to a loopback host).
    host = "127.0.0.1" if sim.host in ("0.0.0.0", "::", "") else sim.host
    if ":" in host:
        host = f"[{host}]"
    ws, http = ("wss", "https") if sim.tls else ("ws", "http")
    print(
        f"  point a client at it: {client}.WebsocketAPIClient(..., "
        f'base_ws_url="{ws}://{host}:{sim.port}", base_rest_url="{http}://{host}:{sim.port}")',
        flush=True,
    )
    if sim.ca_file is not None:
        print(f"  TLS certificate authority (trust it in clients): {sim.ca_file}", flush=True)


def _on_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (on the running loop)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))


async def serve(sims: Sequence[Any], test_credentials: bool) -> None:
    """Run the simulators on this loop until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    _on_stop_signals(stop)
    started: list[Any] = []
    try:
        for sim in sims:
            await sim.start()
            started.append(sim)
            _announce(sim, test_credentials)
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    finally:
        for sim in reversed(started):
            await sim.stop()


def run_sim(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    given = [args.api_key, args.api_secret, args.api_passphrase]
    if any(v is not None for v in given) and not all(given):
        parser.error("give --api-key, --api-secret and --api-passphrase together")
    if not 0 <= args.port <= (65534 if args.exchange == "both" else 65535):
        parser.error(f"--port {args.port} is out of range")
    if args.sprd_times and args.exchange != "okx":
        parser.error("--sprd-times is an option of the OKX simulator: okxkc sim okx --sprd-times")
    if args.tls:
        try:
            import trustme  # noqa: F401
        except ImportError:
            print(
                "error: --tls needs trustme: pip install 'okxkc[tls]'",
                file=sys.stderr,
            )
            return 1
    sims = _make_simulators(args)
    try:
        asyncio.run(serve(sims, test_credentials=args.api_key is None))
    except KeyboardInterrupt:  # Ctrl-C before the handlers were installed
        pass
    except OSError as exc:
        print(f"error: cannot listen on {args.host}: {exc}", file=sys.stderr)
        return 1
    return 0


# -- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        # ``call ... a=1 --timeout 5 b=2``: argparse leaves ``b=2`` over.
        if args.command != "call" or any(x.startswith("-") or "=" not in x for x in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        args.params = [*args.params, *extras]
    try:
        if args.command == "demo":
            from .demo import main as demo

            return demo()
        if args.command == "sim":
            return run_sim(args, parser)
        return run_call(args, parser)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # ``okxkc demo | head``
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
