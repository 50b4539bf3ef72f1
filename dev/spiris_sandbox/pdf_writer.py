"""A tiny PDF writer: one A4 page of Helvetica text lines, optionally padded to a given size.

Enough to make customer-invoice PDFs, supplier-invoice scans and receipts that real PDF readers open. Padding
is written as PDF comment lines between the header and the objects (cross-reference offsets account for it),
so a 200 MB document can be streamed chunk by chunk without ever existing in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
_PAD_LINE = 1024


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content_stream(lines: tuple[str, ...]) -> bytes:
    parts = [b"BT /F1 11 Tf 56 780 Td 15 TL"]
    for index, line in enumerate(lines):
        size = b"16" if index == 0 else b"11"
        parts.append(b"/F1 " + size + b" Tf (" + _escape(line) + b") Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


class PdfDocument:
    """A one-page PDF with the given lines; `size` is known up front and `chunks()` streams the bytes."""

    def __init__(self, lines: tuple[str, ...], *, pad_to: int = 0) -> None:
        self._lines = lines
        stream = _content_stream(lines)
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        ]
        body = self._body(objects, base=len(_HEADER))
        padding = 0
        # `startxref` grows by a digit or two with the padding; settle the length in a few rounds.
        for _ in range(4):
            padding = max(0, pad_to - len(_HEADER) - len(body))
            body = self._body(objects, base=len(_HEADER) + padding)
            if len(_HEADER) + padding + len(body) == max(pad_to, len(_HEADER) + len(body)):
                break
        self._padding = padding
        self._body_bytes = body
        self.size = len(_HEADER) + padding + len(self._body_bytes)

    @staticmethod
    def _body(objects: list[bytes], *, base: int) -> bytes:
        out = bytearray()
        offsets = []
        for number, obj in enumerate(objects, start=1):
            offsets.append(base + len(out))
            out += str(number).encode() + b" 0 obj\n" + obj + b"\nendobj\n"
        xref_at = base + len(out)
        out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
        for offset in offsets:
            out += f"{offset:010d} 00000 n \n".encode()
        out += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\n"
        out += b"startxref\n" + str(xref_at).encode() + b"\n%%EOF\n"
        return bytes(out)

    def chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """The document's bytes in pieces of at most `chunk_size` (padding is generated as it goes)."""
        yield _HEADER
        remaining = self._padding
        line = b"%" + b"0" * (_PAD_LINE - 2) + b"\n"
        lines_per_chunk = max(1, chunk_size // _PAD_LINE)
        full_chunk = line * lines_per_chunk
        while remaining >= len(full_chunk):
            yield full_chunk
            remaining -= len(full_chunk)
        while remaining >= _PAD_LINE:
            yield line
            remaining -= _PAD_LINE
        if remaining:
            # A short last padding line; a lone newline is valid whitespace too.
            yield (b"%" + b"0" * (remaining - 2) + b"\n") if remaining >= 2 else b"\n"
        yield self._body_bytes

    def to_bytes(self) -> bytes:
        """The whole document (only for small documents)."""
        return b"".join(self.chunks())
