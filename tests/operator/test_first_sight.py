"""First sight after a start or failover: settled objects wait for their due time, the rest run at once."""

from __future__ import annotations

from typing import Any

from spiris_operator import first_sight


def _connection(phase: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": 2, "annotations": {}},
        "status": {"phase": phase, "observedGeneration": 2, **status},
    }


def test_a_connection_is_settled_when_status_answers_spec_annotations_and_token() -> None:
    connected = _connection("Connected", verifiedTokenVersion="41")
    assert first_sight.connection_settled(connected)
    assert first_sight.token_matches(connected, "41")
    assert not first_sight.token_matches(connected, "42")  # the token changed while no operator ran
    assert not first_sight.token_matches(connected, None)  # its Secret is gone
    pending = _connection("PendingConsent")
    assert first_sight.token_matches(pending, None) and not first_sight.token_matches(pending, "7")
    respec = {**connected, "metadata": {"generation": 3}}
    assert not first_sight.connection_settled(respec)
    asked = {
        **connected,
        "metadata": {"generation": 2, "annotations": {"spiris.senseworks.io/rotate-consent-link": "x"}},
    }
    assert not first_sight.connection_settled(asked)
    assert not first_sight.connection_settled({"metadata": {"generation": 1}, "status": {}})


def test_a_sync_is_settled_when_finished_or_waiting_for_its_connection() -> None:
    def fys(phase: str, reason: str = "", **status: Any) -> dict[str, Any]:
        conditions = [{"type": "Ready", "status": "False", "reason": reason}] if reason else []
        return {
            "metadata": {"generation": 1, "annotations": {}},
            "status": {"phase": phase, "observedGeneration": 1, "conditions": conditions, **status},
        }

    assert first_sight.sync_settled(fys("Succeeded"))
    assert first_sight.sync_settled(fys("Pending", "ConnectionNotReady"))
    assert first_sight.sync_waits_for_connection(fys("Pending", "ConnectionNotReady"))
    assert not first_sight.sync_settled(fys("Running"))  # follow its Job now
    assert not first_sight.sync_settled(fys("Queued"))
    assert not first_sight.sync_settled(fys("Pending", "FiscalYearNotFound"))
    requested = fys("Succeeded")
    requested["metadata"]["annotations"]["spiris.senseworks.io/sync-requested-at"] = "now"
    assert not first_sight.sync_settled(requested)
