"""Progress lands in the FiscalYearSync status while the worker runs; a dead API never fails the run."""

from __future__ import annotations

import pytest
from spiris_sync.kube_progress import FiscalYearSyncStatusProgress, custom_objects_api
from spiris_sync.progress import BudgetStatus, ProgressSnapshot
from testkit.sync_stack import summary_of

FYS_PATH = "/apis/spiris.senseworks.io/v1alpha1/namespaces/{ns}/fiscalyearsyncs"


def _create_fys(kube_cluster, namespace: str, name: str) -> None:
    kube_cluster.json(
        "POST",
        FYS_PATH.format(ns=namespace),
        {
            "apiVersion": "spiris.senseworks.io/v1alpha1",
            "kind": "FiscalYearSync",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"connectionRef": {"name": "acme"}, "fiscalYear": 2025},
        },
    )


def _get_fys(kube_cluster, namespace: str, name: str) -> dict:
    return kube_cluster.json("GET", FYS_PATH.format(ns=namespace) + f"/{name}")


@pytest.mark.timeout(120)
def test_worker_publishes_progress_into_status(
    make_stack, kube_cluster, kube_namespace, chart_access
) -> None:
    """As the chart's sync ServiceAccount, whose only right is patching FiscalYearSync status."""
    _create_fys(kube_cluster, kube_namespace, "acme-2025")
    stack = make_stack(vouchers_per_year=80, fiscal_years=(2025,))
    env = stack.env(
        KUBECONFIG=chart_access.kubeconfig("sync"),
        SPIRIS_FYS_NAMESPACE=kube_namespace,
        SPIRIS_FYS_NAME="acme-2025",
    )
    done = stack.run_cli(*stack.cli_run_args(2025), env=env)
    assert done.returncode == 0, done.stderr
    counts = summary_of(done)["counts"]
    status = _get_fys(kube_cluster, kube_namespace, "acme-2025")["status"]
    assert status["phase"] == "Running"  # the final phase is the operator's to set when the Job ends
    progress = status["progress"]
    assert progress["vouchers"] == {"done": counts["vouchers"], "total": counts["vouchers"]}
    assert progress["documents"]["done"] == progress["documents"]["total"] > 0
    assert progress["percent"] == 100
    assert "access_token" not in str(status)


@pytest.mark.timeout(60)
def test_patches_are_throttled_with_a_final_one(kube_cluster, kube_namespace, chart_access) -> None:
    _create_fys(kube_cluster, kube_namespace, "throttled")
    now = [0.0]
    from kubernetes import client, config

    api = client.CustomObjectsApi(config.new_client_from_config(config_file=chart_access.kubeconfig("sync")))
    writes = []
    patch = api.patch_namespaced_custom_object_status

    def counted(*args, **kwargs):
        writes.append(args)
        return patch(*args, **kwargs)

    api.patch_namespaced_custom_object_status = counted
    listener = FiscalYearSyncStatusProgress(
        namespace=kube_namespace, name="throttled", api_factory=lambda: api, clock=lambda: now[0]
    )
    for step in range(1, 101):  # 100 updates within 3 simulated seconds
        now[0] = step * 0.03
        listener.update(ProgressSnapshot(vouchers_done=step, vouchers_total=100))
    listener.finish(ProgressSnapshot(vouchers_done=100, vouchers_total=100), outcome="succeeded")
    fys = _get_fys(kube_cluster, kube_namespace, "throttled")
    assert 2 <= len(writes) <= 3  # t=0.03, t≈2.04, and the final one
    assert fys["status"]["progress"]["vouchers"] == {"done": 100, "total": 100}


@pytest.mark.timeout(60)
def test_budget_waits_are_visible_in_status(kube_cluster, kube_namespace, chart_access) -> None:
    """status.budget survives the real API server's schema (not pruned) beside the progress."""
    _create_fys(kube_cluster, kube_namespace, "waiting")
    listener = FiscalYearSyncStatusProgress(
        namespace=kube_namespace,
        name="waiting",
        api_factory=lambda: custom_objects_api(chart_access.kubeconfig("sync")),
    )
    budget = BudgetStatus(priority="backfill", queue_position=3, wait_seconds=12.3456)
    listener.update(ProgressSnapshot(documents_done=2, documents_total=9, budget=budget))
    status = _get_fys(kube_cluster, kube_namespace, "waiting")["status"]
    assert status["budget"] == {"priority": "backfill", "queuePosition": 3, "waitSeconds": 12.346}
    assert status["progress"]["documents"] == {"done": 2, "total": 9}
    # No queue position (a new class, or no wait yet): the merge patch's null removes the stale one.
    listener.finish(ProgressSnapshot(budget=BudgetStatus(priority="on-demand")), outcome="succeeded")
    status = _get_fys(kube_cluster, kube_namespace, "waiting")["status"]
    assert status["budget"] == {"priority": "on-demand", "waitSeconds": 0}


@pytest.mark.timeout(120)
def test_unreachable_kubernetes_api_does_not_fail_the_run(make_stack, tmp_path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        "clusters: [{name: dead, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: dead, context: {cluster: dead, user: nobody}}]\n"
        "users: [{name: nobody, user: {}}]\n"
    )
    stack = make_stack(vouchers_per_year=20, fiscal_years=(2025,))
    env = stack.env(KUBECONFIG=str(kubeconfig), SPIRIS_FYS_NAMESPACE="ns", SPIRIS_FYS_NAME="gone")
    done = stack.run_cli(*stack.cli_run_args(2025), env=env)
    assert done.returncode == 0, done.stderr
    assert "could not publish progress" in done.stderr
    assert summary_of(done)["outcome"] == "succeeded"
