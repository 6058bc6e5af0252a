"""Bad input, property-based: every op of both operation tables, through both facades,
against running simulators.

For any mix of valid values, wrong types, bad enums, malformed numbers, missing and
unknown fields and batches of 0-25 items, a call ends in one of three ways only: a
result, an ``ExchangeError`` from the exchange (the input was well-formed but wrong),
or a ``ValidationError`` naming a field the caller gave or the method has, with
nothing sent. And the simulator never sees a malformed request: every field it
receives has the JSON type the operation table gives it, numbers as exact decimal
strings equal to what the caller passed.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okxkc import kucoin as kc
from okxkc import okx
from okxkc._facade import CONTROL_KEYWORDS
from okxkc._ops import Operation, Param
from okxkc.errors import ExchangeError, RequestTimeoutError, ValidationError
from okxkc.kucoin.operations import OPERATIONS as KC_OPS
from okxkc.okx.operations import OPERATIONS as OKX_OPS
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import kucoin_options, okx_options

EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

SPREAD = "BTC-USDT_BTC-USDT-SWAP"
DECIMAL_WIRE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
INT64 = (-(2**63), 2**63 - 1)
CALL_KWARGS = ("extra_params", "account", "timeout", "exp_time")
# The simulators answer in well under a millisecond: a request they leave unanswered
# shows up as a RequestTimeoutError after this long, and fails the property.
REPLY_WITHIN = 2.0


# -- simulators and clients, shared by the module ------------------------------------
class Rig:
    """A simulator, a sync and an async client on it, and a private loop for the latter."""

    def __init__(self, sim: Any, sync: Any, asyn: Any) -> None:
        self.sim = sim
        self.clients = {"sync": sync, "async": asyn}
        self.runner = asyncio.Runner()

    def call(self, kind: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = getattr(self.clients[kind], method)
        if kind == "sync":
            return fn(*args, **kwargs)
        return self.runner.run(fn(*args, **kwargs))

    def close(self) -> None:
        self.clients["sync"].close()
        self.runner.run(self.clients["async"].close())
        self.runner.close()

    def fresh(self, kind: str, make: Callable[..., Any]) -> Rig:
        """Clients of their own on the same simulator, for a test that must not inherit
        what the random examples left in the shared clients (cached instrument codes,
        sockets mid-handover)."""
        return Rig(self.sim, make(False), make(True))


@pytest.fixture(scope="module")
def okx_rig() -> Iterator[Rig]:
    with OkxSimulator(rate_limits=False) as sim:
        rig = Rig(
            sim,
            okx.WebsocketAPIClient(**okx_options(sim, request_timeout=REPLY_WITHIN)),
            okx.AsyncWebsocketAPIClient(**okx_options(sim, request_timeout=REPLY_WITHIN)),
        )
        yield rig
        rig.close()


@pytest.fixture(scope="module")
def kucoin_rig() -> Iterator[Rig]:
    with KucoinSimulator(rate_limits=False) as sim:
        rig = Rig(
            sim,
            kc.WebsocketAPIClient(**kucoin_options(sim, request_timeout=REPLY_WITHIN)),
            kc.AsyncWebsocketAPIClient(**kucoin_options(sim, request_timeout=REPLY_WITHIN)),
        )
        yield rig
        rig.close()


# -- values ----------------------------------------------------------------------------
# Built from integers and fixed alphabets: st.decimals() and st.from_regex() cost several
# milliseconds per example, which over ~2000 examples is most of this file's run time.
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ids = st.text(ALNUM, min_size=1, max_size=8)


def scaled(mantissa: int, places: int) -> Decimal:
    return Decimal(mantissa).scaleb(-places)


decimals_any = st.builds(scaled, st.integers(-(10**12), 10**12), st.integers(-12, 12))
positive_decimals = st.builds(scaled, st.integers(1, 10**12), st.integers(0, 8))
positive_numbers = st.one_of(
    positive_decimals.map(lambda d: format(d, "f")),
    st.integers(1, 10**6),
    positive_decimals,
    st.floats(min_value=1e-8, max_value=1e6),
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    decimals_any,
)
json_values = st.one_of(json_leaves, st.lists(json_leaves, max_size=2))
json_objects = st.dictionaries(st.text(ALNUM, min_size=1, max_size=4), json_values, max_size=3)


def number_variants(text: str) -> st.SearchStrategy[Any]:
    """The same number as str, int, Decimal or float."""
    d = Decimal(text)
    options: list[Any] = [text, d, float(text)]
    if d == d.to_integral_value():
        options.append(int(d))
    return st.sampled_from(options)


BAD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # Past 64 bits (and under Python's 4300-digit str() limit, so a failing example can
    # still be printed; longer ones are in test_malformed_input_is_refused_before_sending).
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 10**400, -(10**400)]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 1e22]),
    decimals_any,
    st.sampled_from(
        [
            *(Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1e999999999")),
            *(Decimal("1E+5"), Decimal("-0"), Decimal("0E-30")),
        ]
    ),
    st.text(max_size=12),
    st.sampled_from(["", " ", "٣", "²", "½", "1e5", "1E-7", "0x10", "1_000", "1,5", "--5"]),
    st.sampled_from([".5", "5.", "+5", " 1.50 ", "-0", "Infinity", "nan", "true", "false"]),
    st.sampled_from(["a" * 33, "a" * 41, "b" * 101, "9" * 120, "7" * 5000, "\ud800", "é😀"]),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.lists(st.integers(), max_size=3),
    st.lists(json_objects, max_size=2),
    json_objects,
    st.binary(max_size=4),
    st.builds(object),
    st.tuples(st.text(max_size=3)),
)


@functools.cache
def valid_value(op: Operation, p: Param) -> st.SearchStrategy[Any]:
    """A value the table accepts for ``p`` (not necessarily one the exchange accepts)."""
    if p.choices:
        return st.sampled_from(p.choices)
    if p.pattern is not None:  # the id patterns: [A-Za-z0-9]{1,N} or [A-Za-z0-9_-]{1,N}
        size = int(re.search(r",(\d+)\}", p.pattern)[1])  # type: ignore[index]
        return st.text(ALNUM + "_-" if "_-" in p.pattern else ALNUM, min_size=1, max_size=size)
    if p.kind == "dec" and (p.min is not None or p.max is not None or p.integral):
        low, high = int(p.min if p.min is not None else 1), int(p.max or 10**6)
        return st.integers(low, high).flatmap(lambda n: number_variants(str(n)))
    if p.kind == "dec":
        return positive_numbers
    if p.kind == "int":
        low, high = max(1, int(p.min or 1)), min(200, int(p.max or 200))
        return st.one_of(st.integers(low, high), st.integers(low, high).map(str))
    if p.kind == "bool":
        return st.one_of(st.booleans(), st.sampled_from(["true", "false"]))
    if p.kind == "list" and p.items:
        fields = {q.name: valid_value(op, q) for q in p.items}
        return st.lists(st.fixed_dictionaries(fields), max_size=2)
    if p.kind == "list":
        return st.lists(json_objects, max_size=2)
    if p.kind == "strlist":
        return st.lists(st.text(max_size=8), max_size=3)
    if p.name == "instId":
        return st.sampled_from(["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP", "NOPE-USDT"])
    if p.name == "symbol":
        return st.sampled_from(["BTC-USDT", "XBTUSDTM", "NOPE"])
    return st.text(max_size=10)


@functools.cache
def any_value(op: Operation, p: Param) -> st.SearchStrategy[Any]:
    return st.one_of(valid_value(op, p), BAD)


def base_item(exchange: str, method: str, cid: str) -> dict[str, Any]:
    """A realistic item the simulator can accept, to mutate from."""
    if exchange == "okx":
        order = dict(
            instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01"
        )
        return {
            "submit_new_order": {**order, "clOrdId": cid},
            "submit_multiple_orders": {**order, "clOrdId": cid},
            "cancel_order": {"instId": "BTC-USDT", "clOrdId": cid},
            "cancel_multiple_orders": {"instId": "BTC-USDT", "clOrdId": cid},
            "amend_order": {"instId": "BTC-USDT", "clOrdId": cid, "newSz": "0.02"},
            "amend_multiple_orders": {"instId": "BTC-USDT", "clOrdId": cid, "newSz": "0.02"},
            "mass_cancel_orders": {
                "instType": "OPTION",
                "instFamily": "BTC-USD",
                "lockInterval": "0",
            },
            "submit_spread_order": dict(
                sprdId=SPREAD, side="buy", ordType="limit", sz="1", px="-12.5", clOrdId=cid
            ),
            "amend_spread_order": {"clOrdId": cid, "newSz": "2"},
            "cancel_spread_order": {"clOrdId": cid},
            "mass_cancel_spread_orders": {},
        }[method]
    spot = dict(
        symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001", clientOid=cid
    )
    futures = dict(
        clientOid=cid, side="buy", symbol="XBTUSDTM", type="limit", price="30000", size=1
    )
    cancel = {"symbol": "BTC-USDT", "clientOid": cid}
    return {
        "submit_new_spot_order": spot,
        "submit_sync_spot_order": spot,
        "submit_margin_order": spot,
        "modify_spot_order": {"symbol": "BTC-USDT", "clientOid": cid, "newPrice": "20001"},
        "cancel_spot_order": cancel,
        "cancel_sync_spot_order": cancel,
        "cancel_margin_order": cancel,
        "submit_futures_order": futures,
        "submit_multiple_futures_orders": futures,
        "cancel_futures_order": {"clientOid": cid, "symbol": "XBTUSDTM"},
        "cancel_multiple_futures_orders": {
            "clientOidsList": [{"symbol": "XBTUSDTM", "clientOid": cid}]
        },
        "submit_uta_order": dict(
            tradeType="SPOT",
            symbol="BTC-USDT",
            side="BUY",
            orderType="LIMIT",
            size="0.001",
            price="20000",
            clientOid=cid,
        ),
        "amend_uta_order": {"symbol": "BTC-USDT", "clientOid": cid, "newPrice": "20001"},
        "cancel_uta_order": {"tradeType": "SPOT", "symbol": "BTC-USDT", "clientOid": cid},
    }[method]


@functools.cache
def params_of(op: Operation) -> st.SearchStrategy[Param]:
    return st.sampled_from(op.params)


@functools.cache
def optional_params(op: Operation) -> st.SearchStrategy[list[Param]]:
    return st.lists(params_of(op), max_size=3)


UNKNOWN_KEYS = st.one_of(st.text(max_size=8), st.integers(0, 3))
UNKNOWN_VALUES = st.one_of(json_leaves, BAD)
MUTATIONS = st.sampled_from(["set", "set", "renumber", "drop", "unknown"])


def draw_item(data: st.DataObject, exchange: str, op: Operation) -> dict[Any, Any]:
    item: dict[Any, Any] = dict(base_item(exchange, op.method, data.draw(ids, label="id")))
    for p in data.draw(optional_params(op), label="add"):
        if p.name not in item:
            item[p.name] = data.draw(valid_value(op, p), label=p.name)
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        how = data.draw(MUTATIONS)
        if how == "set":
            p = data.draw(params_of(op))
            item[p.name] = data.draw(any_value(op, p), label=p.name)
        elif how == "renumber":
            decs = [k for k, v in item.items() if k in op.fields and op.fields[k].kind == "dec"]
            if decs:
                k = data.draw(st.sampled_from(decs))
                v = item[k]
                if isinstance(v, str) and DECIMAL_WIRE.fullmatch(v):
                    item[k] = data.draw(number_variants(v), label=k)
        elif how == "drop" and item:
            item.pop(data.draw(st.sampled_from(sorted(item, key=repr))))
        elif how == "unknown":
            key = data.draw(UNKNOWN_KEYS, label="key")
            if key not in op.fields:
                item[key] = data.draw(UNKNOWN_VALUES, label="value")
    return item


# -- what the simulator may see ---------------------------------------------------------
def clean_json(v: Any) -> bool:
    """No float anywhere: every non-integer number went out as a decimal string."""
    if isinstance(v, float):
        return False
    if isinstance(v, dict):
        return all(isinstance(k, str) and clean_json(x) for k, x in v.items())
    if isinstance(v, list):
        return all(clean_json(x) for x in v)
    return v is None or isinstance(v, (str, int, bool))


def wire_type_ok(p: Param, v: Any) -> bool:
    if p.kind == "str":
        return isinstance(v, str)
    if p.kind == "dec":
        return isinstance(v, str) and len(v) <= 100 and bool(DECIMAL_WIRE.fullmatch(v))
    if p.kind == "int":
        return type(v) is int and INT64[0] <= v <= INT64[1]
    if p.kind == "bool":
        return type(v) is bool
    if p.kind == "list":
        return isinstance(v, list) and all(isinstance(x, dict) for x in v) and clean_json(v)
    if p.kind == "strlist":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    return isinstance(v, dict) and clean_json(v)


def wire_items(exchange: str, op: Operation, request: dict[str, Any]) -> list[dict[str, Any]]:
    args = request["args"]
    if exchange == "okx" or op.batch:
        assert isinstance(args, list), request
        return args
    assert isinstance(args, dict), request
    return [args]


def assert_well_formed(exchange: str, op: Operation, request: dict[str, Any]) -> None:
    assert request["op"] == op.op
    rid = request["id"]
    assert isinstance(rid, str) and rid.isascii() and rid.isalnum() and len(rid) <= 32
    if "expTime" in request:
        assert isinstance(request["expTime"], str) and request["expTime"].isdigit()
    for item in wire_items(exchange, op, request):
        assert isinstance(item, dict)
        for key, value in item.items():
            p = op.fields.get(key)
            if p is None:  # an extra_params field: any JSON, but no floats
                assert clean_json(value), (key, value)
            else:
                assert wire_type_ok(p, value), (op.op, key, value)


# The exact value the caller meant, to compare with what went out.
def meant(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, Mapping):
        return {k: meant(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [meant(x) for x in v]
    return v


def same(sent: Any, want: Any, p: Param | None) -> bool:
    if p is not None and p.kind == "dec":
        if isinstance(want, str):
            want = want.strip()
        elif isinstance(want, float):
            want = repr(want)  # a float means its shortest repr, not its binary expansion
        return Decimal(sent) == Decimal(want)
    if p is not None and p.kind == "int":
        return bool(sent == (int(want.strip()) if isinstance(want, str) else want))
    if p is not None and p.kind == "bool":
        return bool(sent == (want == "true" if isinstance(want, str) else want))
    if isinstance(want, Decimal) and not isinstance(sent, int):
        return Decimal(sent) == want
    if isinstance(want, dict):
        return (
            isinstance(sent, dict)
            and sent.keys() == want.keys()
            and all(same(sent[k], want[k], None) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(sent, list)
            and len(sent) == len(want)
            and all(same(a, b, None) for a, b in zip(sent, want, strict=True))
        )
    return bool(sent == want)


# The KuCoin ops whose every order gets a client id from okxkc when the caller gave none.
KUCOIN_PLACES = frozenset(
    {"spot.order", "spot.sync_order", "margin.order", "futures.order", "uta.order"}
    | {"futures.multi_order"}
)


def assert_sent_as_given(
    exchange: str, op: Operation, given_items: list[dict[str, Any]], request: dict[str, Any]
) -> None:
    """Nothing dropped, nothing invented, every value the exact one the caller meant."""
    for given_item, sent in zip(given_items, wire_items(exchange, op, request), strict=True):
        want = {k: v for k, v in given_item.items() if v is not None}
        keys = set(want)
        if exchange == "okx" and "instId" in want and "instIdCode" not in want:
            keys = (keys - {"instId"}) | {"instIdCode"}  # resolved from the instruments
        if exchange == "kucoin" and "allowMaxTimeWindow" in want:
            keys.add("clientTimestamp")  # filled in at sending
        # okxkc's own additions (resolve_unknown is on): a client id where none was given,
        # and KuCoin spot places expire at the call's deadline
        if op.op in ("order", "batch-orders", "sprd-order") and "clOrdId" not in want:
            keys.add("clOrdId")
        if op.op in KUCOIN_PLACES and "clientOid" not in want:
            keys.add("clientOid")  # every KuCoin place: spot, margin, futures (items), UTA
        if (
            op.op in ("spot.order", "spot.sync_order")
            and "allowMaxTimeWindow" not in want
            and "clientTimestamp" not in want
        ):
            keys |= {"allowMaxTimeWindow", "clientTimestamp"}
        assert set(sent) == keys, (sorted(sent), sorted(keys))
        for k, v in want.items():
            if k in sent:
                p = op.fields.get(k)
                free_form = p is None or p.kind in ("list", "obj")
                assert same(sent[k], meant(v) if free_form else v, p), (
                    k,
                    v,
                    sent[k],
                )


# -- which fields an error may name -------------------------------------------------------
def named_field_ok(
    err: ValidationError,
    op: Operation,
    method_params: set[str],
    items: Any,
    extra: Any,
) -> bool:
    field = err.field
    if op.batch:
        if field == op.collection or field in method_params:
            return True
        m = re.fullmatch(rf"{op.collection}\[(\d+)\](?:\.(.+))?", field, re.S)
        if m is None:
            return False
        i, name = int(m[1]), m[2]
        if i >= len(items):
            return False
        return name is None or name in op.fields or name in items[i]
    if field in method_params:
        return True
    # An object of a list argument, or a field inside it: clientOidsList[1].symbol
    m = re.fullmatch(r"(\w+)\[(\d+)\](?:\.(\w+))?", field)
    if m is not None and m[1] in method_params and m[1] in op.fields:
        return m[3] is None or m[3] in {q.name for q in op.fields[m[1]].items}
    if field.startswith("extra_params[") and isinstance(extra, Mapping):
        return any(field == f"extra_params[{k!r}]" for k in extra)
    return False


TINY_VALUES = (5e-324, 1e-9, 1e-6)
TINY = st.sampled_from(TINY_VALUES)
# Timeouts that are no usable deadline (a usable one would just make an example wait),
# or too short for any reply (those may end in RequestTimeoutError).
TIMEOUTS = st.one_of(
    st.none(),
    st.just(REPLY_WITHIN),
    TINY,
    st.sampled_from([0, -1, -0.0, math.nan, math.inf, -math.inf, 86_400.5, 10**400, True]),
    st.sampled_from(["5", Decimal("5"), b"5", [5], object()]),
    st.floats(max_value=0),
    st.integers(max_value=0),
    st.floats(min_value=86_400.01),
    st.text(max_size=3),
)
ACCOUNTS = st.one_of(st.none(), st.none(), st.just(0), BAD)
EXP_TIMES = st.one_of(st.none(), st.none(), st.just(5000), BAD)
EXTRA_LISTED = {
    op: st.dictionaries(st.sampled_from([p.name for p in op.params]), st.one_of(BAD, json_leaves))
    for op in (*OKX_OPS, *KC_OPS)
}
BATCH_SIZES = st.one_of(st.integers(1, 3), st.integers(0, 25))


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.001)


def method_params(client: Any, method: str) -> set[str]:
    params = inspect.signature(getattr(client, method)).parameters
    if "params" not in params:
        return set(params)
    # A single-item method takes its call options among its ``**params`` keywords (the
    # expiry only where the op has one).
    op = next(o for o in [*OKX_OPS, *KC_OPS] if o.method == method)
    return {k for k in CONTROL_KEYWORDS if k != "exp_time" or op.exp_time} | {"params"}


def batch_items(items: Any) -> list[Any]:
    """The items of a batch argument as the validator sees them: any sequence but text
    and bytes is a batch (a tuple too: BAD draws one-tuples), anything else has none."""
    if isinstance(items, Sequence) and not isinstance(items, (str, bytes, bytearray)):
        return list(items)
    return []


# -- the property ------------------------------------------------------------------------
def check_call(rig: Rig, exchange: str, kind: str, op: Operation, data: st.DataObject) -> None:
    client = rig.clients[kind]
    # The exchange's fields arrive as **params (typed by a TypedDict): they count too.
    names = method_params(client, op.method) | (set() if op.batch else set(op.fields))
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    extra: Any = None
    if op.batch:
        n = data.draw(BATCH_SIZES, label="batch size")
        items: Any = [draw_item(data, exchange, op) for _ in range(n)]
        if data.draw(st.integers(0, 9)) == 0:
            items = tuple(items)  # any sequence is a batch, as the signature says
        if data.draw(st.integers(0, 19)) == 0:
            items = data.draw(BAD, label="orders")
        args = (items,)
        given_items = batch_items(items)
    else:
        item = draw_item(data, exchange, op)
        kwargs = {k: v for k, v in item.items() if isinstance(k, str) and k in op.fields}
        unknown = {k: v for k, v in item.items() if k not in kwargs}
        if unknown or data.draw(st.integers(0, 7)) == 0:
            extra = unknown
            if data.draw(st.integers(0, 4)) == 0:
                extra = data.draw(
                    st.one_of(
                        BAD,
                        st.dictionaries(
                            st.sampled_from([p.name for p in op.params]),
                            st.one_of(BAD, json_leaves),
                        ),
                    ),
                    label="extra_params",
                )
            kwargs["extra_params"] = extra
        given_items = [{**kwargs, **(extra if isinstance(extra, Mapping) else {})}]
        for k in CALL_KWARGS:
            given_items[0].pop(k, None)
    # The call's own knobs, mostly absent.
    kwargs["timeout"] = data.draw(TIMEOUTS, label="timeout")
    kwargs["account"] = data.draw(ACCOUNTS, label="account")
    if "exp_time" in names:
        kwargs["exp_time"] = data.draw(EXP_TIMES, label="exp_time")

    before = len(rig.sim.received)
    try:
        rig.call(kind, op.method, args, kwargs)
    except RequestTimeoutError as exc:
        # Only a timeout too short for any reply may end a call this way.
        assert kwargs["timeout"] in TINY_VALUES, (exc, kwargs["timeout"])
        if exc.sent:  # let the request land, so the next example counts only its own
            wait_until(lambda: len(rig.sim.received) == before + 1)
        else:
            assert len(rig.sim.received) == before
        return
    except ValidationError as exc:
        outcome: Any = exc
        assert named_field_ok(exc, op, names, given_items, extra), (exc.field, str(exc))
        assert len(rig.sim.received) == before, "a request was sent despite a ValidationError"
        return
    except ExchangeError as exc:
        outcome = exc
    else:
        outcome = None
    # It reached the exchange: exactly one request, well-formed, as the caller meant it.
    new = rig.sim.received[before:]
    assert len(new) == 1, (outcome, new)
    assert_well_formed(exchange, op, new[0])
    assert_sent_as_given(exchange, op, given_items, new[0])


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("op", OKX_OPS, ids=lambda op: op.method)
def test_okx_any_input_ends_in_a_definite_answer(okx_rig: Rig, kind: str, op: Operation) -> None:
    @EXAMPLES
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        check_call(okx_rig, "okx", kind, op, data)

    prop()


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("op", KC_OPS, ids=lambda op: op.method)
def test_kucoin_any_input_ends_in_a_definite_answer(
    kucoin_rig: Rig, kind: str, op: Operation
) -> None:
    @EXAMPLES
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        check_call(kucoin_rig, "kucoin", kind, op, data)

    prop()


# -- the same facts, spelled out -------------------------------------------------------
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_numbers_go_out_as_exact_decimal_strings(okx_rig: Rig, kind: str) -> None:
    cl_ord_id = f"num{kind}{time.monotonic_ns() % 10**9}"
    rig = okx_rig.fresh(kind, lambda is_async: new_okx(okx_rig.sim, is_async))
    try:
        place_number_order(rig, kind, cl_ord_id)
    finally:
        rig.close()
    # Found by its clOrdId: requests of earlier tests on this shared simulator may
    # still be arriving.
    (sent,) = [
        r["args"][0]
        for r in okx_rig.sim.received
        if r.get("op") == "order" and r["args"] and r["args"][0].get("clOrdId") == cl_ord_id
    ]
    assert sent["px"] == "10000000000000000000000" and sent["sz"] == "0.0000001"
    assert sent["attachAlgoOrds"] == [{"tpTriggerPx": "0.1", "tpOrdPx": "20"}]


def new_okx(sim: OkxSimulator, is_async: bool) -> Any:
    cls = okx.AsyncWebsocketAPIClient if is_async else okx.WebsocketAPIClient
    return cls(**okx_options(sim, request_timeout=REPLY_WITHIN))


def new_kucoin(sim: KucoinSimulator, is_async: bool) -> Any:
    cls = kc.AsyncWebsocketAPIClient if is_async else kc.WebsocketAPIClient
    return cls(**kucoin_options(sim, request_timeout=REPLY_WITHIN))


def place_number_order(okx_rig: Rig, kind: str, cl_ord_id: str) -> None:
    okx_rig.call(
        kind,
        "submit_new_order",
        (),
        dict(
            instId="BTC-USDT",
            tdMode="cash",
            side="buy",
            ordType="limit",
            px=1e22,
            sz=Decimal("1E-7"),
            clOrdId=cl_ord_id,
            extra_params={"attachAlgoOrds": [{"tpTriggerPx": 0.1, "tpOrdPx": Decimal("2E+1")}]},
        ),
    )


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        (dict(sz="٣"), "sz", "decimal number"),
        (dict(sz=10**5000), "sz", "out of range"),
        (dict(sz=Decimal("1e999999999")), "sz", "out of range"),
        (dict(sz="1", instIdCode="²"), "instIdCode", "integer"),
        (dict(sz="1", instIdCode=2**64), "instIdCode", "64-bit"),
        (dict(sz="1", clOrdId="\ud800"), "clOrdId", "letters and digits"),
        (dict(sz="1", ccy="\ud800"), "ccy", "lone surrogates"),
        (dict(sz="1", extra_params={"px": "1e5"}), "px", "decimal number"),
        (dict(sz="1", px=1, extra_params={"pxUsd": 2}), "pxUsd", "give only one of"),
        (dict(sz="1", extra_params={"sz": "2"}), "sz", "both"),
        (dict(sz="1", extra_params={"x": object()}), "extra_params['x']", "cannot be sent"),
        (dict(sz="1", timeout=math.nan), "timeout", "positive"),
        (dict(sz="1", timeout=10**400), "timeout", "positive"),
        (dict(sz="1", exp_time=10**5000), "exp_time", "milliseconds"),
        (dict(sz="1", account=10**5000), "account", "out of range"),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_malformed_input_is_refused_before_sending(
    okx_rig: Rig, kind: str, kwargs: dict[str, Any], field: str, words: str
) -> None:
    before = len(okx_rig.sim.received)
    call: dict[str, Any] = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="market")
    with pytest.raises(ValidationError) as err:
        okx_rig.call(kind, "submit_new_order", (), {**call, **kwargs})
    assert err.value.field == field and words in str(err.value)
    assert len(okx_rig.sim.received) == before


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("exchange", ["okx", "kucoin"])
def test_a_tuple_is_a_batch(okx_rig: Rig, kucoin_rig: Rig, exchange: str, kind: str) -> None:
    """A tuple batch is validated and sent like a list; a bad item is named by its index
    (the case the property once misread: it counted only lists as batches)."""
    shared = okx_rig if exchange == "okx" else kucoin_rig
    new = new_okx if exchange == "okx" else new_kucoin
    rig = shared.fresh(kind, lambda is_async: new(shared.sim, is_async))
    method = "submit_multiple_orders" if exchange == "okx" else "submit_multiple_futures_orders"
    before = len(rig.sim.received)
    try:
        with pytest.raises(ValidationError) as err:
            rig.call(kind, method, (("ab",),), {})
        assert err.value.field == "orders[0]" and "must be an object" in str(err.value)
        assert len(rig.sim.received) == before
        cid = f"tup{kind}{time.monotonic_ns() % 10**9}"
        try:
            rig.call(kind, method, ((base_item(exchange, method, cid),),), {})
        except ExchangeError:
            pass  # refused on its merits (earlier tests may have spent the balance): sent
    finally:
        rig.close()
    sent = [r for r in rig.sim.received[before:] if _ids_in(r, cid)]
    assert len(sent) == 1 and isinstance(sent[0]["args"], list)


def _ids_in(request: dict[str, Any], cid: str) -> bool:
    args = request.get("args")
    items = args if isinstance(args, list) else [args]
    return any(isinstance(x, dict) and cid in (x.get("clOrdId"), x.get("clientOid")) for x in items)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_batch_item_with_a_non_string_key(kucoin_rig: Rig, kind: str) -> None:
    order: dict[Any, Any] = dict(base_item("kucoin", "submit_futures_order", "k1"))
    with pytest.raises(ValidationError) as err:
        kucoin_rig.call(kind, "submit_multiple_futures_orders", ([order, {**order, 7: "x"}],), {})
    assert err.value.field == "orders[1]" and "must be non-empty strings" in str(err.value)


# -- the compiled presence rules agree with the table (defaults and exemptions included) --
def _rules_broken(op: Operation, out: Mapping[str, Any]) -> bool:
    """The table's presence rules, read one by one (what validate_item reports)."""
    if any(p.required and p.name not in out for p in op.params):
        return True
    if any(not any(g in out for g in group) for group in op.one_of):
        return True
    if any(sum(g in out for g in group) > 1 for group in op.exclusive):
        return True

    def value(key: str) -> Any:
        return out[key] if key in out else op.fields[key].default

    if any(
        (key in out if not values else value(key) in values) and not any(n in out for n in needed)
        for key, values, needed in op.required_if
    ):
        return True
    return any(
        value(key) not in values and not any(n in out for n in needed)
        for key, values, needed in op.required_unless
    )


@pytest.mark.parametrize("op", OKX_OPS + KC_OPS, ids=lambda op: op.op)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_presence_rules_match_the_table(op: Operation, data: st.DataObject) -> None:
    names = [p.name for p in op.params]
    present = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    out: dict[str, Any] = {}
    for name in present:
        p = op.fields[name]
        if p.choices:
            out[name] = data.draw(st.sampled_from(p.choices))
        else:
            out[name] = data.draw(st.booleans()) if p.kind == "bool" else "1"
    assert op._rules_hold(out) is not _rules_broken(op, out)
