"""The read side on the local stack: `spiris-api` as one more process, under the chart's own ServiceAccount,
with a read-only database role, and an auditor who may read the demo connection.

What an installer would do by hand: a DBA creates `spiris_reader` (NOLOGIN) and a login role in it before the
schema is migrated (migration 0002 grants SELECT to `spiris_reader`; `PostgresServer` creates both, its
`dsns.reader` is the API's DSN); the API runs with the `api` kubeconfig
of `chart_rbac` (TokenReview, SubjectAccessReview, get connections, list fiscal-year syncs — nothing else);
`auditor.kubeconfig` is a ServiceAccount token of someone allowed to `get` the connection, which is what
`kubectl spiris` and viewer links need. Used by `stack` and the `make run` banner (`local_flow`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from spiris_localstack.kube_plane import kubeconfig_document, write_kubeconfig

if TYPE_CHECKING:
    from spiris_localstack.stack import LocalStack

AUDITOR = "auditor"


def api_env(stack: LocalStack, *, link_key: str) -> dict[str, str]:
    assert stack.access is not None and stack.postgres is not None
    return {
        **stack.store_env(),
        "DATABASE_URL": stack.postgres.dsns.reader,
        "SPIRIS_API_LINK_KEY": link_key,
        "KUBECONFIG": stack.access.kubeconfig("api"),
    }


def auditor_kubeconfig(stack: LocalStack) -> Path:
    """A ServiceAccount of the demo namespace that may read its SpirisConnections, as a token kubeconfig."""
    assert stack.kube is not None
    rest, namespace = stack.kube.rest, stack.options.namespace
    rest.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", allow=(409,),
              body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": AUDITOR}})
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    rest.call("POST", f"{rbac}/roles", allow=(409,), body={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": AUDITOR},
        "rules": [{"apiGroups": ["spiris.senseworks.io"], "verbs": ["get", "list", "watch"],
                   "resources": ["spirisconnections", "fiscalyearsyncs"]}]})
    rest.call("POST", f"{rbac}/rolebindings", allow=(409,), body={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": AUDITOR},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": AUDITOR},
        "subjects": [{"kind": "ServiceAccount", "name": AUDITOR, "namespace": namespace}]})
    token = rest.service_account_token(namespace, AUDITOR, expiration_seconds=48 * 3600)
    credentials = rest.credentials
    return write_kubeconfig(stack.work_dir / "auditor.kubeconfig", kubeconfig_document(
        server=credentials.server, ca_file=credentials.ca_file, user={"token": token}, name="spiris-auditor",
        namespace=namespace))


def auditor_token(path: Path) -> str:
    import yaml

    document = yaml.safe_load(path.read_text())
    return str(document["users"][0]["user"]["token"])


def year_range(stack: LocalStack) -> tuple[int, int]:
    """The first and the latest fiscal year of the demo company (the years the sandbox seeds)."""
    company = stack.sandbox_json(f"/_sandbox/companies/{stack.options.company}")
    years = [int(fy["start"][:4]) for fy in company["fiscal_years"]]
    return min(years), max(years)


def viewer_link(stack: LocalStack, *, year: int) -> str:
    """A viewer link for `year`, minted by the API for the auditor (it works once the year has synced)."""
    token = auditor_token(stack.work_dir / "auditor.kubeconfig")
    path = (f"/api/v1/namespaces/{stack.options.namespace}/connections/{stack.options.connection_name}"
            f"/fiscal-years/{year}/viewer-links")
    response = httpx.post(stack.api_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return str(response.json()["url"])
