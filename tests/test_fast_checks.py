"""The generated per-operation checks (okxkc/<exchange>/_checks.py, tools/checkgen.py).

A generated check may only say "these fields can be sent as they are" when the full
checks of okxkc._ops would accept the very same fields unchanged: it never refuses
and never changes a value, so every rule and its field-naming ValidationError stay
with the full checks (tests/test_rules.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okxkc import kucoin as kc  # noqa: F401  (attaches the KuCoin checks)
from okxkc import okx  # noqa: F401  (attaches the OKX checks)
from okxkc._ops import Kind, Operation, Param, validate_item
from okxkc.errors import ValidationError
from okxkc.kucoin.operations import OPERATIONS as KC_OPS
from okxkc.okx.operations import OPERATIONS as OKX_OPS

OPS = [*OKX_OPS, *KC_OPS]

# Values chosen to sit on both sides of every fast-path test: canonical and
# non-canonical decimals, zero, signs, 64-bit bounds, bool look-alikes, non-ASCII and
# lone surrogates, and types the full checks convert or refuse.
_TRICKY: list[Any] = [
    None, "", " ", "0", "00", "0.0", "0.01", "20000", "1.", ".5", "-1", "+1", "1e5",
    "1.2.3", "٣", "²", "x" * 101, "1" * 101, "buy", "sell", "cash", "ioc", "GTC", "limit",
    "abc123", "a" * 33, "é", "\ud800", "true", "false", True, False, 0, 1, -1, 2**63 - 1,
    2**63, -(2**63), -(2**63) - 1, 1.5, 0.0, Decimal("1.5"), Decimal("NaN"), [], [{}],
    {}, ["a"], b"1",
]  # fmt: skip


_DECIMALS: list[Any] = [
    "0", "00", "0.0", "0.00", "0.01", "1", "007", "20000", "1.", ".5", ".", "-1", "-0.5",
    "+1", "1e5", " 1", "1 ", "1.2.3", "٣", "1" * 100, "1" * 101, "0." + "1" * 98, 1, 0,
    1.5, Decimal("1.50"), True, None, "",
]  # fmt: skip


def _near(op: Operation, name: str) -> list[Any]:
    """Values on both sides of the fast-path test of field ``name``."""
    p = op.fields.get(name)
    near: list[Any] = list(p.choices) if p is not None and p.choices else ["a1"]
    if p is not None and p.kind is Kind.DEC:
        near = _DECIMALS
    elif p is not None and p.kind is Kind.INT:
        near = [0, 1, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, "1", True, 1.0]
    elif p is not None and p.pattern is not None:
        near = ["a1", "", "a" * 16, "a" * 17, "a" * 32, "a" * 33, "a-1", "é1", "\ud800"]
    return near


def _value(op: Operation, name: str) -> st.SearchStrategy[Any]:
    near = _near(op, name)
    return st.one_of(
        st.sampled_from(near),
        st.sampled_from(near),
        st.sampled_from(near),
        st.sampled_from(_TRICKY),
        st.text(alphabet="0123456789.-+eé ", max_size=8),
        st.integers(min_value=-(2**64), max_value=2**64),
    )


def _good(p: Param) -> Any:
    if p.choices:
        return p.choices[0]
    good = {Kind.DEC: "1", Kind.INT: 1, Kind.BOOL: True, Kind.STRLIST: ["a1"], Kind.OBJ: {}}
    return good.get(p.kind, [{}] if p.kind is Kind.LIST else "a1")


def _well_formed(op: Operation) -> dict[str, Any]:
    """A call the full checks accept: the required fields, one of each group, and
    what a condition on the defaults needs."""
    out = {p.name: _good(p) for p in op.params if p.required}
    for group in op.one_of:
        out.setdefault(group[0], _good(op.fields[group[0]]))
    for _key, _vals, needed in (*op.required_if, *op.required_unless):
        out.setdefault(needed[0], _good(op.fields[needed[0]]))
    for group in op.exclusive:
        for extra in [g for g in group if g in out][1:]:
            del out[extra]
    return out


def _params(op: Operation) -> st.SearchStrategy[dict[str, Any]]:
    """A well-formed call with a few fields changed, added or removed."""
    names = [p.name for p in op.params] + ["sidee", "unknownField"]
    # Mostly the op's own fields, sometimes a name it does not have.
    name = st.one_of(*[st.sampled_from(names[:-2])] * 4, st.sampled_from(names[-2:]))
    change = name.flatmap(lambda n: st.tuples(st.just(n), _value(op, n)))
    changes = st.lists(change, max_size=3).map(dict)
    drops = st.sets(st.sampled_from(names), max_size=1)

    def build(changed: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
        out = {**_well_formed(op), **changed}
        return {k: v for k, v in out.items() if k not in dropped}

    return st.builds(build, changes, drops)


def _full(op: Operation) -> Operation:
    """The same op without its generated check: the full checks only."""
    plain = attrs.evolve(op)
    assert plain.fast_check is None
    return plain


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.op}-{op.method}")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_generated_check_passes_only_what_the_full_checks_send_unchanged(
    op: Operation, data: st.DataObject
) -> None:
    if op.fast_check is None:
        return  # no field of this op can take the fast path
    _agrees(op, data.draw(_params(op)))


def test_the_common_orders_take_the_fast_path() -> None:
    okx_order = {"instIdCode": 100001, "tdMode": "cash", "side": "buy", "ordType": "ioc",
                 "px": "20000", "sz": "0.01"}  # fmt: skip
    op = next(o for o in OKX_OPS if o.method == "submit_new_order")
    assert op.fast_check is not None and op.fast_check(okx_order)
    assert validate_item(op, okx_order) == okx_order
    # Not sent as it is: a float price, a None to drop, an unlisted name, a broken rule.
    for changed in ({"px": 20000.5}, {"px": None}, {"sidee": "buy"}, {"px": "1.", "sz": "0"}):
        assert not op.fast_check({**okx_order, **changed})
    assert not op.fast_check({k: v for k, v in okx_order.items() if k != "side"})
    kc_order = {"clientOid": "a1", "side": "buy", "symbol": "BTC-USDT", "type": "limit",
                "price": "20000", "size": "0.01", "timeInForce": "IOC"}  # fmt: skip
    kc_op = next(o for o in KC_OPS if o.method == "submit_new_spot_order")
    assert kc_op.fast_check is not None and kc_op.fast_check(kc_order)


def _agrees(op: Operation, params: dict[str, Any]) -> None:
    assert op.fast_check is not None
    if not op.fast_check(params):
        return
    try:
        sent = validate_item(_full(op), params)
    except ValidationError as exc:  # pragma: no cover - the failure this test is for
        pytest.fail(f"the generated check passed {params!r}, the full checks refuse: {exc}")
    assert sent == params, f"the generated check passed {params!r}, the full checks send {sent!r}"
    assert [type(v) for v in sent.values()] == [type(v) for v in params.values()]


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.op}-{op.method}")
def test_each_field_value_near_the_fast_path_edge(op: Operation) -> None:
    if op.fast_check is None:
        return
    for p in op.params:
        for value in [*_near(op, p.name), *_TRICKY]:
            _agrees(op, {**_well_formed(op), p.name: value})


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.op}-{op.method}")
def test_well_formed_calls_take_the_fast_path(op: Operation) -> None:
    call = _well_formed(op)
    assert validate_item(_full(op), call) == call
    if op.fast_check is not None and all(
        op.fields[k].kind not in (Kind.LIST, Kind.STRLIST, Kind.OBJ) for k in call
    ):
        assert op.fast_check(call)


@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.op}-{op.method}")
def test_a_refused_call_names_the_same_field_with_or_without_the_generated_check(
    op: Operation,
) -> None:
    # The generated check never raises: every refusal comes from the full checks.
    good = _well_formed(op)
    for name in [p.name for p in op.params if p.required]:
        broken = {k: v for k, v in good.items() if k != name}
        with pytest.raises(ValidationError) as fast:
            validate_item(op, broken)
        with pytest.raises(ValidationError) as full:
            validate_item(_full(op), broken)
        assert fast.value.field == full.value.field
