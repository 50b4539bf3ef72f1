"""The API's resources as plain functions of a caller and a path: authenticate, authorise, then read.

`ReadService` is what `app` calls for every route. It knows nothing of HTTP beyond returning JSON-ready
dicts and raising `ReadProblem`s: each method first checks the bearer token (TokenReview) and the caller's
right to `get` the SpirisConnection (SubjectAccessReview), then resolves the connection to its company key
(its uid) and runs the store's read queries (`spiris_store.read_queries`) on a read-only database connection,
turning their `NotInCopy`/`AmbiguousFiscalYear` into 404/409 problems and their read models into JSON
(`json_forms`). The viewer's routes use the same reads with a verified viewer-link claim instead of a token.
"""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from spiris_store import read_queries
from spiris_store.documents import DocumentStore
from spiris_store.errors import AmbiguousFiscalYear, NotInCopy, StorageUnavailable
from spiris_store.read_pool import Connection, ReadOnlyPool
from spiris_store.read_records import FiscalYearRef, VoucherFilter, VoucherKey

from spiris_read import json_forms
from spiris_read.content_links import ContentLinks
from spiris_read.kube_access import KubeAccess
from spiris_read.problems import AmbiguousYearProblem, BackendUnavailable, NotFoundProblem
from spiris_read.sie_export import SieExport, sie_export
from spiris_read.viewer_links import ViewerClaim, mint

log = logging.getLogger("spiris_read.resources")
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """An authorised connection: where it is and its company key (the connection's uid)."""

    namespace: str
    name: str
    company_key: str
    connection: dict[str, Any]


class ReadService:
    def __init__(
        self,
        *,
        kube: KubeAccess,
        pool: ReadOnlyPool,
        store: DocumentStore,
        links: ContentLinks,
        link_key: bytes | None,
        viewer_link_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kube = kube
        self.pool = pool
        self.store = store
        self.links = links
        self.link_key = link_key
        self.viewer_link_seconds = viewer_link_seconds
        self._clock = clock

    # -- who may read what ----------------------------------------------------------------------------

    def target(self, token: str, *, namespace: str, name: str) -> Target:
        """The connection, if the token's user may `get` it."""
        caller = self.kube.authenticate(token)
        self.kube.authorize_connection(caller, namespace=namespace, name=name)
        return self._resolve(namespace, name)

    def viewer_target(self, claim: ViewerClaim) -> Target:
        """The connection a viewer link was minted for, if it is still the same object (same uid)."""
        target = self._resolve(claim.namespace, claim.name)
        if target.company_key != claim.uid:
            raise NotFoundProblem("The connection of this viewer link no longer exists.")
        return target

    def _resolve(self, namespace: str, name: str) -> Target:
        connection = self.kube.connection(namespace=namespace, name=name)
        uid = str((connection.get("metadata") or {}).get("uid") or "")
        if not uid:
            raise NotFoundProblem(f"No SpirisConnection {name!r} in namespace {namespace!r}.")
        return Target(namespace=namespace, name=name, company_key=uid, connection=connection)

    @contextmanager
    def _db(self) -> Iterator[Connection]:
        with self.pool.connection() as conn:
            yield conn

    def _read(self, work: Callable[[Connection], T]) -> T:
        try:
            with self._db() as conn:
                return work(conn)
        except StorageUnavailable as exc:
            raise BackendUnavailable(str(exc)) from exc
        except NotInCopy as exc:
            raise NotFoundProblem(str(exc)) from None
        except AmbiguousFiscalYear as exc:
            raise AmbiguousYearProblem(
                str(exc), year=exc.year, fiscalYearIds=[str(i) for i in exc.ids]
            ) from None

    @staticmethod
    def _year_id(conn: Connection, target: Target, year: FiscalYearRef) -> uuid.UUID:
        return read_queries.resolve_fiscal_year(conn, company_key=target.company_key, ref=year).id

    # -- resources ------------------------------------------------------------------------------------

    def connection(self, target: Target) -> dict[str, Any]:
        status = target.connection.get("status") or {}
        spec = target.connection.get("spec") or {}
        conditions = [
            {k: c.get(k) for k in ("type", "status", "reason", "message", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ]
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        company = status.get("company") or {}
        return {
            "apiVersion": "v1",
            "kind": "Connection",
            "namespace": target.namespace,
            "name": target.name,
            "uid": target.company_key,
            "displayName": spec.get("displayName"),
            "phase": status.get("phase"),
            "ready": ready,
            "company": {
                "name": company.get("name"),
                "corporateIdentityNumber": company.get("corporateIdentityNumber"),
                "identifier": company.get("identifier"),
            },
            "conditions": conditions,
        }

    def fiscal_years(self, target: Target) -> dict[str, Any]:
        years = self._read(lambda conn: read_queries.fiscal_years(conn, company_key=target.company_key))
        by_year: dict[int, dict[str, Any]] = {}
        by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        for fys in self.kube.fiscal_year_syncs(namespace=target.namespace, connection=target.name):
            status = fys.get("status") or {}
            year = (fys.get("spec") or {}).get("fiscalYear") or status.get("year")
            if isinstance(year, int):
                progress = status.get("progress") or {}
                entry = {
                    "name": fys["metadata"]["name"],
                    "phase": status.get("phase"),
                    "percent": progress.get("percent"),
                    "lastSyncTime": status.get("lastSyncTime"),
                    "lastSuccessfulSyncTime": status.get("lastSuccessfulSyncTime"),
                    "reconciled": (status.get("reconciliation") or {}).get("balanced"),
                }
                # A sync belongs to the Spiris fiscal year it resolved (two can start in one calendar
                # year); one that has not resolved an id yet, to the calendar year.
                fy_id = str(status.get("fiscalYearId") or "").lower()
                if fy_id:
                    by_id[fy_id] = (year, entry)
                else:
                    by_year.setdefault(year, entry)
        items = []
        for summary in years:
            record = json_forms.fiscal_year_json(summary)
            found = by_id.pop(str(summary.fiscal_year.id), None)
            sync: dict[str, Any] | None = found[1] if found else None
            if sync is None:
                sync = by_year.pop(summary.fiscal_year.start_date.year, None)
            items.append({**record, "synced": True, "sync": sync})
        unsynced = [*by_id.values(), *sorted(by_year.items())]
        for year, sync in unsynced:
            items.append(
                {
                    "year": year,
                    "id": None,
                    "startDate": None,
                    "endDate": None,
                    "locked": None,
                    "counts": None,
                    "synced": False,
                    "sync": sync,
                }
            )
        items.sort(key=lambda item: item["year"])
        return {"items": items}

    def voucher_page(
        self,
        target: Target,
        *,
        year: FiscalYearRef,
        filters: VoucherFilter,
        after: VoucherKey | None,
        limit: int,
    ) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            page = read_queries.voucher_page(
                conn,
                company_key=target.company_key,
                fiscal_year_id=self._year_id(conn, target, year),
                filters=filters,
                after=after,
                limit=limit,
            )
            return json_forms.voucher_page_json(page)

        return self._read(work)

    def voucher(
        self, target: Target, voucher_id: uuid.UUID, *, year: FiscalYearRef | None = None
    ) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            fy_id = None if year is None else self._year_id(conn, target, year)
            detail = read_queries.voucher_detail(
                conn, company_key=target.company_key, voucher_id=voucher_id, fiscal_year_id=fy_id
            )
            return json_forms.voucher_detail_json(detail)

        return self._read(work)

    def row_documents(self, target: Target, voucher_id: uuid.UUID, row_no: int) -> dict[str, Any]:
        detail, row = self._read(
            lambda conn: read_queries.voucher_row(
                conn, company_key=target.company_key, voucher_id=voucher_id, row_no=row_no
            )
        )
        return {
            "voucher": {
                "id": str(detail.summary.id),
                "number": detail.summary.number,
                "date": detail.summary.date.isoformat(),
            },
            "row": json_forms.row_json(row),
            "items": [json_forms.document_json(d) for d in detail.documents],
        }

    def document(self, target: Target, document_id: uuid.UUID) -> dict[str, Any]:
        def work(conn: Connection) -> dict[str, Any]:
            stored = read_queries.document(conn, company_key=target.company_key, document_id=document_id)
            vouchers = read_queries.linked_vouchers(
                conn, company_key=target.company_key, document_id=document_id
            )
            return {
                **json_forms.document_json(stored),
                "vouchers": [json_forms.linked_voucher_json(v) for v in vouchers],
            }

        return self._read(work)

    def content_url(self, target: Target, document_id: uuid.UUID) -> dict[str, Any]:
        """A presigned URL for the document's bytes; `NotFoundProblem` (logged) when S3 lacks them."""
        stored = self._read(
            lambda conn: read_queries.document(conn, company_key=target.company_key, document_id=document_id)
        )
        record = stored.record
        try:
            present = self.store.exists(record.object_key)
        except StorageUnavailable as exc:
            raise BackendUnavailable("The object store is unavailable.") from exc
        if not present:
            log.warning(
                "document %s of %s/%s: bytes missing in S3 (%s)",
                document_id,
                target.namespace,
                target.name,
                record.object_key,
            )
            raise NotFoundProblem(
                "The document's bytes are missing in the object store.",
                reason="object-missing",
                documentId=str(document_id),
            )
        url = self.links.url_for(
            record.object_key, file_name=record.original_file_name, content_type=record.content_type
        )
        expires = datetime.datetime.fromtimestamp(
            self._clock() + self.links.ttl.total_seconds(), datetime.UTC
        )
        return {
            "url": url,
            "expiresAt": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "fileName": record.original_file_name,
            "contentType": record.content_type,
        }

    def sie(self, target: Target, *, year: FiscalYearRef) -> SieExport:
        today = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC).date()
        return self._read(
            lambda conn: sie_export(conn, company_key=target.company_key, year=year, generated=today)
        )

    def viewer_link(self, target: Target, *, year: FiscalYearRef, base_url: str) -> dict[str, Any]:
        if self.link_key is None:
            raise BackendUnavailable("Viewer links are not configured (SPIRIS_API_LINK_KEY).")
        # No check that the year is in the copy yet: a link handed out before the first sync finishes (the
        # `make run` banner) works as soon as the year has synced; until then the viewer says it is not there.
        expires_at = int(self._clock()) + self.viewer_link_seconds
        token = mint(
            ViewerClaim(target.namespace, target.name, target.company_key, year, expires_at),
            key=self.link_key,
        )
        expires = datetime.datetime.fromtimestamp(expires_at, datetime.UTC)
        return {
            "url": f"{base_url.rstrip('/')}/viewer/{token}",
            "expiresAt": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
