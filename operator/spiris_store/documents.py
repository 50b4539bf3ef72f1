"""The document store: content-addressed objects in S3 (any S3 endpoint, through the `minio` SDK), and the
one model of the S3 settings (`S3Settings`, `parse_secure`).

Keys are `companies/{company_key}/sha256/{ab}/{sha256}` (per company, no file names, same bytes stored
once). The stream is spooled to a temporary file while hashed (the Job needs a writable `/tmp`), checked
against the expected size and sha256, and uploaded part by part only when the key is absent: nothing is
uploaded twice and a killed worker leaves no staging object. Metadata is ASCII-safe; the Content-Type is the
given type when it is a well-formed MIME type, else `application/octet-stream`; presigned GETs force
`attachment`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, BinaryIO

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from spiris_store.errors import DocumentIntegrityError, StorageUnavailable
from spiris_store.records import DOCUMENT_SOURCES, DocumentSource

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMPANY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# type/subtype with optional parameters, printable ASCII only: anything else never reaches an HTTP header.
_MIME = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(;[ -~]{0,200})?$"
)
_MISSING_OBJECT_CODES = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"}
_METADATA_VALUE_LIMIT = 1024
_MIB = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """The result of storing a document's bytes. `already_present` is True when the same bytes were already
    stored for this company (nothing uploaded)."""

    object_key: str
    sha256: str
    size_bytes: int
    content_type: str
    already_present: bool


def parse_bool(text: str | None, *, variable: str, default: bool) -> bool:
    """A yes/no setting, the one reading of them (the worker's and the operator's loaders use it):
    true/yes/on/1 or false/no/off/0 in any case; unset or empty → `default`; other words raise `ValueError`
    naming `variable`."""
    if text is None or not text.strip():
        return default
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"invalid setting {variable}={text!r}: expected true or false")


def parse_secure(text: str | None, *, endpoint: str) -> bool:
    """`S3_SECURE`; unset or empty → whether `endpoint` is an `https://` URL."""
    return parse_bool(text, variable="S3_SECURE", default=endpoint.startswith("https://"))


@dataclass(frozen=True)
class S3Settings:
    """Where the documents live, the one model of the object-store settings (from `S3_ENDPOINT`,
    `S3_ACCESS_KEY`, `S3_SECRET_KEY`, `S3_BUCKET`, `S3_REGION`, `S3_SECURE`; the worker's and the
    operator's settings loaders build it). `endpoint` is `host:port` or a URL."""

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    region: str = "us-east-1"
    secure: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        """Read the settings from the environment; a missing variable raises `KeyError` naming it."""
        env = os.environ if env is None else env
        endpoint = env["S3_ENDPOINT"]
        return cls(
            endpoint=endpoint,
            access_key=env["S3_ACCESS_KEY"],
            secret_key=env["S3_SECRET_KEY"],
            bucket=env["S3_BUCKET"],
            region=env.get("S3_REGION") or "us-east-1",
            secure=parse_secure(env.get("S3_SECURE"), endpoint=endpoint),
        )


def object_key_for(company_key: str, sha256: str) -> str:
    """The content-addressed key of `sha256`'s bytes for a company."""
    if not _COMPANY_KEY.match(company_key):
        raise ValueError("company_key must be 1 to 128 characters of letters, digits, '.', '_' or '-'")
    if not _SHA256.match(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return f"companies/{company_key}/sha256/{sha256[:2]}/{sha256}"


def company_prefix(company_key: str) -> str:
    """The key prefix under which all of a company's objects live."""
    return object_key_for(company_key, "0" * 64).split("sha256/", 1)[0]


class DocumentStore:
    """Stores and serves document bytes for the ledger's `documents` rows."""

    def __init__(
        self,
        settings: S3Settings,
        *,
        spool_dir: str | None = None,
        spool_memory_bytes: int = 8 * _MIB,
        chunk_size: int = _MIB,
        part_size: int = 16 * _MIB,
        connections: int = 8,
    ) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._spool_dir = spool_dir
        self._spool_memory_bytes = spool_memory_bytes
        self._chunk_size = chunk_size
        self._part_size = max(part_size, 5 * _MIB)
        endpoint = settings.endpoint
        for scheme in ("http://", "https://"):
            if endpoint.startswith(scheme):
                endpoint = endpoint[len(scheme) :]
        self.client = Minio(
            endpoint.rstrip("/"),
            access_key=settings.access_key,
            secret_key=settings.secret_key,
            region=settings.region,
            secure=settings.secure,
            http_client=urllib3.PoolManager(
                # Kept connections for that many parallel uploads; urllib3's default of one closes every
                # other upload's connection.
                maxsize=connections,
                timeout=urllib3.Timeout(connect=5, read=120),
                retries=urllib3.Retry(total=3, backoff_factor=0.3, status_forcelist=[500, 502, 503, 504]),
            ),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DocumentStore:
        """A store configured from the `S3_*` environment variables."""
        return cls(S3Settings.from_env(env))

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (idempotent, safe when two processes race)."""
        try:
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        except Exception as exc:
            raise _unavailable(exc) from exc

    def put_stream(
        self,
        company_key: str,
        stream: BinaryIO | IO[bytes] | Iterable[bytes],
        *,
        content_type: str | None,
        original_file_name: str | None,
        source: DocumentSource,
        spiris_id: uuid.UUID,
        spiris_attachment_id: uuid.UUID | None = None,
        spiris_invoice_id: uuid.UUID | None = None,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> StoredObject:
        """Store a document's bytes read from `stream` (a file-like object with `read`, or an iterable of byte
        chunks such as `httpx.Response.iter_bytes()`), hashing while reading. When `expected_sha256` or
        `expected_size` is given and differs, raises `DocumentIntegrityError` and stores nothing. Bytes
        already stored for this company are not uploaded again. S3 trouble raises `StorageUnavailable`."""
        if source not in DOCUMENT_SOURCES:
            raise ValueError(f"unknown document source {source!r}")
        given_type = clean_content_type(content_type)
        with tempfile.SpooledTemporaryFile(max_size=self._spool_memory_bytes, dir=self._spool_dir) as spool:
            digest = hashlib.sha256()
            size = 0
            for chunk in _chunks(stream, self._chunk_size):
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            sha256 = digest.hexdigest()
            if expected_size is not None and size != expected_size:
                raise DocumentIntegrityError(
                    f"size mismatch: expected {expected_size} bytes, received {size}"
                )
            if expected_sha256 is not None and sha256 != expected_sha256.lower():
                raise DocumentIntegrityError(
                    f"sha256 mismatch: expected {expected_sha256}, received {sha256}"
                )
            key = object_key_for(company_key, sha256)
            if self.exists(key):
                return StoredObject(key, sha256, size, given_type, already_present=True)
            spool.seek(0)
            metadata = _object_metadata(
                sha256=sha256,
                company_key=company_key,
                content_type=given_type,
                original_file_name=original_file_name,
                source=source,
                spiris_id=spiris_id,
                spiris_attachment_id=spiris_attachment_id,
                spiris_invoice_id=spiris_invoice_id,
            )
            try:
                self.client.put_object(
                    self.bucket,
                    key,
                    spool,  # type: ignore[arg-type]  # SpooledTemporaryFile is a readable binary file
                    length=size,
                    content_type=given_type,
                    metadata=metadata,  # type: ignore[arg-type]
                    part_size=self._part_size,
                    num_parallel_uploads=1,  # one part in memory at a time
                )
            except Exception as exc:
                raise _unavailable(exc) from exc
        return StoredObject(key, sha256, size, given_type, already_present=False)

    def exists(self, object_key: str) -> bool:
        """Whether the object exists."""
        try:
            self.client.stat_object(self.bucket, object_key)
            return True
        except S3Error as exc:
            if exc.code in _MISSING_OBJECT_CODES:
                return False
            raise _unavailable(exc) from exc
        except Exception as exc:
            raise _unavailable(exc) from exc

    def metadata(self, object_key: str) -> dict[str, str]:
        """The object's user metadata (keys lower-case without `x-amz-meta-`, values decoded) plus
        `content-type` and `size`. Raises `KeyError` when the object does not exist."""
        try:
            stat = self.client.stat_object(self.bucket, object_key)
        except S3Error as exc:
            if exc.code in _MISSING_OBJECT_CODES:
                raise KeyError(object_key) from exc
            raise _unavailable(exc) from exc
        result = {"content-type": stat.content_type or "", "size": str(stat.size)}
        for name, value in (stat.metadata or {}).items():
            lower = name.lower()
            if lower.startswith("x-amz-meta-"):
                result[lower[len("x-amz-meta-") :]] = urllib.parse.unquote(value)
        return result

    def iter_bytes(self, object_key: str, *, chunk_size: int = _MIB) -> Iterator[bytes]:
        """Stream an object's bytes (for verification and export)."""
        try:
            response = self.client.get_object(self.bucket, object_key)
        except Exception as exc:
            raise _unavailable(exc) from exc
        try:
            yield from response.stream(chunk_size)
        finally:
            response.close()
            response.release_conn()

    def presigned_get(
        self,
        object_key: str,
        *,
        expires: timedelta = timedelta(minutes=5),
        download_name: str | None = None,
    ) -> str:
        """A short-lived GET URL for the UI. The response is always served as an attachment (never rendered
        inline), with the original file name as an RFC 6266 `filename*` when given."""
        disposition = "attachment"
        if download_name:
            fallback = re.sub(r"[^A-Za-z0-9._-]", "_", download_name)[:100] or "document"
            disposition += (
                f"; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(download_name, safe='')}"
            )
        try:
            return self.client.presigned_get_object(
                self.bucket,
                object_key,
                expires=expires,
                response_headers={"response-content-disposition": disposition},
            )
        except Exception as exc:
            raise _unavailable(exc) from exc

    def delete_objects(self, keys: Sequence[str]) -> int:
        """Delete these objects (missing ones are ignored). Returns how many keys were submitted; raises
        `StorageUnavailable` if any deletion failed."""
        if not keys:
            return 0
        try:
            errors = list(self.client.remove_objects(self.bucket, (DeleteObject(k) for k in keys)))
        except Exception as exc:
            raise _unavailable(exc) from exc
        failures = [e for e in errors if e.code not in _MISSING_OBJECT_CODES]
        if failures:
            raise StorageUnavailable(
                f"could not delete {len(failures)} objects, first: {failures[0].message}"
            )
        return len(keys)

    def delete_company_objects(self, company_key: str) -> int:
        """Delete every object under the company's prefix (also objects no row points to).
        Returns the count."""
        try:
            keys = [
                o.object_name
                for o in self.client.list_objects(
                    self.bucket, prefix=company_prefix(company_key), recursive=True
                )
                if o.object_name
            ]
        except Exception as exc:
            raise _unavailable(exc) from exc
        return self.delete_objects(keys)


def _chunks(stream: BinaryIO | IO[bytes] | Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    read = getattr(stream, "read", None)
    if callable(read):
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return
            yield bytes(chunk)
    else:
        for chunk in stream:  # type: ignore[union-attr]
            if chunk:
                yield bytes(chunk)


def _object_metadata(
    *,
    sha256: str,
    company_key: str,
    content_type: str,
    original_file_name: str | None,
    source: str,
    spiris_id: uuid.UUID,
    spiris_attachment_id: uuid.UUID | None,
    spiris_invoice_id: uuid.UUID | None,
) -> dict[str, str]:
    metadata = {
        "sha256": sha256,
        "company-key": company_key,
        "source": source,
        "spiris-id": str(spiris_id),
        "original-content-type": _header_safe(content_type),
    }
    if original_file_name is not None:
        metadata["original-file-name"] = _header_safe(original_file_name)
    if spiris_attachment_id is not None:
        metadata["spiris-attachment-id"] = str(spiris_attachment_id)
    if spiris_invoice_id is not None:
        metadata["spiris-invoice-id"] = str(spiris_invoice_id)
    return metadata


def clean_content_type(value: str | None) -> str:
    """The media type Spiris declared, as stored (Postgres, S3): ``type/subtype`` lower-cased with its
    parameters only when they are plain printable text; anything else (CR/LF, control characters, no type)
    becomes ``application/octet-stream``. The bytes themselves are never trusted for this either way."""
    text = (value or "").strip()
    if not text or not _MIME.match(text):
        return "application/octet-stream"
    media, _, params = text.partition(";")
    params = params.strip()
    return f"{media.strip().lower()}; {params}" if params else media.strip().lower()


def _header_safe(text: str) -> str:
    """URL-encode free text (UTF-8) so it is plain ASCII without control characters, cut at a character
    boundary to stay within S3's metadata size limits (the database keeps the full value)."""
    encoded = urllib.parse.quote(text, safe="")
    while len(encoded) > _METADATA_VALUE_LIMIT:
        text = text[: max(0, len(text) - max(1, (len(encoded) - _METADATA_VALUE_LIMIT) // 9))]
        encoded = urllib.parse.quote(text, safe="")
    return encoded


def _unavailable(exc: BaseException) -> StorageUnavailable:
    if isinstance(exc, StorageUnavailable):
        return exc
    if isinstance(exc, S3Error):
        return StorageUnavailable(f"S3 error {exc.code}: {exc.message}")
    return StorageUnavailable(
        f"S3 is unavailable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    )


__all__ = [
    "DocumentStore",
    "S3Settings",
    "StoredObject",
    "company_prefix",
    "object_key_for",
]
