"""From the chart to a sync Job: the operator, configured by the chart's environment, builds Jobs that fit.

The operator Deployment's env (rendered by the chart, Secret values filled in as the kubelet would) is fed to
the operator's own settings loader and Job builder. The Job must validate strictly, run as the image's user
with a hardened context, use the sync ServiceAccount the chart creates in that namespace, read credentials
only from the Secrets the chart's values name, and be selected by the chart's sync NetworkPolicy.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_validate import utils as kubernetes_validate
from testkit.chart_render import KUBE_VERSIONS, env_of, load_values, manifests, of_kind, one

pytestmark = pytest.mark.timeout(60)


def _operator_environment(objects: list[dict[str, Any]]) -> dict[str, str]:
    [container] = one(objects, "Deployment", "operator")["spec"]["template"]["spec"]["containers"]
    environment = {}
    for name, entry in env_of(container).items():
        if "value" in entry:
            environment[name] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            environment[name] = f"secret-from-{ref['name']}-{ref['key']}-0123456789"
    return environment


def _job(value_set: str, namespace: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from spiris_operator.settings import load_settings
    from spiris_operator.sync_jobs import build_job

    objects = manifests(load_values(value_set))
    settings = load_settings(_operator_environment(objects))
    connection = {"metadata": {"name": "acme-bygg", "namespace": namespace, "uid": "0b5c-conn"}, "spec": {}}
    fys = {
        "metadata": {"name": "acme-bygg-2025", "namespace": namespace, "uid": "0b5c-fys"},
        "spec": {"connectionRef": {"name": "acme-bygg"}, "fiscalYear": 2025},
    }
    job = build_job(
        fys=fys,
        connection=connection,
        run=1,
        fiscal_year=2025,
        fiscal_year_id="7c2e1a7e-4b1d-4f61-9d55-2a4e0f3c9b10",
        settings=settings.jobs,
        trigger="test",
    )
    return job, objects


@pytest.mark.parametrize(
    ("value_set", "namespace"),
    [
        ("watch-namespaces-values", "clients-b"),
        ("sandbox-values", "spiris-system"),
        ("database-roles-values", "clients"),
    ],
)
def test_jobs_built_from_the_charts_settings_fit_the_chart(value_set: str, namespace: str) -> None:
    job, objects = _job(value_set, namespace)
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    operator_container = one(objects, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == operator_container["image"]
    assert container["imagePullPolicy"] == operator_container["imagePullPolicy"]
    # The sync ServiceAccount exists in the Job's namespace, bound to the sync role.
    accounts = {
        (a["metadata"]["namespace"], a["metadata"]["name"]) for a in of_kind(objects, "ServiceAccount")
    }
    assert (namespace, pod["serviceAccountName"]) in accounts
    bindings = [b for b in of_kind(objects, "RoleBinding") if b["metadata"]["namespace"] == namespace]
    assert any(
        {"kind": "ServiceAccount", "name": pod["serviceAccountName"], "namespace": namespace} in b["subjects"]
        and b["roleRef"]["name"].endswith("-sync")
        for b in bindings
    )
    # Hardened like the chart's own pods, as the image's user.
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # Credentials only by reference, to the Secrets the values name; no client secret at all.
    values = load_values(value_set)
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    # The worker's database role when the values name one (README "Database roles"), else the one Secret.
    database = values["database"]
    worker = database.get("worker", {}).get("existingSecret") or database["existingSecret"]
    assert refs == {
        "DATABASE_URL": worker,
        "S3_ACCESS_KEY": values["s3"]["existingSecret"],
        "S3_SECRET_KEY": values["s3"]["existingSecret"],
    }
    # The client id is public (it is in every authorize URL) and keys the shared rate budget; nothing else
    # that comes from a Secret may appear as a literal.
    literal = " ".join([*(str(e.get("value", "")) for e in container["env"]), *container["command"]])
    client_id = _operator_environment(objects)["SPIRIS_CLIENT_ID"]
    leaked = [word for word in literal.split() if word.startswith("secret-from-") and word != client_id]
    assert leaked == []
    # The chart's sync NetworkPolicy in that namespace selects the Job's pods.
    policies = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["metadata"]["namespace"] == namespace
        and p["metadata"]["labels"]["app.kubernetes.io/component"] == "sync"
    ]
    [policy] = policies
    assert (
        policy["spec"]["podSelector"]["matchLabels"].items()
        <= job["spec"]["template"]["metadata"]["labels"].items()
    )


def test_openshift_restricted_profile_leaves_user_and_group_to_the_platform() -> None:
    # OpenShift's restricted SCC assigns each namespace's uid range and refuses pods that name other ids, so
    # with pinUserAndGroup=false no pod spec of the chart, nor a sync Job the operator builds, names one.
    from spiris_operator.settings import load_settings
    from spiris_operator.sync_jobs import build_job

    values = load_values("required-values")
    values["securityContext"] = {"pinUserAndGroup": False}
    objects = manifests(values)
    forced = {"runAsUser", "runAsGroup", "fsGroup"}
    deployments = of_kind(objects, "Deployment")
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        contexts = [pod["securityContext"]] + [
            c["securityContext"] for c in pod["containers"] + pod.get("initContainers", [])]
        assert all(not forced & set(context) for context in contexts), deployment["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True
    settings = load_settings(_operator_environment(objects))
    assert settings.jobs.pin_user_and_group is False
    fys = {"metadata": {"name": "acme-2025", "namespace": "clients", "uid": "u-fys"},
           "spec": {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}}
    job = build_job(fys=fys, connection={"metadata": {"name": "acme", "namespace": "clients", "uid": "u-c"},
                                         "spec": {}},
                    run=1, fiscal_year=2025, fiscal_year_id="7c2e1a7e-4b1d-4f61-9d55-2a4e0f3c9b10",
                    settings=settings.jobs, trigger="test")
    pod = job["spec"]["template"]["spec"]
    assert not forced & set(pod["securityContext"]) and pod["securityContext"]["runAsNonRoot"] is True
    assert not forced & set(pod["containers"][0]["securityContext"])
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    # By default the ids are pinned everywhere, the Jobs included.
    assert _job("sandbox-values", "spiris-system")[0]["spec"]["template"]["spec"]["securityContext"][
        "fsGroup"] == 10001
