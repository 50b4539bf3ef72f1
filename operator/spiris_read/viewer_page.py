"""The auditor's viewer page: one HTML document whose script swipes through a year's vouchers.

Rendered with Jinja2 (autoescaping on; company names and file names are data), with a strict
Content-Security-Policy: scripts and styles only from the API itself, frames and images only from itself and
the object store's public origin (the presigned document URLs), no referrer (the link in the path is a
credential and must not leak to the object store).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from spiris_read.viewer_i18n import TEXTS, language
from spiris_read.viewer_links import ViewerClaim

HERE = Path(__file__).parent
STATIC_DIR = str(HERE / "static")
_templates = Environment(
    loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"])
)


def viewer_response(
    request: Request, *, claim: ViewerClaim, connection: dict[str, Any], content_origin: str
) -> Response:
    lang = language(request.query_params.get("lang"))
    texts = TEXTS[lang]
    company = (connection.get("company") or {}).get("name") or connection.get("displayName") or claim.name
    year = claim.year if isinstance(claim.year, int) else str(claim.year)
    config = {"base": request.url.path, "lang": lang, "texts": texts, "year": year}
    html = _templates.get_template("viewer.html").render(
        lang=lang,
        texts=texts,
        company=company,
        year=year,
        namespace=claim.namespace,
        name=claim.name,
        other_lang="en" if lang == "sv" else "sv",
        config_json=json.dumps(config),
    )
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' {content_origin}; frame-src 'self' {content_origin}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(html, headers=headers)
