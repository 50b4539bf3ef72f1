"""The content type Spiris declares is stored cleaned: CR/LF or control characters never reach Postgres or
the object's headers (``application/octet-stream`` instead), and a plain type is kept, lower-cased."""

from __future__ import annotations

import uuid

import pytest
from spiris_store.documents import DocumentStore, clean_content_type


@pytest.mark.parametrize(
    ("declared", "stored"),
    [
        ("application/pdf", "application/pdf"),
        ("Image/JPEG", "image/jpeg"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("application/pdf\r\nX-Injected: 1", "application/octet-stream"),
        ("application/pdf\n", "application/pdf"),
        ("pdf", "application/octet-stream"),
        ("", "application/octet-stream"),
        (None, "application/octet-stream"),
        ("image/png\x00", "application/octet-stream"),
    ],
)
def test_declared_types_are_cleaned(declared: str | None, stored: str) -> None:
    assert clean_content_type(declared) == stored


def test_a_stored_object_reports_the_cleaned_type(document_store: DocumentStore) -> None:
    result = document_store.put_stream(
        "company-a",
        [b"%PDF-1.4 x"],
        content_type="application/pdf\r\nSet-Cookie: a=b",
        original_file_name="f.pdf",
        source="attachment",
        spiris_id=uuid.uuid4(),
    )
    assert result.content_type == "application/octet-stream"
