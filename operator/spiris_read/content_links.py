"""Short-lived presigned URLs that show a stored document in the browser, safely.

PDFs and raster images are served `inline` with their own media type, so the viewer and a new tab render
them; everything else — and above all anything claiming `text/html`, SVG or script types, whose bytes would
run in the bucket's origin — is served as `application/octet-stream` with `attachment`, whatever Spiris said.
The file name is data: path parts, control characters (CR/LF) and quotes are dropped from the ASCII
fallback, the full name travels as an RFC 6266 `filename*` (UTF-8, percent-encoded), both bounded in length.
URLs are signed for the endpoint the caller's browser can reach (`S3_PUBLIC_ENDPOINT`), which may differ
from the one the API itself uses; signing needs no request to S3.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from datetime import timedelta

from spiris_store.documents import DocumentStore

INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
FALLBACK_LIMIT = 120
UTF8_NAME_LIMIT = 180
ENCODED_NAME_LIMIT = 450


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def served_type(content_type: str | None) -> tuple[str, bool]:
    """(the Content-Type to serve, whether inline)."""
    media = media_type(content_type)
    if media in INLINE_TYPES:
        return media, True
    return "application/octet-stream", False


def safe_file_name(name: str | None) -> str:
    """The last path part of `name` with control characters removed and blanks collapsed, at most
    `UTF8_NAME_LIMIT` characters; `document` when nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = re.sub(r"\s+", " ", text).strip().lstrip(".")
    return text[:UTF8_NAME_LIMIT] or "document"


def content_disposition(name: str | None, *, inline: bool) -> str:
    """`inline`/`attachment` with an ASCII `filename` fallback and the exact `filename*`."""
    full = safe_file_name(name)
    ascii_name = unicodedata.normalize("NFKD", full).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name).strip()[:FALLBACK_LIMIT] or "document"
    kind = "inline" if inline else "attachment"
    encoded = urllib.parse.quote(full, safe="")
    # Bounded in bytes, not characters: a Swedish letter is six characters once percent-encoded.
    while len(encoded) > ENCODED_NAME_LIMIT:
        full = full[:-1]
        encoded = urllib.parse.quote(full, safe="")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


class ContentLinks:
    """Signs GET URLs for the bucket with `signer` (a store configured with the public endpoint)."""

    def __init__(self, signer: DocumentStore, *, ttl: timedelta = timedelta(minutes=5)) -> None:
        self._signer = signer
        self.ttl = ttl

    def origin(self) -> str:
        """`scheme://host[:port]` of the signed URLs (the viewer's Content-Security-Policy allows it)."""
        settings = self._signer.settings
        endpoint = settings.endpoint
        if "://" not in endpoint:
            endpoint = ("https://" if settings.secure else "http://") + endpoint
        scheme, _, rest = endpoint.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    def url_for(self, object_key: str, *, file_name: str | None, content_type: str | None) -> str:
        served, inline = served_type(content_type)
        return self._signer.client.presigned_get_object(  # type: ignore[no-any-return]
            self._signer.bucket,
            object_key,
            expires=self.ttl,
            response_headers={
                "response-content-type": served,
                "response-content-disposition": content_disposition(file_name, inline=inline),
            },
        )
