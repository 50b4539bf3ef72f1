"""The chart's Argo CD health checks (charts/spiris-operator/docs/argocd/*.lua) run in a real Lua (lupa).

Argo CD runs a health script with the live object as the global ``obj`` and reads the table it returns. The
statuses here are built the way the reconcilers build them: the phases, condition types and reasons come
from ``spiris_sync.job_contract`` and the conditions from ``spiris_operator.conditions`` (the operator's own
merge), and every phase the CRDs allow is checked, so a new phase without a health mapping fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from spiris_operator import conditions
from spiris_operator.conditions import Condition
from spiris_sync.job_contract import ConditionType, JobOutcome, Phase, Reason
from testkit.chart_render import CHART
from testkit.paths import REPO

lupa = pytest.importorskip("lupa")
pytestmark = pytest.mark.timeout(60)

SCRIPTS = CHART / "docs" / "argocd"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ARGO_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def _health(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute((SCRIPTS / script).read_text())
    assert result["status"] in ARGO_STATUSES
    return str(result["status"]), str(result["message"] or "")


def _obj(kind: str, status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "spiris.senseworks.io/v1alpha1", "kind": kind,
                           "metadata": {"name": "acme", "namespace": "clients", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


def _conds(*wanted: Condition) -> list[dict[str, Any]]:
    return list(conditions.merge(None, list(wanted), generation=1, now=NOW))


def _crd_phases(kind: str) -> list[str]:
    path = REPO / "crds" / f"spiris.senseworks.io_{kind.lower()}s.yaml"
    crd = yaml.safe_load(path.read_text())
    status = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return list(status["properties"]["phase"]["enum"])


READY = Condition.true(ConditionType.READY, Reason.FISCAL_YEAR_RESOLVED, "fiscal year resolved")


@pytest.mark.parametrize(("status", "health", "said"), [
    (None, "Progressing", "Waiting for the operator"),
    ({"phase": Phase.PENDING, "conditions": _conds(Condition.false(
        ConditionType.READY, Reason.CONNECTION_NOT_READY, "SpirisConnection 'acme' is not Ready"))},
     "Progressing", "Pending: SpirisConnection 'acme' is not Ready"),
    ({"phase": Phase.PENDING, "conditions": _conds(Condition.false(
        ConditionType.READY, Reason.FISCAL_YEAR_NOT_FOUND, "no fiscal year starts in 2031"))},
     "Degraded", "no fiscal year starts in 2031"),
    ({"phase": Phase.QUEUED, "conditions": _conds(READY)}, "Progressing", "Queued"),
    ({"phase": Phase.RUNNING, "progress": {"percent": 40}, "conditions": _conds(READY)},
     "Progressing", "Running (40 %)"),
    ({"phase": Phase.SUCCEEDED, "lastSuccessfulSyncTime": "2026-12-01T09:00:00Z", "conditions": _conds(
        Condition.true(ConditionType.SYNCED, JobOutcome.SUCCEEDED, "Job acme-2025-x finished: Succeeded"),
        READY)},
     "Healthy", "Synced at 2026-12-01T09:00:00Z"),
    ({"phase": Phase.DEGRADED, "lastJobOutcome": JobOutcome.DEGRADED, "conditions": _conds(READY)},
     "Degraded", "documents missing"),
    ({"phase": Phase.FAILED, "lastJobOutcome": JobOutcome.CONSENT_REQUIRED, "conditions": _conds(
        Condition.false(ConditionType.SYNCED, JobOutcome.CONSENT_REQUIRED,
                        "Job acme-2025-x failed: ConsentRequired; not retried automatically"))},
     "Degraded", "failed: ConsentRequired"),
])
def test_fiscal_year_sync_health(status: dict[str, Any] | None, health: str, said: str) -> None:
    got, message = _health("fiscalyearsync-health.lua", _obj("FiscalYearSync", status))
    assert got == health
    assert said in message


@pytest.mark.parametrize(("status", "health", "said"), [
    (None, "Progressing", "Waiting for the operator"),
    ({"phase": Phase.PENDING_CONSENT, "consentUrl": "https://consent.example.com/consent/x"},
     "Suspended", "Waiting for consent"),
    ({"phase": Phase.CONNECTED, "observedGeneration": 1, "conditions": _conds(
        Condition.true(ConditionType.READY, "Connected", "connected to Acme AB"))},
     "Healthy", "connected to Acme AB"),
    ({"phase": Phase.CONNECTED, "observedGeneration": 1, "conditions": _conds(
        Condition.false(ConditionType.READY, Reason.REFRESH_FAILED, "the token could not be refreshed"))},
     "Degraded", "could not be refreshed"),
    ({"phase": Phase.RECONSENT_REQUIRED, "conditions": _conds(
        Condition.false(ConditionType.READY, "ReconsentRequired", "consent was withdrawn in Spiris"))},
     "Degraded", "ReconsentRequired: consent was withdrawn"),
    ({"phase": Phase.SUSPENDED}, "Suspended", "spec.suspend"),
])
def test_spiris_connection_health(status: dict[str, Any] | None, health: str, said: str) -> None:
    got, message = _health("spirisconnection-health.lua", _obj("SpirisConnection", status))
    assert got == health
    assert said in message


def test_a_connection_whose_new_spec_is_not_seen_yet_is_progressing() -> None:
    status = {"phase": Phase.CONNECTED, "observedGeneration": 1,
              "conditions": _conds(Condition.true(ConditionType.READY, "Connected", "ok"))}
    assert _health("spirisconnection-health.lua", _obj("SpirisConnection", status, generation=2))[0] == (
        "Progressing")


@pytest.mark.parametrize(("kind", "script"), [
    ("FiscalYearSync", "fiscalyearsync-health.lua"), ("SpirisConnection", "spirisconnection-health.lua"),
])
def test_every_phase_the_crd_allows_has_a_health(kind: str, script: str) -> None:
    for phase in _crd_phases(kind):
        assert phase in {p.value for p in Phase}
        got, _ = _health(script, _obj(kind, {"phase": phase}))
        assert got != "Unknown", phase


def test_the_readme_shows_how_to_install_them() -> None:
    readme = (REPO / "README.md").read_text()
    for kind, script in (("SpirisConnection", "spirisconnection"), ("FiscalYearSync", "fiscalyearsync")):
        assert f"resource.customizations.health.spiris.senseworks.io_{kind}" in readme
        assert f"charts/spiris-operator/docs/argocd/{script}-health.lua" in readme
    assert Path(SCRIPTS).is_dir()
