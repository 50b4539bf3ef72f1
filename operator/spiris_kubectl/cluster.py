"""What the plugin reads and writes in Kubernetes: SpirisConnections and FiscalYearSyncs.

Writes are only the two request annotations the operator already honours — `rotate-consent-link` on a
connection and `sync-requested-at` on a fiscal-year sync — plus creating a FiscalYearSync when a year has
none yet, so `kubectl spiris sync` works for any year.
"""

from __future__ import annotations

import datetime
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from spiris_kubectl.year_ref import YearRef

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
ROTATE_ANNOTATION = "spiris.senseworks.io/rotate-consent-link"
SYNC_REQUEST_ANNOTATION = "spiris.senseworks.io/sync-requested-at"


class PluginError(Exception):
    """Something the user has to fix; printed without a traceback."""


def now_text() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Cluster:
    def __init__(self, api_client: k8s.ApiClient, namespace: str) -> None:
        self._custom = k8s.CustomObjectsApi(api_client)
        self.namespace = namespace

    def _list(self, plural: str) -> list[dict[str, Any]]:
        try:
            listing = self._custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)
        except ApiException as exc:
            raise PluginError(f"cannot list {plural} in {self.namespace}: HTTP {exc.status}") from None
        return list(cast(dict[str, Any], listing).get("items") or [])

    def connections(self) -> list[dict[str, Any]]:
        return self._list("spirisconnections")

    def fiscal_year_syncs(self, connection: str | None = None) -> list[dict[str, Any]]:
        items = self._list("fiscalyearsyncs")
        if connection is None:
            return items
        return [
            i for i in items if ((i.get("spec") or {}).get("connectionRef") or {}).get("name") == connection
        ]

    def connection(self, name: str) -> dict[str, Any]:
        try:
            return cast(
                dict[str, Any],
                self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, "spirisconnections", name
                ),
            )
        except ApiException as exc:
            if exc.status == 404:
                raise PluginError(f"no SpirisConnection {name!r} in namespace {self.namespace!r}") from None
            raise PluginError(f"cannot read SpirisConnection {name!r}: HTTP {exc.status}") from None

    def request_rotation(self, name: str) -> str:
        stamp = now_text()
        self._patch("spirisconnections", name, {"metadata": {"annotations": {ROTATE_ANNOTATION: stamp}}})
        return stamp

    def fiscal_year_sync(self, connection: str, year: YearRef) -> dict[str, Any] | None:
        """The connection's FiscalYearSync by calendar year (spec or resolved status) or fiscal-year id."""
        for fys in self.fiscal_year_syncs(connection):
            spec, status = fys.get("spec") or {}, fys.get("status") or {}
            if isinstance(year, str):
                if str(status.get("fiscalYearId") or "").lower() == year:
                    return fys
            elif year in (spec.get("fiscalYear"), status.get("year")):
                return fys
        return None

    def request_sync(self, connection: str, year: YearRef) -> tuple[str, str]:
        """Annotate (or create) the year's FiscalYearSync; returns (its name, the request stamp).

        A calendar year without a FiscalYearSync gets one; a fiscal-year id must name a year already resolved
        (a FiscalYearSync is declared by calendar year or start date, never by id)."""
        self.connection(connection)
        stamp = now_text()
        fys = self.fiscal_year_sync(connection, year)
        if fys is None and isinstance(year, str):
            raise PluginError(
                f"no FiscalYearSync of {connection} has fiscal-year id {year}; "
                "give --year as the calendar year to create one"
            )
        if fys is None:
            name = f"{connection}-{year}"[:63].rstrip("-.")
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "FiscalYearSync",
                "metadata": {
                    "name": name,
                    "namespace": self.namespace,
                    "annotations": {SYNC_REQUEST_ANNOTATION: stamp},
                },
                "spec": {"connectionRef": {"name": connection}, "fiscalYear": year},
            }
            try:
                self._custom.create_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, "fiscalyearsyncs", body
                )
            except ApiException as exc:
                raise PluginError(f"cannot create FiscalYearSync {name!r}: HTTP {exc.status}") from None
            return name, stamp
        name = str(fys["metadata"]["name"])
        self._patch("fiscalyearsyncs", name, {"metadata": {"annotations": {SYNC_REQUEST_ANNOTATION: stamp}}})
        return name, stamp

    def get_fiscal_year_sync(self, name: str) -> dict[str, Any]:
        try:
            return cast(
                dict[str, Any],
                self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, "fiscalyearsyncs", name
                ),
            )
        except ApiException as exc:
            raise PluginError(f"cannot read FiscalYearSync {name!r}: HTTP {exc.status}") from None

    def _patch(self, plural: str, name: str, body: dict[str, Any]) -> None:
        try:
            self._custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name, body)
        except ApiException as exc:
            if exc.status == 404:
                raise PluginError(f"no {plural} {name!r} in namespace {self.namespace!r}") from None
            raise PluginError(f"cannot annotate {plural} {name!r}: HTTP {exc.status}") from None
