"""The tiny PDF and PNG writers produce structurally valid files (exact xref offsets, valid chunks/CRCs)."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from spiris_sandbox.pdf_writer import PdfDocument
from spiris_sandbox.png_writer import render_scan_png


@pytest.mark.parametrize("pad_to", [0, 3000, 250_000])
def test_pdf_cross_reference_offsets_are_exact(pad_to: int) -> None:
    document = PdfDocument(("Faktura 1001", "Åkesson Måleri AB (kund) \\ 1 250,00 kr"), pad_to=pad_to)
    data = document.to_bytes()
    assert len(data) == document.size and (pad_to == 0 or len(data) == pad_to)
    assert data.startswith(b"%PDF-1.4") and data.endswith(b"%%EOF\n")
    xref_at = int(re.search(rb"startxref\n(\d+)", data).group(1))  # type: ignore[union-attr]
    assert data[xref_at : xref_at + 4] == b"xref"
    offsets = re.findall(rb"(\d{10}) 00000 n", data[xref_at:])
    assert len(offsets) == 5
    for number, offset in enumerate(offsets, start=1):
        assert data[int(offset) :].startswith(f"{number} 0 obj".encode())
    stream = re.search(rb"/Length (\d+) >>\nstream\n", data)
    assert stream is not None
    end = stream.end() + int(stream.group(1))
    assert data[end : end + 10] == b"\nendstream"
    assert "Åkesson".encode("cp1252") in data


def test_png_chunks_and_pixels_are_valid() -> None:
    data = render_scan_png(seed=7, width=60, height=80)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        chunks[kind] = body
        position += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (60, 80)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (width + 1)
    assert (
        render_scan_png(seed=7, width=60, height=80) == data != render_scan_png(seed=8, width=60, height=80)
    )
