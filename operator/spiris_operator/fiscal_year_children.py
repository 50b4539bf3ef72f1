"""The FiscalYearSync objects a connection owns when ``spec.sync.latestFiscalYears`` is N > 0.

Pure functions: from the connection (its spec and the fiscal years published in its status) to the manifests
of the N latest fiscal years, and the names of owned children that fell out of that window (a new year
appeared). Closed (locked) years are synced once; open years follow the connection's ``sync.schedule``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from spiris_connection import token_secret
from spiris_connection.child_names import bounded_name

__all__ = ["AUTO_LABEL", "child_name", "desired_children", "surplus_children"]

AUTO_LABEL = "spiris.senseworks.io/created-for-latest-years"


def child_name(connection_name: str, start_date: str) -> str:
    """``{connection}-{year}`` for calendar years, ``{connection}-{year}-{month}`` for broken years
    (hash-shortened to 63 characters for long connection names: the name is also a label value)."""
    year, month, day = start_date[:10].split("-")
    if (month, day) == ("01", "01"):
        return bounded_name(connection_name, f"-{year}")
    return bounded_name(connection_name, f"-{year}-{month}")


def _latest(fiscal_years: Iterable[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    ordered = sorted(fiscal_years, key=lambda fy: str(fy.get("startDate", "")), reverse=True)
    return ordered[:count]


def desired_children(connection: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Manifests of the FiscalYearSync objects the connection should own right now (empty when off)."""
    spec = connection.get("spec") or {}
    sync = spec.get("sync") or {}
    count = int(sync.get("latestFiscalYears") or 0)
    fiscal_years = (connection.get("status") or {}).get("fiscalYears") or []
    if count <= 0 or not fiscal_years:
        return []
    metadata = connection["metadata"]
    schedule = str(sync.get("schedule") or "")
    children = []
    start_years = [str(fy.get("startDate", ""))[:4] for fy in fiscal_years]
    for fiscal_year in _latest(fiscal_years, count):
        start = str(fiscal_year["startDate"])[:10]
        child_spec: dict[str, Any] = {"connectionRef": {"name": metadata["name"]}}
        # A calendar year names the fiscal year only when no other one starts in it (a short first year).
        if start.endswith("-01-01") and start_years.count(start[:4]) == 1:
            child_spec["fiscalYear"] = int(start[:4])
        else:
            child_spec["startDate"] = start
        if schedule and not fiscal_year.get("locked"):
            child_spec["schedule"] = schedule
        children.append(
            {
                "apiVersion": "spiris.senseworks.io/v1alpha1",
                "kind": "FiscalYearSync",
                "metadata": {
                    "name": child_name(metadata["name"], start),
                    "namespace": metadata["namespace"],
                    "labels": {**token_secret.labels(metadata["name"]), AUTO_LABEL: "true"},
                    "ownerReferences": [token_secret.owner_reference(connection)],
                },
                "spec": child_spec,
            }
        )
    return children


def surplus_children(connection: Mapping[str, Any], existing: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of auto-created children (owned by this connection) that are no longer among the N latest."""
    wanted = {child["metadata"]["name"] for child in desired_children(connection)}
    uid = connection["metadata"]["uid"]
    surplus = []
    for child in existing:
        metadata = child.get("metadata") or {}
        owned = any(ref.get("uid") == uid for ref in metadata.get("ownerReferences") or [])
        auto = (metadata.get("labels") or {}).get(AUTO_LABEL) == "true"
        if owned and auto and metadata.get("name") not in wanted:
            surplus.append(str(metadata["name"]))
    return surplus
