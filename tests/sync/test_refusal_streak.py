"""`RefusalStreak`: refused uploads with none stored in between trip it, a stored document resets it, and once
tripped it stays tripped for the pass (the store-wide refusal of tests/sync/test_storage_outages.py)."""

from __future__ import annotations

from spiris_store.errors import StorageUnavailable
from spiris_sync.document_fetcher import RefusalStreak


def test_a_refusal_between_stored_documents_never_trips_it() -> None:
    streak = RefusalStreak(limit=3)
    for _ in range(10):
        assert streak.refused(StorageUnavailable("S3 error InternalError")) is None
        assert streak.refused(StorageUnavailable("S3 error InternalError")) is None
        streak.stored()
    assert streak.tripped() is None


def test_the_limit_in_a_row_trips_it_with_the_last_error_and_it_stays_tripped() -> None:
    streak = RefusalStreak(limit=3)
    assert streak.refused(StorageUnavailable("first")) is None
    assert streak.refused(StorageUnavailable("second")) is None
    stop = streak.refused(StorageUnavailable("S3 is unavailable: too many 500 error responses"))
    assert isinstance(stop, StorageUnavailable)
    assert str(stop) == (
        "the object store answers but refused 3 documents in a row, "
        "the last: S3 is unavailable: too many 500 error responses"
    )
    streak.stored()  # an upload that was already under way
    assert str(streak.tripped()) == str(stop)
    assert str(streak.refused(StorageUnavailable("later"))) == str(stop)
