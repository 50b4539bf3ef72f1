"""The read side's plain parts without servers: file names in Content-Disposition, what is served inline,
cursors, viewer links and strict parameters."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from spiris_read import params
from spiris_read.content_links import content_disposition, safe_file_name, served_type
from spiris_read.cursors import VoucherCursor, decode_cursor
from spiris_read.problems import MalformedRequest, NotAuthenticated
from spiris_read.viewer_links import ViewerClaim, mint, verify


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "faktura\r\nSet-Cookie: a=b.pdf",
        "Kvitto åäö ÅÄÖ.pdf",
        "x" * 300 + ".pdf",
        "",
        None,
        "\x00\x1f.pdf",
        '"quoted";name=evil.pdf',
        "\uff46\uff55\uff4c\uff4c.pdf",
    ],
)
def test_hostile_file_names_are_safe_in_content_disposition(name: str | None) -> None:
    header = content_disposition(name, inline=True)
    assert header.isascii() and header.isprintable() and len(header) < 800
    match = re.fullmatch(
        r'inline; filename="([A-Za-z0-9._ -]+)"; filename\*=UTF-8\'\'([A-Za-z0-9%._~-]+)', header
    )
    assert match, header
    assert "/" not in match.group(1) and not match.group(1).startswith(".")
    assert "/" not in safe_file_name(name) and "\n" not in safe_file_name(name)


def test_swedish_names_keep_their_letters_in_filename_star() -> None:
    header = content_disposition("Kvitto Åhléns.pdf", inline=False)
    assert header.startswith('attachment; filename="Kvitto Ahlens.pdf"')
    assert "filename*=UTF-8''Kvitto%20%C3%85hl%C3%A9ns.pdf" in header


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("application/pdf", ("application/pdf", True)),
        ("IMAGE/JPEG", ("image/jpeg", True)),
        ("image/png; q=1", ("image/png", True)),
        ("text/html", ("application/octet-stream", False)),
        ("image/svg+xml", ("application/octet-stream", False)),
        ("application/xhtml+xml", ("application/octet-stream", False)),
        ("", ("application/octet-stream", False)),
        (None, ("application/octet-stream", False)),
    ],
)
def test_only_pdfs_and_raster_images_are_inline(declared: str | None, served: tuple[str, bool]) -> None:
    assert served_type(declared) == served


def test_cursor_round_trip_and_rejects() -> None:
    cursor = VoucherCursor(datetime.date(2024, 3, 1), "A12", uuid.uuid4())
    assert decode_cursor(cursor.encode()) == cursor
    for bad in ("", "%%%", "WzFd", "eyJhIjoxfQ", "W1siMjAyNCJdXQ"):
        with pytest.raises(MalformedRequest):
            decode_cursor(bad)


def test_viewer_links_are_signed_and_expire() -> None:
    claim = ViewerClaim("ns", "demo", "uid-1", 2024, expires_at=2_000_000_000)
    link = mint(claim, key=b"k")
    assert verify(link, key=b"k", now=1_999_999_999) == claim
    with pytest.raises(NotAuthenticated):
        verify(link, key=b"other", now=1)
    with pytest.raises(NotAuthenticated):
        verify(link, key=b"k", now=2_000_000_000)
    payload, signature = link.split(".")
    with pytest.raises(NotAuthenticated):
        verify(payload[:-2] + "xx." + signature, key=b"k", now=1)


def test_parameters_are_strict() -> None:
    assert params.year("2024") == 2024 and params.row_no("3") == 3 and params.limit({}) == 50
    for call in (
        lambda: params.year("24"),
        lambda: params.year("1800"),
        lambda: params.row_no("0"),
        lambda: params.an_id("x" * 50, what="voucher"),
        lambda: params.namespace("UPPER"),
        lambda: params.connection_name("-x"),
        lambda: params.limit({"limit": "501"}),
        lambda: params.voucher_filter({"number": "A\n1"}),
    ):
        with pytest.raises(MalformedRequest):
            call()
    parsed = params.voucher_filter({"hasDocuments": "true", "account": "1930", "from": "2024-01-01"})
    assert (
        parsed.has_documents is True
        and parsed.account == 1930
        and parsed.date_from == datetime.date(2024, 1, 1)
    )
