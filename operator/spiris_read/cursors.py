"""Opaque paging cursors for voucher lists: the store's keyset position (`VoucherKey`) of a page's last item.

Keyset paging (never OFFSET) so a page costs the same at voucher 19,000 as at voucher 1 and a voucher synced
meanwhile never shifts the pages. The cursor is URL-safe base64 of a small JSON array `[date, number, id]`;
anything that does not decode to exactly that is a `MalformedRequest` (400), never a server error.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import uuid
from dataclasses import dataclass

from spiris_store.read_records import VoucherKey

from spiris_read.problems import MalformedRequest


def encode_cursor(key: VoucherKey) -> str:
    raw = json.dumps([key.voucher_date.isoformat(), key.number, str(key.voucher_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class VoucherCursor(VoucherKey):
    """Where the next page starts: after (voucher_date, number, id) in that order."""

    def encode(self) -> str:
        return encode_cursor(self)


def decode_cursor(text: str) -> VoucherCursor:
    """The cursor a previous page handed out; raises `MalformedRequest` for anything else."""
    try:
        padded = text + "=" * (-len(text) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)):
            raise ValueError("shape")
        return VoucherCursor(datetime.date.fromisoformat(value[0]), value[1], uuid.UUID(value[2]))
    except (ValueError, UnicodeError, binascii.Error):
        raise MalformedRequest("The cursor is not one this API handed out.") from None
