"""The document store against a real S3 server (SeaweedFS): content addressing, integrity, hostile input."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import httpx
import pytest
from spiris_localstack.s3 import S3Server
from spiris_store.documents import DocumentStore, S3Settings, object_key_for
from spiris_store.errors import DocumentIntegrityError, StorageUnavailable
from testkit.store_samples import s3_settings

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def _objects(store: DocumentStore) -> list[str]:
    return sorted(
        o.object_name for o in store.client.list_objects(store.bucket, recursive=True) if o.object_name
    )


def _put(store: DocumentStore, data: bytes, **overrides: object) -> object:
    arguments: dict[str, object] = {
        "content_type": "application/pdf",
        "original_file_name": "faktura.pdf",
        "source": "attachment",
        "spiris_id": uuid.uuid4(),
    }
    arguments.update(overrides)
    company = str(arguments.pop("company_key", "company-a"))
    return store.put_stream(company, io.BytesIO(data), **arguments)  # type: ignore[arg-type]


def test_stores_content_addressed_with_verified_hash_and_metadata(document_store: DocumentStore) -> None:
    attachment_id = uuid.uuid4()
    stored = document_store.put_stream(
        "company-a",
        io.BytesIO(PDF),
        content_type="application/pdf",
        original_file_name="Kvitto från Åhléns.pdf",
        source="supplier_invoice_attachment",
        spiris_id=attachment_id,
        spiris_attachment_id=attachment_id,
        spiris_invoice_id=uuid.UUID(int=42),
        expected_sha256=hashlib.sha256(PDF).hexdigest().upper(),
        expected_size=len(PDF),
    )
    digest = hashlib.sha256(PDF).hexdigest()
    assert stored.sha256 == digest and stored.size_bytes == len(PDF) and not stored.already_present
    assert (
        stored.object_key
        == f"companies/company-a/sha256/{digest[:2]}/{digest}"
        == object_key_for("company-a", digest)
    )
    assert b"".join(document_store.iter_bytes(stored.object_key)) == PDF
    meta = document_store.metadata(stored.object_key)
    assert meta["content-type"] == "application/pdf" and meta["size"] == str(len(PDF))
    assert meta["original-file-name"] == "Kvitto från Åhléns.pdf"
    assert meta["sha256"] == digest and meta["source"] == "supplier_invoice_attachment"
    assert meta["spiris-attachment-id"] == str(attachment_id) and meta["spiris-invoice-id"] == str(
        uuid.UUID(int=42)
    )


def test_same_bytes_are_stored_once_per_company(document_store: DocumentStore) -> None:
    first = _put(document_store, PDF, original_file_name="a.pdf")
    second = _put(document_store, PDF, original_file_name="b.pdf", source="customer_invoice_pdf")
    other_company = _put(document_store, PDF, company_key="company-b")
    assert not first.already_present and second.already_present  # type: ignore[attr-defined]
    assert first.object_key == second.object_key  # type: ignore[attr-defined]
    assert not other_company.already_present  # type: ignore[attr-defined]
    assert len(_objects(document_store)) == 2
    # the first upload's metadata stays (the name is data in Postgres, not part of the object's identity)
    assert document_store.metadata(first.object_key)["original-file-name"] == "a.pdf"  # type: ignore[attr-defined]


def test_wrong_hash_or_size_is_rejected_and_nothing_is_stored(document_store: DocumentStore) -> None:
    with pytest.raises(DocumentIntegrityError, match="sha256 mismatch"):
        _put(document_store, PDF, expected_sha256="0" * 64)
    with pytest.raises(DocumentIntegrityError, match="size mismatch"):
        _put(document_store, PDF, expected_size=len(PDF) + 1)
    assert _objects(document_store) == []


@pytest.mark.parametrize(
    ("name", "content_type", "data"),
    [
        ("../../etc/passwd", "application/pdf", b"root:x:0:0"),
        ("å" * 300, "image/jpeg", b"\xff\xd8\xff" + b"j" * 100),
        ("tom fil.txt", "text/plain", b""),
        ("faktura.pdf", "text/html; charset=utf-8", PDF),  # a wrong but well-formed type is kept as given
        ("x\r\nX-Injected: 1.pdf", "application/pdf\r\nX-Injected: 1", b"header injection attempt"),
        ("noll\x00byte.pdf", "", b"nul in name"),
    ],
)
def test_hostile_names_and_types_are_stored_safely(
    document_store: DocumentStore, name: str, content_type: str, data: bytes
) -> None:
    stored = _put(document_store, data, original_file_name=name, content_type=content_type)
    digest = hashlib.sha256(data).hexdigest()
    assert stored.object_key == f"companies/company-a/sha256/{digest[:2]}/{digest}"  # type: ignore[attr-defined]
    assert stored.size_bytes == len(data)  # type: ignore[attr-defined]
    assert _objects(document_store) == [stored.object_key]  # type: ignore[attr-defined]
    assert b"".join(document_store.iter_bytes(stored.object_key)) == data  # type: ignore[attr-defined]
    meta = document_store.metadata(stored.object_key)  # type: ignore[attr-defined]
    assert name.startswith(meta["original-file-name"]) and len(meta["original-file-name"]) >= min(
        len(name), 100
    )
    assert "x-injected" not in meta
    served_type = meta["content-type"]
    assert "\r" not in served_type and "\n" not in served_type
    if content_type.startswith(("text/html", "image/jpeg", "text/plain")):
        assert served_type == content_type
    else:
        assert served_type in ("application/pdf", "application/octet-stream")


def test_iterable_input_and_presigned_download(document_store: DocumentStore) -> None:
    chunks = [PDF[i : i + 1000] for i in range(0, len(PDF), 1000)]
    stored = document_store.put_stream(
        "company-a",
        iter(chunks),
        content_type="application/pdf",
        original_file_name="Årsredovisning 2024 <script>.pdf",
        source="customer_invoice_pdf",
        spiris_id=uuid.uuid4(),
    )
    url = document_store.presigned_get(stored.object_key, download_name="Årsredovisning 2024 <script>.pdf")
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == PDF
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert urllib.parse.quote("Årsredovisning 2024 <script>.pdf", safe="") in disposition


def test_delete_objects_and_company_prefix(document_store: DocumentStore) -> None:
    a = _put(document_store, b"one")
    b = _put(document_store, b"two")
    other = _put(document_store, b"one", company_key="company-b")
    assert document_store.delete_objects([a.object_key, "companies/company-a/sha256/00/" + "0" * 64]) == 2  # type: ignore[attr-defined]
    assert not document_store.exists(a.object_key)  # type: ignore[attr-defined]
    assert document_store.exists(b.object_key)  # type: ignore[attr-defined]
    assert document_store.delete_company_objects("company-a") == 1
    assert _objects(document_store) == [other.object_key]  # type: ignore[attr-defined]
    assert document_store.delete_objects([]) == 0


def test_bad_company_key_never_becomes_a_path(document_store: DocumentStore) -> None:
    with pytest.raises(ValueError):
        _put(document_store, b"x", company_key="../other")
    assert _objects(document_store) == []


def test_unreachable_s3_is_storage_unavailable(fresh_bucket: str, s3_server: S3Server) -> None:
    down = DocumentStore(
        S3Settings(
            endpoint="127.0.0.1:1", access_key="a", secret_key="b", bucket=fresh_bucket, region="us-east-1"
        )
    )
    with pytest.raises(StorageUnavailable):
        _put(down, b"data")
    wrong_secret = DocumentStore(
        S3Settings(
            endpoint=s3_server.endpoint,
            access_key=s3_server.access_key,
            secret_key="not-the-secret",
            bucket=fresh_bucket,
            region=s3_server.region,
        )
    )
    with pytest.raises(StorageUnavailable, match="S3 error"):
        _put(wrong_secret, b"data")


def test_settings_from_environment() -> None:
    settings = S3Settings.from_env(
        {
            "S3_ENDPOINT": "https://s3.example:9000",
            "S3_ACCESS_KEY": "a",
            "S3_SECRET_KEY": "b",
            "S3_BUCKET": "docs",
        }
    )
    assert settings.secure and settings.region == "us-east-1" and settings.bucket == "docs"
    with pytest.raises(KeyError, match="S3_BUCKET"):
        S3Settings.from_env({"S3_ENDPOINT": "x", "S3_ACCESS_KEY": "a", "S3_SECRET_KEY": "b"})


@pytest.mark.timeout(120)
def test_200_mb_document_streams_with_flat_memory(s3_server: S3Server, fresh_bucket: str) -> None:
    size = 200 * 1024 * 1024
    probe = Path(__file__).with_name("big_upload_probe.py")
    result = subprocess.run(
        [
            sys.executable,
            str(probe),
            s3_server.endpoint,
            s3_server.access_key,
            s3_server.secret_key,
            fresh_bucket,
            s3_server.region,
            str(size),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["size"] == size and report["sha256"] == report["expected_sha256"]
    growth_mib = (report["hwm_after_kib"] - report["hwm_before_kib"]) / 1024
    # one 16 MiB part in flight (plus the SDK's copy of it) and the 8 MiB spool threshold: far below 200 MiB
    assert growth_mib < 64, f"peak RSS grew by {growth_mib:.0f} MiB while streaming 200 MiB"
    store = DocumentStore(s3_settings(s3_server, fresh_bucket))
    digest = hashlib.sha256()
    total = 0
    for chunk in store.iter_bytes(report["object_key"]):
        digest.update(chunk)
        total += len(chunk)
    assert (total, digest.hexdigest()) == (size, report["sha256"])
    store.delete_objects(
        [report["object_key"]]
    )  # keep the shared S3 server small for the rest of the session
