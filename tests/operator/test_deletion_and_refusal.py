"""Deletion policies without a sync (Retain keeps the data; Delete without storage settings is blocked,
loudly) and a sync Job refused by Spiris (worker exit code 3) turning the connection to ReconsentRequired.
"""

from __future__ import annotations

import io

import psycopg
import pytest
from spiris_localstack.node_agent import NodeAgent
from spiris_localstack.s3 import S3Server
from spiris_operator.kube_api import KubeApi
from spiris_sandbox.server import SandboxServer
from spiris_store import ledger
from spiris_store.documents import company_prefix
from testkit.operator_stack import (
    condition,
    consent_token,
    create_connection,
    create_fiscal_year_sync,
    events_of,
    store_consent,
)
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(120)


def _company_data(dsn: str, s3: S3Server, bucket: str, company_key: str) -> str:
    """Rows and one object of a company, as a sync would leave them; returns the object key."""
    with psycopg.connect(dsn) as conn:
        ledger.ensure_company(conn, company_key)
        conn.commit()
    key = f"{company_prefix(company_key)}sha256/{'ab' * 32}"
    s3.client().put_object(bucket, key, io.BytesIO(b"%PDF-1.4 test"), length=13)
    return key


def _company_rows(dsn: str, company_key: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM spiris.companies WHERE company_key = %s", (company_key,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _object_exists(s3: S3Server, bucket: str, key: str) -> bool:
    return any(o.object_name == key for o in s3.client().list_objects(bucket, prefix=key))


def test_retain_keeps_the_company_data(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env, sync_stack, s3_server: S3Server
) -> None:
    start_operator(**spiris_env, **sync_stack)
    connection = create_connection(kube, kube_namespace, "acme", {"deletionPolicy": "Retain"})
    uid = connection["metadata"]["uid"]
    key = _company_data(sync_stack["DATABASE_URL"], s3_server, sync_stack["S3_BUCKET"], uid)
    wait_for(lambda: (kube.get_custom("spirisconnections", kube_namespace, "acme") or {}).get("status"))
    kube.delete_custom("spirisconnections", kube_namespace, "acme")
    wait_for(lambda: kube.get_custom("spirisconnections", kube_namespace, "acme") is None, what="deleted")
    assert _company_rows(sync_stack["DATABASE_URL"], uid) == 1
    assert _object_exists(s3_server, sync_stack["S3_BUCKET"], key)


def test_delete_without_storage_settings_is_blocked_with_a_reason(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env
) -> None:
    start_operator(**spiris_env)  # no DATABASE_URL, no S3 settings
    create_connection(kube, kube_namespace, "acme", {"deletionPolicy": "Delete"})
    wait_for(lambda: (kube.get_custom("spirisconnections", kube_namespace, "acme") or {}).get("status"))
    kube.delete_custom("spirisconnections", kube_namespace, "acme")

    def blocked() -> dict | None:
        obj = kube.get_custom("spirisconnections", kube_namespace, "acme")
        return obj if condition(obj, "Ready").get("reason") == "DeletionBlocked" else None

    stuck = wait_for(blocked, what="DeletionBlocked")
    assert stuck["metadata"].get("deletionTimestamp"), "the finalizer holds the object"
    assert "DATABASE_URL" in condition(stuck, "Ready")["message"]
    wait_for(lambda: any(
        e["reason"] == "DeletionBlocked" and e["type"] == "Warning"
        for e in events_of(kube, kube_namespace, "acme")
    ), timeout=10, what="the DeletionBlocked Warning")


def test_sync_refused_by_spiris_leads_to_reconsent(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node: NodeAgent,
) -> None:
    start_operator(**spiris_env, **sync_stack)
    connection = create_connection(kube, kube_namespace, "acme")
    store_consent(kube, connection, consent_token(sandbox.url))
    wait_for(
        lambda: (
            condition(kube.get_custom("spirisconnections", kube_namespace, "acme"), "Ready").get("status")
            == "True"
        )
    )
    # Access is revoked in Spiris while the operator still believes the connection is fine.
    sandbox_control.revoke(sandbox_control.first_user_email())
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2025", {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}
    )

    def refused() -> dict | None:
        fys = kube.get_custom("fiscalyearsyncs", kube_namespace, "acme-2025") or {}
        return fys if fys.get("status", {}).get("lastJobOutcome") == "ConsentRequired" else None

    failed = wait_for(refused, timeout=60, what="the Job's exit code 3")
    # Failed, or already Pending: the refusal makes the connection ReconsentRequired, and that status change
    # wakes its syncs at once (event driven), which then wait for the connection (ConnectionNotReady).
    assert failed["status"]["phase"] in {"Failed", "Pending"}
    synced = condition(failed, "Synced")
    assert (synced["status"], synced["reason"]) == ("False", "ConsentRequired")
    assert not failed["status"].get("nextAttemptTime"), "consent problems are not retried in a loop"
    connection_now = wait_for(
        lambda: (
            (c := kube.get_custom("spirisconnections", kube_namespace, "acme"))
            and c.get("status", {}).get("phase") == "ReconsentRequired"
            and c
        ),
        what="connection asks for consent again",
    )
    assert condition(connection_now, "Ready")["status"] == "False"
    assert connection_now["status"]["consentUrl"]
