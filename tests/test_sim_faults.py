"""The simulators' shared fault plan: which decision each rule gives, in order."""

from __future__ import annotations

import pytest

from okxkc.testing._server import Faults
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator


def test_rules_are_consumed_in_order_per_op() -> None:
    f = Faults()
    f.supports_queued_execution = True
    f.drop_after_execution("order")
    f.drop_next("order")
    f.drop_then_execute("cancel-order", after=0.25)
    assert f.decide("amend-order").normal
    first, second = f.decide("order"), f.decide("order")
    assert (first.drop, first.process, first.reply) == (True, True, False)
    assert (second.drop, second.process, second.execute_after) == (True, False, None)
    queued = f.decide("cancel-order")
    assert (queued.drop, queued.process, queued.execute_after) == (True, False, 0.25)
    assert f.decide("order").normal and f.decide("cancel-order").normal
    assert dict(f.injected) == {"drop": 2, "drop_queued": 1}


def test_queued_execution_only_where_the_simulator_models_it() -> None:
    assert OkxSimulator().faults.supports_queued_execution
    assert KucoinSimulator().faults.supports_queued_execution
    with pytest.raises(NotImplementedError):
        Faults().drop_then_execute("spot.order")
    kucoin = KucoinSimulator()
    kucoin.faults.drop_after_execution("spot.order")  # shared: apply, then cut
    assert kucoin.faults.decide("spot.order").process


def test_rest_failures_are_taken_one_by_one_and_cleared() -> None:
    f = Faults()
    f.fail_rest_next(2, status=502)
    assert [f.take_rest_failure(), f.take_rest_failure(), f.take_rest_failure()] == [
        502,
        502,
        None,
    ]
    f.fail_rest_next()
    f.clear()
    assert f.take_rest_failure() is None
