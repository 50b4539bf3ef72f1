"""A tiny PNG writer for "scanned" receipts and supplier invoices: an 8-bit greyscale page with dark text
bars.

The picture is drawn from a seed so every scan differs and is reproducible; zlib does the compression, so the
files are valid PNGs that image viewers open.
"""

from __future__ import annotations

import random
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def render_scan_png(*, seed: int, width: int = 180, height: int = 240) -> bytes:
    """A greyscale "scan" of a paper slip: white paper, a few rows of dark bars like printed text."""
    rng = random.Random(seed)
    paper = b"\x00" + bytes([rng.randrange(236, 250)]) * width
    raw = bytearray()
    y = 0
    while y < height:
        if 12 <= y < height - 12 and rng.random() < 0.35:
            line = bytearray(paper[1:])
            x = 10
            while x < width - 20:
                word = rng.randrange(4, 28)
                shade = rng.randrange(20, 90)
                end = min(x + word, width - 10)
                line[x:end] = bytes([shade]) * (end - x)
                x = end + rng.randrange(3, 9)
            row = b"\x00" + bytes(line)
            for _ in range(min(4, height - y)):
                raw += row
            y += 4
        else:
            raw += paper
            y += 1
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + _chunk(b"IEND", b"")
    )
