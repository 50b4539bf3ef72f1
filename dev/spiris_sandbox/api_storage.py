"""The anonymous storage host: `GET /temp/fileanonymous/{id}` streams a document without any bearer token.

Unknown links answer 404, expired ones 403 (like the real storage); bytes are rendered chunk by chunk so even
a 200 MB document never sits in memory. The `truncate_downloads` fault cuts a download off halfway through.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from spiris_sandbox.documents import DocumentSpec, document_chunks, document_size
from spiris_sandbox.state import SandboxState


class DownloadCutOff(Exception):
    """Raised inside a streaming body to drop the connection mid-download (fault injection)."""


def _stream(state: SandboxState, spec: DocumentSpec, *, size: int, truncate: bool) -> Iterator[bytes]:
    sent = 0
    for chunk in document_chunks(spec):
        if truncate and sent + len(chunk) > size // 2:
            yield chunk[: max(0, size // 2 - sent)]
            raise DownloadCutOff("download cut off by fault injection")
        sent += len(chunk)
        yield chunk
    state.stats.download(sent)


async def download(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    if "authorization" in request.headers:
        # Spiris' storage needs no token; counting lets tests prove clients never leak the bearer here.
        state.stats.download_with_authorization()
    link = state.links.get(str(request.path_params["link_id"]))
    if link is None:
        return PlainTextResponse("The specified resource does not exist.", status_code=404)
    if link.expires_at <= state.clock.time():
        state.stats.expired_download()
        return PlainTextResponse(
            "Server failed to authenticate the request. The link has expired.", status_code=403
        )
    books = state.world.company(link.company)
    spec = books.documents.get(link.document_key)
    if spec is None:
        return PlainTextResponse("The specified resource does not exist.", status_code=404)
    size = document_size(spec)
    truncate = size > 1 and state.faults.take_truncated_download()
    disposition = f"attachment; filename*=UTF-8''{quote(link.file_name, safe='')}"
    return StreamingResponse(
        _stream(state, spec, size=size, truncate=truncate),
        media_type=link.content_type,
        headers={"Content-Length": str(size), "Content-Disposition": disposition},
    )


def storage_routes() -> list[Route]:
    return [Route("/temp/fileanonymous/{link_id}", download, methods=["GET"])]
