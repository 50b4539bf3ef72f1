"""Walking Spiris list endpoints page by page.

Spiris pages with `$page` (1-based) and `$pagesize` (max 1000, larger values may be clamped silently) and
answers `{Meta, Data}`. The walk trusts `Meta`, not the requested size: it stops when `CurrentPage >=
TotalNumberOfPages` or when a page comes back empty, and yields every page with its `Meta` (incl.
`ServerTimeUtc`) so a caller can checkpoint after each one and resume with `start_page`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from spiris_client.errors import SpirisError
from spiris_client.fields import Fields
from spiris_client.models import Meta, Page
from spiris_client.transport import QueryParams

MAX_PAGE_SIZE = 1000

T = TypeVar("T")


def parse_page(body: Any, parse_item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
    """One `{Meta, Data}` envelope as a `Page`."""
    if not isinstance(body, Mapping):
        raise SpirisError("Spiris list answer is not a {Meta, Data} object")
    f = Fields(body)
    raw_meta = f.get("Meta")
    if not isinstance(raw_meta, Mapping):
        raise SpirisError("Spiris list answer lacks Meta")
    items = tuple(parse_item(item) for item in f.mappings("Data"))
    return Page(meta=Meta.from_api(raw_meta), items=items)


def iterate_pages(
    get_json: Callable[[QueryParams], Any],
    parse_item: Callable[[Mapping[str, Any]], T],
    *,
    params: QueryParams | None = None,
    page_size: int = MAX_PAGE_SIZE,
    start_page: int = 1,
) -> Iterator[Page[T]]:
    """Yield the pages of one list endpoint from `start_page` on, until Meta says it was the last."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    if start_page < 1:
        raise ValueError("start_page is 1-based")
    page_number = start_page
    while True:
        query: dict[str, str | int | bool | None] = dict(params or {})
        query["$page"] = page_number
        query["$pagesize"] = page_size
        page = parse_page(get_json(query), parse_item)
        yield page
        if page.is_last:
            return
        page_number += 1
