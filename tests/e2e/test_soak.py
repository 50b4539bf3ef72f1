"""The soak driver of `make soak`, short: three companies, one kill of each kind, equal, Ready, unique.

The full soak (six minutes, a kill about every 20 s) is `make soak`; this runs the same driver with a short
window and five kills — operator, web, a sync pod, Postgres and S3, once each in a seeded order — so CI
covers the restarts in place, the headless consent and the final checks. The timeline itself is checked to
be reproducible from its seed and to contain every kind of kill.
"""

from __future__ import annotations

import random
import re

import pytest
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.soak import TARGETS, SoakOptions, plan_events, run_soak
from testkit.paths import CHART, CRDS, KUBEPLANE_SOURCE

LAST_LINE = re.compile(r"^soak: companies (\d+), equal (\d+), ready (\d+), duplicates (\d+), kills (\d+)$")


def test_timeline_is_seeded_and_kills_every_kind() -> None:
    first = plan_events(random.Random(3), duration=120, kills=5)
    assert first == plan_events(random.Random(3), duration=120, kills=5)
    kills = [e for e in first if e.kind in TARGETS]
    assert sorted(e.kind for e in kills) == sorted(TARGETS)
    assert all(0 < e.at < 120 for e in first)
    assert [e.at for e in first] == sorted(e.at for e in first)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_short_soak_ends_equal_ready_and_without_duplicates() -> None:
    lines: list[str] = []
    options = SoakOptions(
        duration=50, kills=5, seed=11, vouchers_per_year=80, settle_timeout=300,
        crd_dir=CRDS, chart_dir=CHART, kubeplane=kubeplane_binary(source_dir=KUBEPLANE_SOURCE),
    )
    result = run_soak(options, say=lines.append)
    last = result.last_line()
    print("\n".join([*lines, last]))
    found = LAST_LINE.match(last)
    assert found is not None, last
    companies, equal, ready, duplicates, kills = map(int, found.groups())
    assert (companies, equal, ready, duplicates, kills) == (3, 3, 3, 0, 5), "\n".join(lines[-30:])
    assert result.ok
    # Every kind of kill happened inside the window, each logged with its PID or pod.
    logged = "\n".join(lines)
    for kind in ("kill operator", "kill web", "kill job", "kill postgres", "kill s3"):
        assert kind in logged
