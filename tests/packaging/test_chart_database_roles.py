"""The chart gives each component its database role: the migrations the owner's Secret, the operator and the
sync Jobs the worker's, the read API the reader's; a role left unset falls back to `database` (one role for
everything, the simple install). README "Database roles"; the grants are tested in tests/store.
"""

from __future__ import annotations

from typing import Any

import pytest
from testkit.chart_render import env_of, load_values, manifests, one, render, required_values

pytestmark = pytest.mark.timeout(60)


def _secret_refs(objects: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Who reads which DATABASE_URL: the migrations, the operator, its sync Jobs and the read API."""
    operator = one(objects, "Deployment", "operator")["spec"]["template"]["spec"]
    [migrate] = operator["initContainers"]
    [container] = operator["containers"]
    env = env_of(container)
    [api] = one(objects, "Deployment", "api")["spec"]["template"]["spec"]["containers"]

    def ref(entry: dict[str, Any]) -> tuple[str, str]:
        found = entry["valueFrom"]["secretKeyRef"]
        return found["name"], found["key"]

    return {
        "migrations": ref(env_of(migrate)["DATABASE_URL"]),
        "operator": ref(env["DATABASE_URL"]),
        "sync jobs": (
            env["SPIRIS_SYNC_DATABASE_SECRET"]["value"],
            env["SPIRIS_SYNC_DATABASE_SECRET_KEY"]["value"],
        ),
        "read api": ref(env_of(api)["DATABASE_URL"]),
    }


def test_each_component_gets_its_own_roles_secret() -> None:
    refs = _secret_refs(manifests(load_values("database-roles-values")))
    assert refs == {
        "migrations": ("spiris-database-owner", "owner-url"),
        "operator": ("spiris-database-worker", "worker-url"),
        "sync jobs": ("spiris-database-worker", "worker-url"),
        "read api": ("spiris-database-reader", "reader-url"),
    }


def test_one_secret_serves_every_component_by_default() -> None:
    refs = _secret_refs(manifests(required_values()))
    assert set(refs.values()) == {("spiris-database", "database-url")}


def test_only_the_roles_left_unset_fall_back_to_the_owners_secret() -> None:
    values = required_values()
    values["database"]["worker"] = {"existingSecret": "spiris-database-worker", "key": "url"}
    refs = _secret_refs(manifests(values))
    assert refs["migrations"] == refs["read api"] == ("spiris-database", "database-url")
    assert refs["operator"] == refs["sync jobs"] == ("spiris-database-worker", "url")


def test_notes_name_the_worker_secret_for_the_client_namespaces() -> None:
    notes = render(load_values("database-roles-values"))["spiris-operator/templates/NOTES.txt"]
    assert 'Secrets "spiris-database-worker" and "spiris-s3" that the sync Jobs read' in notes
    assert "spiris-database-reader (api.database.existingSecret)" in notes
