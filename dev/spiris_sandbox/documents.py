"""Document contents described by a small spec and rendered on demand, so the seeded data never holds file
bytes.

A `DocumentSpec` says what a file is (a PDF with these lines, a PNG scan from this seed, an empty file,
literal bytes for generated exports) and how large it should be; `document_size` and `document_chunks` produce
the bytes when a download link is fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from spiris_sandbox.pdf_writer import PdfDocument
from spiris_sandbox.png_writer import render_scan_png

DocumentKind = Literal["pdf", "png", "empty", "bytes"]


@dataclass(frozen=True)
class DocumentSpec:
    """What a stored file contains; `pad_to` makes a PDF exactly that many bytes (for large-file tests)."""

    kind: DocumentKind
    lines: tuple[str, ...] = ()
    seed: int = 0
    pad_to: int = 0
    content: bytes = b""


def _render_small(spec: DocumentSpec) -> bytes:
    if spec.kind == "png":
        return render_scan_png(seed=spec.seed)
    if spec.kind == "empty":
        return b""
    if spec.kind == "bytes":
        return spec.content
    return PdfDocument(spec.lines).to_bytes()


def document_size(spec: DocumentSpec) -> int:
    """The exact byte size of the rendered document."""
    if spec.kind == "pdf":
        return PdfDocument(spec.lines, pad_to=spec.pad_to).size
    return len(_render_small(spec))


def document_chunks(spec: DocumentSpec, *, chunk_size: int = 65536) -> Iterator[bytes]:
    """The rendered bytes in chunks; large padded PDFs are generated while streaming."""
    if spec.kind == "pdf":
        yield from PdfDocument(spec.lines, pad_to=spec.pad_to).chunks(chunk_size)
        return
    data = _render_small(spec)
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]


def document_bytes(spec: DocumentSpec) -> bytes:
    """The whole document in memory (for small documents only)."""
    return b"".join(document_chunks(spec))
