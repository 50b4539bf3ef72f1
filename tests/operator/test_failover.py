"""Two operator replicas on the real API server: one active by the Lease, failover after SIGKILL within 30 s,
with no duplicate Job and the token still usable (refreshed once, by one replica, never lost)."""

from __future__ import annotations

import time

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from spiris_connection import token_secret
from spiris_localstack.processes import free_port
from spiris_operator.kube_api import KubeApi
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import (
    condition,
    consent_token,
    create_connection,
    create_fiscal_year_sync,
    patch_connection_spec,
    store_consent,
)
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(240)

LEASE = "spiris-operator-leader"
JOBS = "app.kubernetes.io/component=sync-job"


def _holder(kube: KubeApi, namespace: str) -> str:
    try:
        lease = k8s.CoordinationV1Api(kube.api_client).read_namespaced_lease(LEASE, namespace)
    except ApiException:
        return ""
    return str(lease.spec.holder_identity or "") if lease.spec else ""


def _own_ports(env: dict[str, str]) -> dict[str, str]:
    """A second replica on this host needs its own liveness and metrics ports (pods each have their own)."""
    return {
        **env,
        "SPIRIS_OPERATOR_HEALTH_PORT": str(free_port()),
        "SPIRIS_OPERATOR_METRICS_PORT": str(free_port()),
    }


def _pid_of(identity: str) -> int:
    return int(identity.rsplit("-", 1)[1])


def test_standby_takes_over_within_30_s_of_a_sigkill(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env
) -> None:
    env = {**spiris_env, "SPIRIS_LEADER_ELECTION_NAMESPACE": kube_namespace}
    first = start_operator(**env)
    wait_for(lambda: _holder(kube, kube_namespace), what="a leader")
    second = start_operator(**_own_ports(env))
    # Python's start-up on a loaded machine takes seconds: the failover clock starts once both stand.
    wait_for(lambda: "standing by" in second.output, timeout=120, what="the second replica standing by")
    replicas = {first.process.pid: first, second.process.pid: second}  # type: ignore[union-attr]
    create_connection(kube, kube_namespace, "acme")
    wait_for(
        lambda: (
            (kube.get_custom("spirisconnections", kube_namespace, "acme") or {})
            .get("status", {})
            .get("consentUrl")
        ),
        what="a consent link",
    )
    leader_id = _holder(kube, kube_namespace)
    leader = replicas[_pid_of(leader_id)]
    standby = next(p for pid, p in replicas.items() if p is not leader)
    # The standby runs no Kopf: it made no status writes and posted nothing.
    assert "elected leader" not in standby.output
    killed = time.monotonic()
    leader.kill()
    # A change made right after the crash is handled by the new leader.
    kube.patch_metadata("spirisconnections", kube_namespace, "acme", {"annotations": {"touch": "1"}})
    patch_connection_spec(kube, kube_namespace, "acme", {"displayName": "Acme after failover"})

    def handled() -> bool:
        body = kube.get_custom("spirisconnections", kube_namespace, "acme") or {}
        return (body.get("status") or {}).get("observedGeneration") == body["metadata"]["generation"]

    wait_for(handled, timeout=60, what="the new leader's reconcile")
    failover = time.monotonic() - killed
    new_id = _holder(kube, kube_namespace)
    assert new_id and new_id != leader_id
    assert "elected leader" in standby.output
    print(f"failover seconds: {failover:.1f}")
    assert failover <= 30, f"failover took {failover:.1f} s"


def test_failover_mid_sync_makes_no_duplicate_job_and_keeps_the_token(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node,
) -> None:
    # Short-lived access tokens: refreshes happen during the test, on both sides of the failover.
    env = {
        **spiris_env,
        **sync_stack,
        "SPIRIS_LEADER_ELECTION_NAMESPACE": kube_namespace,
    }
    first = start_operator(**env)
    wait_for(lambda: _holder(kube, kube_namespace), what="a leader")
    second = start_operator(**_own_ports(env))
    wait_for(lambda: "standing by" in second.output, timeout=120, what="the second replica standing by")
    replicas = {first.process.pid: first, second.process.pid: second}  # type: ignore[union-attr]
    connection = create_connection(kube, kube_namespace, "acme")
    store_consent(kube, connection, consent_token(sandbox.url))
    wait_for(
        lambda: (
            condition(kube.get_custom("spirisconnections", kube_namespace, "acme"), "Ready").get("status")
            == "True"
        ),
        what="connection Ready",
    )
    sandbox_control.faults(slow_ms=80)
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2025", {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}
    )
    wait_for(lambda: kube.list_jobs(kube_namespace, selector=JOBS), what="a Job")
    leader = replicas[_pid_of(_holder(kube, kube_namespace))]
    leader.kill()
    wait_for(
        lambda: (
            (kube.get_custom("fiscalyearsyncs", kube_namespace, "acme-2025") or {})
            .get("status", {})
            .get("phase")
            in {"Succeeded", "Degraded"}
        ),
        timeout=150,
        what="the sync finished under the new leader",
    )
    jobs = kube.list_jobs(kube_namespace, selector=JOBS)
    assert [j["metadata"]["name"] for j in jobs] == ["acme-2025-sync-1"]
    # The token survived: the new leader can still use (and refresh) it.
    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None and stored.token.refresh_token
    kube.patch_metadata(
        "spirisconnections",
        kube_namespace,
        "acme",
        {"annotations": {"spiris.senseworks.io/verify-requested-at": "after-failover"}},
    )
    wait_for(
        lambda: (
            (kube.get_custom("spirisconnections", kube_namespace, "acme") or {})
            .get("status", {})
            .get("handledVerifyRequest")
            == "after-failover"
        ),
        what="the new leader verified the token at Spiris",
    )
    assert (
        condition(kube.get_custom("spirisconnections", kube_namespace, "acme"), "Ready")["status"] == "True"
    )


def test_lease_one_winner_takeover_after_expiry_and_release(kube: KubeApi, kube_namespace: str) -> None:
    from spiris_operator.leader_lease import LeaderLease, LeaseSettings

    clock = [0.0]
    api = k8s.CoordinationV1Api(kube.api_client)

    def candidate(identity: str) -> LeaderLease:
        settings = LeaseSettings(namespace=kube_namespace, identity=identity, lease_duration=15)
        return LeaderLease(api, settings, clock=lambda: clock[0])

    a, b = candidate("a"), candidate("b")
    assert a.try_acquire_or_renew() is True
    assert b.try_acquire_or_renew() is False  # held, and b has only just observed it
    clock[0] += 10
    assert a.try_acquire_or_renew() is True  # renewed: b's observation restarts
    clock[0] += 10
    assert b.try_acquire_or_renew() is False
    # a dies (stops renewing): b takes over once the record stood unchanged for the lease duration.
    clock[0] += 16
    assert b.try_acquire_or_renew() is True and _holder(kube, kube_namespace) == "b"
    assert not a.is_leader
    assert a.try_acquire_or_renew() is False  # the old leader, back, does not steal it
    # A clean shutdown hands over at once.
    b.release()
    assert a.try_acquire_or_renew() is True and _holder(kube, kube_namespace) == "a"
