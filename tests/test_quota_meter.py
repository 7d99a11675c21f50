"""QuotaMeter: the one fuel budget engines and host functions charge."""

from __future__ import annotations

import pytest

from ispc_core.context import QuotaMeter
from ispc_core.errors import OutOfFuel
from ispc_core.specs import Limits


def test_charge_fuel_counts_and_reports_the_total():
    meter = QuotaMeter(Limits(fuel=1_000))
    meter.charge_fuel(400)
    meter.charge_fuel(600)  # exactly the budget is allowed
    assert meter.fuel_used == 1_000 and meter.usage()["fuel_used"] == 1_000
    with pytest.raises(OutOfFuel, match=r"out of fuel in ispc_alloc: 1001 used of 1000") as info:
        meter.charge_fuel(1, where="in ispc_alloc")
    assert (info.value.used, info.value.allowed, info.value.limit) == (1_001, 1_000, "fuel")


def test_engine_fuel_and_host_costs_share_one_budget():
    meter = QuotaMeter(Limits(fuel=1_000))
    meter.charge_host_call("tx.transfer", cost=300)
    with pytest.raises(OutOfFuel, match="1100 used of 1000") as info:
        meter.charge_fuel(800)
    assert info.value.used == 1_100
    meter = QuotaMeter(Limits(fuel=1_000))
    meter.charge_fuel(900)
    with pytest.raises(OutOfFuel, match="in host function state.set: 1100 used of 1000"):
        meter.charge_host_call("state.set", cost=200)


def test_exhausted_raises_at_the_budget_and_says_more_was_needed():
    meter = QuotaMeter(Limits(fuel=500))
    with pytest.raises(OutOfFuel, match="500 used of 500 and needed more") as info:
        meter.charge_fuel(500, exhausted=True)
    assert info.value.used == 500


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_charge_fuel_refuses_non_counts(bad):
    with pytest.raises(TypeError):
        QuotaMeter(Limits()).charge_fuel(bad)
