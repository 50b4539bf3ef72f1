"""Scenario 8's fairness arithmetic (`benchmarks/fairness.py`): grants per second waiting, Jain's index."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _fairness() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "fairness.py"
    spec = importlib.util.spec_from_file_location("bench_fairness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fairness = _fairness()


def test_a_company_waits_once_while_several_of_its_requests_wait_together() -> None:
    rates = fairness.waiting_rates(
        requests={
            # two requests queued at once for 2 s, then one more for 1 s: 3 grants in 3 s of waiting
            "big": [(0.0, 2.0), (0.0, 2.0), (5.0, 6.0)],
            # one request at a time, each waiting 1 s; the time between them is its own, not counted
            "small": [(0.0, 1.0), (4.0, 5.0), (8.0, 9.0)],
            "idle": [],
        },
        begin=0.0,
        end=10.0,
    )
    assert rates == {"big": pytest.approx(1.0), "small": pytest.approx(1.0)}
    assert fairness.jain_index(list(rates.values())) == pytest.approx(1.0)


def test_serving_requests_first_come_first_served_favours_the_company_with_more_queued() -> None:
    # FIFO with one request of "small" and three of "big" queued in the same second: each request waits 1 s,
    # so "big" is served three times as fast while both wait; round robin would serve one of each per turn
    fifo = fairness.waiting_rates(
        requests={"big": [(0.0, 1.0)] * 3, "small": [(0.0, 1.0)]}, begin=0.0, end=1.5
    )
    assert fifo == {"big": pytest.approx(3.0), "small": pytest.approx(1.0)}
    assert fairness.jain_index(list(fifo.values())) == pytest.approx(16 / 20)
    # only the window counts: a request asked before it and granted inside waits from its start
    clipped = fairness.waiting_rates(requests={"a": [(-5.0, 1.0)]}, begin=0.0, end=2.0)
    assert clipped == {"a": pytest.approx(1.0)}
