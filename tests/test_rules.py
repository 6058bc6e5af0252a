"""Every rule of both operation tables, broken on purpose: refused before sending.

For each op of both exchanges, through both facades of a connected client, a
generator takes an item the tables accept, breaks exactly one rule (a sign, a
range, a whole number, a client-id format, an enum, a required field, a
conditional rule, a repeated id in a batch) and checks that the call raises
``ValidationError`` naming that rule's field and that the simulator received
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okxkc import kucoin as kc
from okxkc import okx
from okxkc._ops import Kind, Operation, Param, validate_batch, validate_item
from okxkc.errors import ValidationError
from okxkc.kucoin.operations import OPERATIONS as KC_OPS
from okxkc.okx.operations import OPERATIONS as OKX_OPS
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import kucoin_options, okx_options
from .test_properties import ALNUM, Rig, base_item

EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- connected clients: a refused call could have been sent ------------------------------
def _connected(rig: Rig) -> Rig:
    rig.clients["sync"].connect_ws_api()
    rig.runner.run(rig.clients["async"].connect_ws_api())
    return rig


@pytest.fixture(scope="module")
def okx_rig() -> Iterator[Rig]:
    with OkxSimulator(rate_limits=False) as sim:
        rig = Rig(
            sim,
            okx.WebsocketAPIClient(**okx_options(sim)),
            okx.AsyncWebsocketAPIClient(**okx_options(sim)),
        )
        yield _connected(rig)
        rig.close()


@pytest.fixture(scope="module")
def kucoin_rig() -> Iterator[Rig]:
    with KucoinSimulator(rate_limits=False) as sim:
        rig = Rig(
            sim,
            kc.WebsocketAPIClient(**kucoin_options(sim)),
            kc.AsyncWebsocketAPIClient(**kucoin_options(sim)),
        )
        yield _connected(rig)
        rig.close()


# -- the rules, read from the table as data (an oracle independent of the validator) ---
Item = dict[str, Any]


def _value(op: Operation, item: Item, key: str) -> Any:
    return item[key] if key in item else op.fields[key].default


def broken_rules(op: Operation, item: Item) -> list[tuple[str, tuple[str, ...]]]:
    """The presence rules ``item`` breaks, as (rule kind, fields it concerns)."""
    out: list[tuple[str, tuple[str, ...]]] = []
    out += [("required", (p.name,)) for p in op.params if p.required and p.name not in item]
    out += [("one_of", g) for g in op.one_of if not any(f in item for f in g)]
    out += [("exclusive", g) for g in op.exclusive if sum(f in item for f in g) > 1]
    for key, values, needed in op.required_if:
        hit = key in item if not values else _value(op, item, key) in values
        if hit and not any(n in item for n in needed):
            out.append(("required_if", needed))
    for key, values, needed in op.required_unless:
        if _value(op, item, key) not in values and not any(n in item for n in needed):
            out.append(("required_unless", needed))
    return out


def a_valid_value(p: Param) -> Any:
    """One value the table accepts for ``p``."""
    if p.choices:
        return p.choices[0]
    if p.kind is Kind.BOOL:
        return False
    if p.kind in (Kind.DEC, Kind.INT):
        n = p.min if p.min is not None and p.min > 0 else (p.max if p.max is not None else 1)
        return str(n) if p.kind is Kind.DEC else int(n)
    if p.kind is Kind.STRLIST:
        return ["1"]
    if p.kind is Kind.LIST:
        return [{q.name: a_valid_value(q) for q in p.items}]
    if p.kind is Kind.OBJ:
        return {}
    return "abc1"


def repair(op: Operation, item: Item, keep: set[str]) -> Item:
    """Make ``item`` keep every presence rule but those that concern only ``keep`` fields
    (the rule an example breaks on purpose), touching none of the ``keep`` fields."""
    for _ in range(10):
        fixable = [(k, f) for k, f in broken_rules(op, item) if any(x not in keep for x in f)]
        if not fixable:
            return item
        kind, fields = fixable[0]
        free = [f for f in fields if f not in keep]
        if kind == "exclusive":
            present = [f for f in free if f in item]
            del item[present[-1]]
        else:
            item[free[0]] = a_valid_value(op.fields[free[0]])
    raise AssertionError(f"cannot isolate a rule of {op.op}: {item}")


# -- bad values, per value rule --------------------------------------------------------
def _too_long(size: int, alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size + 1, max_size=size + 8)


def _with_a_bad_char(size: int, bad: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda head, ch, tail: (head + ch + tail)[:size],
        st.text(ALNUM, max_size=size // 2),
        st.sampled_from(bad),
        st.text(ALNUM, max_size=3),
    )


def bad_values(p: Param) -> st.SearchStrategy[Any] | None:
    """Values that break one of ``p``'s value rules (each of the right kind otherwise)."""
    options: list[st.SearchStrategy[Any]] = []
    if p.kind is Kind.INT:
        if p.positive:
            options.append(st.integers(-(10**12), 0))
        if p.min is not None:
            options.append(st.integers(-(10**12), int(p.min) - 1))
        if p.max is not None:
            options.append(st.integers(int(p.max) + 1, 10**12))
    if p.kind is Kind.DEC:
        nonpositive = st.builds(
            lambda m, e: Decimal(-m).scaleb(-e), st.integers(0, 10**9), st.integers(0, 8)
        )
        if p.positive:
            options.append(st.one_of(nonpositive, nonpositive.map(str), st.just(0)))
        if p.min is not None:
            below = st.builds(
                lambda m, e: Decimal(p.min) - Decimal(m).scaleb(-e),  # type: ignore[arg-type]
                st.integers(1, 10**9),
                st.integers(0, 6),
            )
            options.append(st.one_of(below, below.map(str)))
        if p.max is not None:
            above = st.builds(
                lambda m, e: Decimal(p.max) + Decimal(m).scaleb(-e),  # type: ignore[arg-type]
                st.integers(1, 10**9),
                st.integers(0, 6),
            )
            options.append(st.one_of(above, above.map(str)))
        if p.integral:
            low = int(p.min or 0)
            options.append(st.integers(low, int(p.max or 10**6) - 1).map(lambda n: f"{n}.5"))
    if p.kind is Kind.STR:
        if p.pattern is not None and p.pattern.startswith("[A-Za-z0-9"):
            size = int(p.pattern.rsplit(",", 1)[1].rstrip("}"))
            alphabet = ALNUM + ("_-" if "_-" in p.pattern else "")
            options += [
                _too_long(size, alphabet),
                _with_a_bad_char(size, " #./é+@" + ("" if "_-" in p.pattern else "_-")),
                st.just(""),
            ]
        elif p.pattern is not None:  # at most N ASCII characters
            size = int(p.pattern.rsplit(",", 1)[1].rstrip("}"))
            options += [_too_long(size, ALNUM), _with_a_bad_char(size, "éü€😀")]
        elif p.max_len is not None:
            options.append(_too_long(p.max_len, ALNUM))
        if p.choices:
            cased = [c.swapcase() for c in p.choices if c.swapcase() not in p.choices]
            others = st.text(ALNUM, max_size=6).filter(lambda v: v not in p.choices)
            options.append(st.one_of(st.sampled_from(cased), others) if cased else others)
    return st.one_of(options) if options else None


# -- one broken rule per example -------------------------------------------------------
# A violation: (fields to send as items, the field the error must name).
Violation = tuple[list[Item], str]
Breaker = Callable[[st.DataObject, Item], Violation]


def value_breakers(op: Operation) -> list[Breaker]:
    out: list[Breaker] = []
    for p in op.params:
        bad = bad_values(p)
        if bad is None:
            continue

        def breaker(data: st.DataObject, item: Item, p: Param = p, bad: Any = bad) -> Violation:
            # Values are checked before presence rules: nothing else needs repair.
            item[p.name] = data.draw(bad, label=p.name)
            return [item], p.name

        out.append(breaker)
        for q in p.items:  # the fields of a list argument's objects
            inner = bad_values(q)

            def nested(
                data: st.DataObject, item: Item, p: Param = p, q: Param = q, bad: Any = inner
            ) -> Violation:
                element = {r.name: a_valid_value(r) for r in p.items}
                if bad is None or data.draw(st.booleans(), label="drop"):
                    if not q.required:
                        return [item], ""
                    del element[q.name]
                else:
                    element[q.name] = data.draw(bad, label=q.name)
                item[p.name] = [{r.name: a_valid_value(r) for r in p.items}, element]
                return [item], f"{p.name}[1].{q.name}"

            out.append(nested)
    return out


def presence_breakers(op: Operation) -> list[Breaker]:
    out: list[Breaker] = []
    for p in op.params:
        if p.required:

            def drop(data: st.DataObject, item: Item, name: str = p.name) -> Violation:
                item.pop(name, None)
                return [repair(op, item, {name})], name

            out.append(drop)
    for group in op.one_of:

        def none_of(data: st.DataObject, item: Item, group: tuple[str, ...] = group) -> Violation:
            for f in group:
                item.pop(f, None)
            return [repair(op, item, set(group))], group[0]

        out.append(none_of)
    for group in op.exclusive:

        def two_of(data: st.DataObject, item: Item, group: tuple[str, ...] = group) -> Violation:
            first, second = data.draw(
                st.lists(st.sampled_from(group), min_size=2, max_size=2, unique=True)
            )
            for f in group:
                item.pop(f, None)
            for f in (first, second):
                item[f] = a_valid_value(op.fields[f])
            repair(op, item, set(group))
            return [item], sorted((first, second), key=group.index)[1]

        out.append(two_of)
    for key, values, needed in op.required_if:

        def trigger(
            data: st.DataObject,
            item: Item,
            key: str = key,
            values: Any = values,
            needed: Any = needed,
        ) -> Violation:
            if not values:
                item[key] = a_valid_value(op.fields[key])
            elif op.fields[key].default in values and data.draw(st.booleans(), label="default"):
                item.pop(key, None)  # the default triggers the rule
            else:
                item[key] = data.draw(st.sampled_from(values), label=key)
            for n in needed:
                item.pop(n, None)
            return [repair(op, item, {key, *needed})], needed[0]

        out.append(trigger)
    for key, values, needed in op.required_unless:

        def unexempt(
            data: st.DataObject,
            item: Item,
            key: str = key,
            values: Any = values,
            needed: Any = needed,
        ) -> Violation:
            if data.draw(st.booleans(), label="absent"):
                item.pop(key, None)
            else:
                item[key] = not values[0] if isinstance(values[0], bool) else "nope"
            for n in needed:
                item.pop(n, None)
            return [repair(op, item, {key, *needed})], needed[0]

        out.append(unexempt)
    for field in op.unique:

        def repeat(data: st.DataObject, item: Item, field: str = field) -> Violation:
            value = item.get(field) or a_valid_value(op.fields[field])
            n = data.draw(st.integers(1, op.max_items - 1), label="repeated at")
            items = [{**item, field: f"u{i}"} for i in range(n)]
            items[data.draw(st.integers(0, n - 1), label="first at")][field] = value
            items.append({**item, field: value})
            return items, f"[{n}].{field}"

        out.append(repeat)
    return out


def breakers(op: Operation) -> list[Breaker]:
    return value_breakers(op) + presence_breakers(op)


def base(exchange: str, op: Operation) -> Item:
    item = dict(base_item(exchange, op.method, f"r{time.monotonic_ns() % 10**6}"))
    return repair(op, item, set())


# -- the property -----------------------------------------------------------------------
def check_refused(rig: Rig, exchange: str, kind: str, op: Operation, data: st.DataObject) -> None:
    breaker = data.draw(st.sampled_from(breakers(op)), label="rule")
    items, field = breaker(data, base(exchange, op))
    if not field:  # nothing to break for this draw
        return
    if op.batch:
        args: tuple[Any, ...] = (items,)
        kwargs: dict[str, Any] = {}
        want = f"{op.collection}{field}" if field.startswith("[") else f"{op.collection}[0].{field}"
    else:
        (item,) = items
        args, kwargs, want = (), dict(item), field
    # The rest of the call is valid: the tables accept the item with the rule repaired.
    before = len(rig.sim.received)
    with pytest.raises(ValidationError) as err:
        rig.call(kind, op.method, args, kwargs)
    assert err.value.field == want, (str(err.value), items)
    assert len(rig.sim.received) == before, "a request was sent despite a ValidationError"


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("op", OKX_OPS, ids=lambda op: op.method)
def test_okx_every_broken_rule_is_refused(okx_rig: Rig, kind: str, op: Operation) -> None:
    if not breakers(op):
        pytest.skip(f"{op.op} has no rules")

    @EXAMPLES
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        check_refused(okx_rig, "okx", kind, op, data)

    prop()


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("op", KC_OPS, ids=lambda op: op.method)
def test_kucoin_every_broken_rule_is_refused(kucoin_rig: Rig, kind: str, op: Operation) -> None:
    @EXAMPLES
    @given(st.data())
    def prop(data: st.DataObject) -> None:
        check_refused(kucoin_rig, "kucoin", kind, op, data)

    prop()


@pytest.mark.parametrize("op", OKX_OPS + KC_OPS, ids=lambda op: op.op)
def test_the_base_items_keep_every_rule(op: Operation) -> None:
    """The items the property breaks start valid (so the error is the broken rule's)."""
    exchange = "okx" if op in OKX_OPS else "kucoin"
    item = base(exchange, op)
    if op.batch:
        validate_batch(op, [item])
    else:
        validate_item(op, item)


# -- the examples that used to reach the exchange, spelled out --------------------------
_OKX_ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="1")
_KC_FUTURES = dict(clientOid="f1", side="buy", symbol="XBTUSDTM", type="limit", price="30000")
_KC_SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
_KC_MARGIN = dict(clientOid="m1", side="buy", symbol="BTC-USDT", size="0.001")


@pytest.mark.parametrize(
    ("exchange", "method", "kwargs", "field", "words"),
    [
        ("okx", "submit_new_order", {**_OKX_ORDER, "px": "-5"}, "px", "greater than 0"),
        ("okx", "submit_new_order", {**_OKX_ORDER, "px": 0}, "px", "greater than 0"),
        (
            "okx",
            "submit_new_order",
            {**_OKX_ORDER, "px": "1", "clOrdId": "a-b"},
            "clOrdId",
            "letters and digits",
        ),
        (
            "okx",
            "submit_new_order",
            {**_OKX_ORDER, "px": "1", "clOrdId": "a" * 33},
            "clOrdId",
            "1-32",
        ),
        (
            "okx",
            "amend_order",
            dict(instId="BTC-USDT", ordId="1", newPx=-1),
            "newPx",
            "greater than 0",
        ),
        (
            "okx",
            "amend_order",
            dict(instId="BTC-USDT", ordId="1", newSz="0"),
            "newSz",
            "greater than 0",
        ),
        (
            "okx",
            "mass_cancel_orders",
            dict(instType="OPTION", instFamily="BTC-USD", lockInterval=10001),
            "lockInterval",
            "at most 10000",
        ),
        (
            "okx",
            "mass_cancel_orders",
            dict(instType="OPTION", instFamily="BTC-USD", lockInterval="-1"),
            "lockInterval",
            "at least 0",
        ),
        (
            "okx",
            "mass_cancel_orders",
            dict(instType="OPTION", instFamily="BTC-USD", lockInterval="2.5"),
            "lockInterval",
            "whole number",
        ),
        ("kucoin", "submit_futures_order", {**_KC_FUTURES, "size": -1}, "size", "greater than 0"),
        (
            "kucoin",
            "submit_futures_order",
            {**_KC_FUTURES, "size": 1, "leverage": 0},
            "leverage",
            "greater than 0",
        ),
        ("kucoin", "submit_futures_order", _KC_FUTURES, "size", "needs one of size, qty, valueQty"),
        (
            "kucoin",
            "submit_futures_order",
            {**_KC_FUTURES, "type": None, "price": None, "size": 1},
            "price",
            "(the default)",
        ),
        (
            "kucoin",
            "submit_futures_order",
            {**_KC_FUTURES, "size": 1, "clientOid": "x" * 41},
            "clientOid",
            "1-40",
        ),
        ("kucoin", "submit_margin_order", _KC_MARGIN, "price", "(the default)"),
        (
            "kucoin",
            "submit_margin_order",
            {**_KC_MARGIN, "price": "1", "cancelAfter": -5},
            "cancelAfter",
            "at least -1",
        ),
        (
            "kucoin",
            "submit_new_spot_order",
            {**_KC_SPOT, "allowMaxTimeWindow": -1},
            "allowMaxTimeWindow",
            "greater than 0",
        ),
        (
            "kucoin",
            "submit_new_spot_order",
            {**_KC_SPOT, "cancelAfter": -2},
            "cancelAfter",
            "at least -1",
        ),
        (
            "kucoin",
            "cancel_multiple_futures_orders",
            dict(clientOidsList=[{"clientOid": "c1"}]),
            "clientOidsList[0].symbol",
            "required",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_reported_examples_are_refused(
    okx_rig: Rig,
    kucoin_rig: Rig,
    kind: str,
    exchange: str,
    method: str,
    kwargs: dict[str, Any],
    field: str,
    words: str,
) -> None:
    rig = okx_rig if exchange == "okx" else kucoin_rig
    before = len(rig.sim.received)
    with pytest.raises(ValidationError) as err:
        rig.call(kind, method, (), kwargs)
    assert err.value.field == field and words in str(err.value), str(err.value)
    assert len(rig.sim.received) == before


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_close_order_needs_neither_side_nor_size(kucoin_rig: Rig, kind: str) -> None:
    """KuCoin: closeOrder=true closes the whole position; side and size may be left out."""
    before = len(kucoin_rig.sim.received)
    cid = f"close{kind}{time.monotonic_ns() % 10**6}"
    try:
        kucoin_rig.call(
            kind,
            "submit_futures_order",
            (),
            dict(clientOid=cid, symbol="XBTUSDTM", closeOrder=True, type="market"),
        )
    except Exception as exc:  # the simulator may refuse it on its merits (no position)
        assert not isinstance(exc, ValidationError), exc
    sent = [r for r in kucoin_rig.sim.received[before:] if r["args"].get("clientOid") == cid]
    assert len(sent) == 1 and "side" not in sent[0]["args"]


# -- the table's value objects ------------------------------------------------------------
def test_params_and_operations_are_frozen_values() -> None:
    p = Param("px", "dec", positive=True)
    assert p.kind is Kind.DEC and p.kind == "dec" and str(p.kind) == "dec"
    assert (
        p == Param("px", Kind.DEC, positive=True)
        and len({p, Param("px", "dec", positive=True)}) == 1
    )
    with pytest.raises(AttributeError):
        p.positive = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="decimal"):
        Param("px", "decimal")
    op = OKX_OPS[0]
    with pytest.raises(AttributeError):
        op.op = "other"  # type: ignore[misc]
    assert hash(op) == hash(OKX_OPS[0])


def test_a_rule_naming_an_unknown_field_is_a_table_error() -> None:
    with pytest.raises(ValueError, match="unknown fields"):
        Operation("m", "op", "k", (Param("a"),), "R", "doc", required_if=(("a", (), ("b",)),))
    with pytest.raises(ValueError, match="unknown fields"):
        Operation("m", "op", "k", (Param("a"),), "R", "doc", one_of=(("a", "c"),))
