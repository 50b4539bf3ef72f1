"""The documents pass: every voucher of the year gets its documents stored and linked, or recorded missing.

Which vouchers need work comes from the ledger alone (``spiris_store.document_queue``: changed since the
last completed pass, a document not yet linked, or a missing one to retry), so a re-sync with nothing new
costs no API call. Pending vouchers go in id order, in batches: fetches run in threads, then one transaction
links the batch, records or clears missing documents and moves the checkpoint, so a killed run resumes after
the last committed batch. With many documents pending, attachments and supplier invoices are read from their
list endpoints first (``document_listing``) while customer-invoice PDFs are fetched ahead in their own
threads. With a time slice, the pass stops cleanly once it has run that long (between list pages, fetches
ahead and batches): what was fetched is committed and linked, nothing new is started, the checkpoint stays,
and the summary says it yielded, so the shared budget goes to others and the next run continues from there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from typing import Any

import psycopg
from spiris_store import ledger
from spiris_store.document_queue import DocumentQueue
from spiris_store.records import DocumentRecord, DocumentSource, MissingDocument, VoucherDocumentLink

from spiris_sync import invoice_pdf_routes
from spiris_sync.document_fetcher import (
    CUSTOMER_INVOICE_TYPES,
    SUPPLIER_INVOICE_TYPES,
    DocumentFetcher,
    DocumentRef,
    DocumentUnavailable,
)
from spiris_sync.document_listing import (
    MIN_NEEDED,
    download_listed_attachments,
    supplier_invoice_attachments,
)
from spiris_sync.progress import ProgressReporter

logger = logging.getLogger(__name__)

DOCUMENT_VOUCHER_TYPES = CUSTOMER_INVOICE_TYPES | SUPPLIER_INVOICE_TYPES
PHASE = "documents"
COMPLETED_PHASE = "documents-completed"
BATCH_SIZE = 40
_INVOICE_PDF: tuple[DocumentSource, ...] = ("customer_invoice_pdf",)


@dataclasses.dataclass(frozen=True)
class PendingVoucher:
    id: uuid.UUID
    voucher_type: int | None
    source_id: uuid.UUID | None
    attachment_ids: tuple[uuid.UUID, ...]

    def direct_refs(self) -> list[DocumentRef]:
        refs = [DocumentRef(source="attachment", spiris_id=a) for a in self.attachment_ids]
        if self.source_id is not None and self.voucher_type in CUSTOMER_INVOICE_TYPES:
            refs.append(DocumentRef(source="customer_invoice_pdf", spiris_id=self.source_id))
        return refs

    @property
    def supplier_invoice_id(self) -> uuid.UUID | None:
        return self.source_id if self.voucher_type in SUPPLIER_INVOICE_TYPES else None

    @property
    def expected_documents(self) -> int:
        has_invoice = self.source_id is not None and self.voucher_type in DOCUMENT_VOUCHER_TYPES
        return len(self.attachment_ids) + (1 if has_invoice else 0)


@dataclasses.dataclass
class VoucherOutcome:
    """What fetching one voucher's documents produced (computed in a worker thread, written by the pass)."""

    voucher: PendingVoucher
    stored: list[tuple[DocumentRef, DocumentRecord]] = dataclasses.field(default_factory=list)
    linked_existing: list[tuple[DocumentRef, uuid.UUID]] = dataclasses.field(default_factory=list)
    missing: list[tuple[DocumentRef, str]] = dataclasses.field(default_factory=list)
    resolved_supplier_invoice: bool = False


@dataclasses.dataclass(frozen=True)
class DocumentsSummary:
    vouchers_processed: int
    documents_fetched: int
    documents_linked: int
    missing: int
    resumed: bool
    #: The time slice ran out: the pass stopped with work left, its checkpoint kept for the next run.
    yielded: bool = False


class _SliceOver(Exception):
    """Raised from a list page's callback to stop the list walk when the time slice is over."""


class DocumentPass:
    """The documents pass of one fiscal year."""

    def __init__(
        self,
        *,
        conn: psycopg.Connection[Any],
        fetcher: DocumentFetcher,
        company_key: str,
        fiscal_year_id: str,
        run_id: int,
        progress: ProgressReporter,
        workers: int = 4,
        time_slice: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self._fetcher = fetcher
        self._company_key = company_key
        self._fy = uuid.UUID(fiscal_year_id)
        self._run_id = run_id
        self._progress = progress
        self._workers = max(1, workers)
        # Supplier invoice id → attachment ids, from the list endpoint; read-only once the batches start.
        self._listed_invoices: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
        self._reported_done = 0
        # Invoice PDFs that failed when fetched ahead: (source, id) → reason; recorded missing, not retried.
        self._failed_ahead: dict[tuple[DocumentSource, uuid.UUID], str] = {}
        self._time_slice = time_slice if time_slice else None
        self._clock = clock
        self._deadline: float | None = None

    def _sliced(self) -> bool:
        """Whether the pass has used up its time slice (never without one)."""
        return self._deadline is not None and self._clock() >= self._deadline

    def _next_done(self, ahead: set[Future[DocumentRecord | None]]) -> list[Future[DocumentRecord | None]]:
        """Up to a batch of finished fetches, waiting no longer than the time slice has left."""
        left = None if self._deadline is None else max(0.0, self._deadline - self._clock())
        taken: list[Future[DocumentRecord | None]] = []
        try:
            for future in as_completed(ahead, timeout=left):
                taken.append(future)
                if len(taken) == BATCH_SIZE:
                    break
        except TimeoutError:
            pass  # the slice is over; the caller stops
        return taken

    def _queue(self, cutoff: datetime.datetime | None) -> DocumentQueue:
        return DocumentQueue(
            company_key=self._company_key,
            fiscal_year_id=self._fy,
            changed_since=cutoff,
            invoice_types=DOCUMENT_VOUCHER_TYPES,
            customer_invoice_types=CUSTOMER_INVOICE_TYPES,
        )

    def _pending(
        self, cutoff: datetime.datetime | None, *, after: uuid.UUID | None, limit: int | None
    ) -> list[PendingVoucher]:
        rows = ledger.pending_document_vouchers(self._conn, self._queue(cutoff), after=after, limit=limit)
        return [
            PendingVoucher(
                id=r.id, voucher_type=r.voucher_type, source_id=r.source_id, attachment_ids=r.attachment_ids
            )
            for r in rows
        ]

    def _documents_left(self, cutoff: datetime.datetime | None, *, after: uuid.UUID | None = None) -> int:
        """How many documents the pending vouchers (after ``after``) refer to: the progress total."""
        return ledger.pending_document_count(self._conn, self._queue(cutoff), after=after)

    def run(self) -> DocumentsSummary:
        if self._time_slice is not None:
            self._deadline = self._clock() + self._time_slice
        completed = ledger.get_checkpoint(
            self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=COMPLETED_PHASE
        )
        cutoff = completed.watermark if completed is not None else None
        checkpoint = ledger.get_checkpoint(
            self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
        )
        resumed = checkpoint is not None
        state: dict[str, Any] = dict(checkpoint.state) if checkpoint is not None else {}
        after = uuid.UUID(state["after"]) if state.get("after") else None
        done = int(state.get("done", 0))
        # What is left after the resume point, plus what earlier attempts already did: an honest total.
        total = done + self._documents_left(cutoff, after=after)
        state.setdefault("fetched", 0)
        state.setdefault("linked", 0)
        state.setdefault("processed", 0)
        state.setdefault("missing", 0)
        state["total"] = total
        if checkpoint is None:
            with self._conn.transaction():
                self._save(state, page=0)
            checkpoint = ledger.get_checkpoint(
                self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
            )
            assert checkpoint is not None
        pass_started_at = checkpoint.started_at
        self._report(done, total)

        batch_no = int(checkpoint.page)
        yielded = False
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="documents") as pool:
            self._download_from_lists(cutoff, after=after, pool=pool, state=state, page=batch_no, done=done)
            while True:
                batch = self._pending(cutoff, after=after, limit=BATCH_SIZE)
                if not batch:
                    break
                if self._sliced():
                    yielded = True
                    break
                known = self._known_documents(batch)
                outcomes = list(pool.map(self._resolve, batch, [known] * len(batch)))
                batch_no += 1
                after = batch[-1].id
                with self._conn.transaction():
                    for outcome in outcomes:
                        self._write(outcome, state)
                    done += sum(o.voucher.expected_documents for o in outcomes)
                    state.update({"after": str(after), "done": done})
                    self._save(state, page=batch_no)
                self._report(done, total)

        if yielded:
            linked = self._link_stored(cutoff, after=after)
            logger.info("documents pass yielded at its time slice; %d stored documents linked ahead", linked)
            return DocumentsSummary(
                vouchers_processed=int(state["processed"]),
                documents_fetched=int(state["fetched"]),
                documents_linked=int(state["linked"]) + linked,
                missing=int(state["missing"]),
                resumed=resumed,
                yielded=True,
            )
        with self._conn.transaction():
            ledger.set_checkpoint(
                self._conn,
                company_key=self._company_key,
                fiscal_year_id=self._fy,
                phase=COMPLETED_PHASE,
                page=0,
                run_id=self._run_id,
                watermark=pass_started_at,
            )
            ledger.clear_checkpoints(
                self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
            )
        self._report(max(total, done), max(total, done))
        return DocumentsSummary(
            vouchers_processed=int(state["processed"]),
            documents_fetched=int(state["fetched"]),
            documents_linked=int(state["linked"]),
            missing=int(state["missing"]),
            resumed=resumed,
        )

    def _report(self, done: int, total: int) -> None:
        # Documents downloaded from list pages count before their vouchers' batches do; never go backwards.
        self._reported_done = max(self._reported_done, done)
        self._progress.set(
            documents_done=self._reported_done, documents_total=max(total, self._reported_done)
        )

    def _download_from_lists(
        self,
        cutoff: datetime.datetime | None,
        *,
        after: uuid.UUID | None,
        pool: ThreadPoolExecutor,
        state: dict[str, Any],
        page: int,
        done: int,
    ) -> None:
        """Index the pending supplier invoices and download the pending attachments from list pages, when
        enough are needed for that to pay; each page's records are committed (unlinked) with the state."""
        pending = self._pending(cutoff, after=after, limit=None)
        # The invoice PDFs (one rate-limited call each, no list exists) set the pass's floor, so they start
        # first, in their own threads, while the lists below are walked and the listed attachments download.
        invoice_pdfs = self._invoice_pdfs_to_fetch(pending)
        if len(invoice_pdfs) < MIN_NEEDED:
            invoice_pdfs = []  # a small run keeps the per-voucher path
        total = int(state["total"])

        def commit(records: list[DocumentRecord]) -> None:
            with self._conn.transaction():
                for record in records:
                    ledger.upsert_document(self._conn, record)
                state["fetched"] = int(state["fetched"]) + len(records)
                state["listed"] = int(state.get("listed", 0)) + len(records)
                self._save(state, page=page)
            nonlocal done
            done += len(records)
            self._report(done, total)

        with ThreadPoolExecutor(
            max_workers=invoice_pdf_threads(self._workers), thread_name_prefix="invoice-pdfs"
        ) as pdf_pool:
            ahead = {pdf_pool.submit(self._fetch_ahead, ref) for ref in invoice_pdfs}

            def collect(futures: Iterable[Future[DocumentRecord | None]]) -> list[DocumentRecord]:
                taken = list(futures)
                ahead.difference_update(taken)
                return [r for r in (f.result() for f in taken) if r is not None]

            def on_page(records: list[DocumentRecord]) -> None:
                commit(records + collect([f for f in ahead if f.done()]))
                if self._sliced():
                    raise _SliceOver

            try:
                wanted = self._attachments_wanted(pending)
                # What was not listed when the slice ran out stays pending for the batches or the next run.
                with contextlib.suppress(_SliceOver):
                    download_listed_attachments(
                        fetcher=self._fetcher, wanted=wanted, pool=pool, on_page=on_page
                    )
                while ahead and not self._sliced():
                    # Commit in batch-sized steps so a killed run keeps what was already fetched.
                    commit(collect(self._next_done(ahead)))
                if ahead:
                    # Slice over: start no new fetch, but keep (commit) the ones already under way, or the
                    # next run would fetch them again.
                    for future in ahead:
                        future.cancel()
                    wait(ahead)
                    commit(collect([f for f in ahead if not f.cancelled()]))
            except BaseException:
                for future in ahead:
                    future.cancel()
                raise

    def _attachments_wanted(self, pending: Sequence[PendingVoucher]) -> dict[uuid.UUID, DocumentRef]:
        """Index the pending supplier invoices (from list pages when that pays) and return the attachments
        still to store: those on the vouchers, and those hanging only on their supplier invoices."""
        self._listed_invoices = supplier_invoice_attachments(
            self._fetcher.api, {v.supplier_invoice_id for v in pending if v.supplier_invoice_id is not None}
        )
        # An attachment listed on any pending voucher is stored as `attachment`, the way its batch would.
        wanted: dict[uuid.UUID, DocumentRef] = {
            a: DocumentRef(source="attachment", spiris_id=a) for v in pending for a in v.attachment_ids
        }
        for voucher in pending:
            invoice_id = voucher.supplier_invoice_id
            for a in self._listed_invoices.get(invoice_id, ()) if invoice_id is not None else ():
                if a not in voucher.attachment_ids:
                    wanted.setdefault(
                        a,
                        DocumentRef(source="supplier_invoice_attachment", spiris_id=a, invoice_id=invoice_id),
                    )
        for stored in ledger.stored_spiris_ids(
            self._conn,
            company_key=self._company_key,
            sources=("attachment", "supplier_invoice_attachment"),
            spiris_ids=wanted,
        ):
            wanted.pop(stored, None)
        return wanted

    def _invoice_pdfs_to_fetch(self, pending: Sequence[PendingVoucher]) -> list[DocumentRef]:
        ids = {
            v.source_id
            for v in pending
            if v.source_id is not None and v.voucher_type in CUSTOMER_INVOICE_TYPES
        }
        ids -= ledger.stored_spiris_ids(
            self._conn, company_key=self._company_key, sources=_INVOICE_PDF, spiris_ids=ids
        )
        return [DocumentRef(source="customer_invoice_pdf", spiris_id=i) for i in sorted(ids)]

    def _fetch_ahead(self, ref: DocumentRef) -> DocumentRecord | None:
        try:
            return self._fetcher.fetch(ref)
        except DocumentUnavailable as exc:
            self._failed_ahead[(ref.source, ref.spiris_id)] = exc.reason
            return None

    def _save(self, state: dict[str, Any], *, page: int) -> None:
        ledger.set_checkpoint(
            self._conn,
            company_key=self._company_key,
            fiscal_year_id=self._fy,
            phase=PHASE,
            page=page,
            run_id=self._run_id,
            state=state,
        )

    def _known_documents(
        self, batch: Sequence[PendingVoucher]
    ) -> dict[tuple[DocumentSource, uuid.UUID], uuid.UUID]:
        """Documents already stored for the batch's refs: (source, spiris id) → our document id."""
        return ledger.known_documents(
            self._conn,
            company_key=self._company_key,
            attachment_ids=[a for v in batch for a in v.attachment_ids],
            invoice_ids=[v.source_id for v in batch if v.source_id is not None],
        )

    def _resolve(
        self, voucher: PendingVoucher, known: dict[tuple[DocumentSource, uuid.UUID], uuid.UUID]
    ) -> VoucherOutcome:
        """Runs in a worker thread: no database access here, only Spiris and the object store."""
        outcome = VoucherOutcome(voucher=voucher)
        refs = voucher.direct_refs()
        invoice_id = voucher.supplier_invoice_id
        if invoice_id is not None:
            try:
                invoice_attachments = self._listed_invoices.get(invoice_id)
                if invoice_attachments is None:
                    invoice_attachments = self._fetcher.supplier_invoice_attachments(invoice_id)
                refs.extend(_invoice_refs(voucher, invoice_id, invoice_attachments))
                outcome.resolved_supplier_invoice = True
            except DocumentUnavailable as exc:
                outcome.missing.append(
                    (
                        DocumentRef(
                            source="supplier_invoice_attachment", spiris_id=invoice_id, invoice_id=invoice_id
                        ),
                        exc.reason,
                    )
                )
        for ref in refs:
            existing = _stored_document(ref, known)
            if existing is not None:
                outcome.linked_existing.append((ref, existing))
                continue
            try:
                failed_ahead = self._failed_ahead.get((ref.source, ref.spiris_id))
                if failed_ahead is not None:
                    raise DocumentUnavailable(failed_ahead)
                outcome.stored.append((ref, self._fetcher.fetch(ref)))
            except DocumentUnavailable as exc:
                logger.warning(
                    "document %s %s of voucher %s is missing: %s",
                    ref.source,
                    ref.spiris_id,
                    voucher.id,
                    exc.reason,
                )
                outcome.missing.append((ref, exc.reason))
        return outcome

    def _link_stored(self, cutoff: datetime.datetime | None, *, after: uuid.UUID | None) -> int:
        """At a yield: link the documents already stored to the pending vouchers after the checkpoint, with
        no API call and without moving the checkpoint (the next run still processes those vouchers, finds
        the links made and fetches only what is missing). Returns how many links were made."""
        linked = 0
        while batch := self._pending(cutoff, after=after, limit=BATCH_SIZE):
            known = self._known_documents(batch)
            links = [
                VoucherDocumentLink(voucher_id=voucher.id, document_id=document_id, relation=ref.source)
                for voucher in batch
                for ref in self._listed_refs(voucher)
                if (document_id := _stored_document(ref, known)) is not None
            ]
            if links:
                with self._conn.transaction():
                    ledger.link_voucher_documents(self._conn, company_key=self._company_key, links=links)
            linked += len(links)
            after = batch[-1].id
        return linked

    def _listed_refs(self, voucher: PendingVoucher) -> list[DocumentRef]:
        """The voucher's documents as far as known without asking Spiris: its own refs and the attachments
        the supplier invoice list gave for its invoice."""
        refs = voucher.direct_refs()
        invoice_id = voucher.supplier_invoice_id
        if invoice_id is not None:
            refs.extend(_invoice_refs(voucher, invoice_id, self._listed_invoices.get(invoice_id, ())))
        return refs

    def _write(self, outcome: VoucherOutcome, state: dict[str, Any]) -> None:
        voucher_id = outcome.voucher.id
        links: list[VoucherDocumentLink] = []
        for ref, record in outcome.stored:
            stored = ledger.upsert_document(self._conn, record)
            links.append(
                VoucherDocumentLink(voucher_id=voucher_id, document_id=stored.id, relation=ref.source)
            )
        for ref, document_id in outcome.linked_existing:
            links.append(
                VoucherDocumentLink(voucher_id=voucher_id, document_id=document_id, relation=ref.source)
            )
        if links:
            ledger.link_voucher_documents(self._conn, company_key=self._company_key, links=links)
        failing: set[tuple[DocumentSource, uuid.UUID]] = {
            (ref.source, ref.spiris_id) for ref, _ in outcome.missing
        }
        # Forget earlier misses that are now stored, or no longer referred to by the (changed) voucher.
        ledger.clear_missing_documents_except(
            self._conn, company_key=self._company_key, voucher_id=voucher_id, still_missing=failing
        )
        for ref, reason in outcome.missing:
            ledger.record_missing_document(
                self._conn,
                company_key=self._company_key,
                missing=MissingDocument(
                    voucher_id=voucher_id, source=ref.source, spiris_id=ref.spiris_id, reason=reason
                ),
                run_id=self._run_id,
            )
        state["processed"] = int(state["processed"]) + 1
        state["fetched"] = int(state["fetched"]) + len(outcome.stored)
        state["linked"] = int(state["linked"]) + len(links)
        state["missing"] = int(state["missing"]) + len(outcome.missing)


def invoice_pdf_threads(workers: int) -> int:
    """The invoice-PDF threads beside a pass's `workers`: as many per route, for the PDFs are spread over
    `/print` and `/pdf`, each with its own budget."""
    return workers * len(invoice_pdf_routes.ROUTES)


def concurrent_uploads(workers: int) -> int:
    """How many documents a pass of `workers` threads may be storing at once (its own threads and the
    invoice-PDF threads beside them): the object store's connection pool is sized to it."""
    return workers + invoice_pdf_threads(workers)


def _stored_document(
    ref: DocumentRef, known: dict[tuple[DocumentSource, uuid.UUID], uuid.UUID]
) -> uuid.UUID | None:
    """Our id of the document ``ref`` names, if it is stored already."""
    existing = known.get((ref.source, ref.spiris_id))
    if existing is None and ref.source == "attachment":
        # The same file may be stored already as a supplier-invoice attachment.
        existing = known.get(("supplier_invoice_attachment", ref.spiris_id))
    return existing


def _invoice_refs(
    voucher: PendingVoucher, invoice_id: uuid.UUID, attachments: Iterable[uuid.UUID]
) -> list[DocumentRef]:
    """The supplier invoice's attachments that the voucher does not list itself."""
    return [
        DocumentRef(source="supplier_invoice_attachment", spiris_id=a, invoice_id=invoice_id)
        for a in attachments
        if a not in voucher.attachment_ids
    ]
