"""List responses: `$filter`, `$orderby`, `$select`, then `$page`/`$pagesize` into the Spiris paging envelope.

`{Meta: {CurrentPage, PageSize, TotalNumberOfPages, TotalNumberOfResults, ServerTimeUtc}, Data: [...]}`; pages
are 1-based, the default size is 50, larger sizes are clamped to 1000 silently, and a page past the end has
empty `Data`. Option errors answer 400 with ErrorCode 6000 (6001 for a bad date literal), or — with the
`filter_error_code` quirk — 2000 DataModelValidationError with `Errors[].Field` naming the option. With the
`unstable_ties` quirk, rows whose `$orderby` keys tie are shuffled afresh on every request.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from spiris_sandbox import errors
from spiris_sandbox.clock import format_utc
from spiris_sandbox.company_data import Record
from spiris_sandbox.json_response import ApiJSONResponse
from spiris_sandbox.odata_filter import FilterError, compile_filter
from spiris_sandbox.schemas import Schema
from spiris_sandbox.state import SandboxState

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class QueryError(Exception):
    def __init__(
        self, message: str, *, code: int = errors.QUERY_PARAMETER_ERROR, option: str = "$filter"
    ) -> None:
        super().__init__(message)
        self.code = code
        self.option = option


def query_error_response(state: SandboxState, error: QueryError) -> Response:
    """The 400 for a rejected query option, in the shape the quirk switch asks for."""
    if state.quirks.filter_error_code == errors.DATA_MODEL_VALIDATION_ERROR:
        detail = {"Field": error.option, "ErrorCode": "InvalidQuery", "Message": str(error), "Key": None}
        return errors.api_error(400, errors.DATA_MODEL_VALIDATION_ERROR, str(error), errors=[detail])
    return errors.api_error(400, error.code, str(error))


def _query(request: Request, name: str) -> str | None:
    """Query options are matched case-insensitively (`$PageSize` works like `$pagesize`)."""
    for key, value in request.query_params.multi_items():
        if key.lower() == name:
            return value
    return None


def _positive_int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise QueryError(f"The value '{raw}' is not valid for {name}.", option=name) from exc
    if value < 1:
        raise QueryError(f"{name} must be 1 or greater.", option=name)
    return value


def _canonical(schema: Schema, name: str, option: str) -> str:
    match = next((field for field in schema if field.lower() == name.strip().lower()), None)
    if match is None:
        raise QueryError(f"Could not find a property named '{name.strip()}'.", option=option)
    return match


def _sort_key(field: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        value = record.get(field)
        if value is None:
            return (0, 0)
        if isinstance(value, bool | int | float):
            return (1, value)
        return (2, str(value).lower())

    return key


def _clauses(spec: str, schema: Schema) -> list[tuple[str, bool]]:
    clauses: list[tuple[str, bool]] = []
    for clause in spec.split(","):
        words = clause.split()
        if not words or len(words) > 2:
            raise QueryError(f"Invalid $orderby clause '{clause.strip()}'.", option="$orderby")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise QueryError(f"Invalid $orderby direction '{words[1]}'.", option="$orderby")
        clauses.append((_canonical(schema, words[0], "$orderby"), direction == "desc"))
    return clauses


def _order(records: list[Record], spec: str, schema: Schema, *, shuffle_ties: bool = False) -> list[Record]:
    """Sort by the `$orderby` clauses (stable); with `shuffle_ties`, equal keys come in a random order, as a
    SQL server's sort gives no order among ties (a unique last key, e.g. `Id`, makes the order total)."""
    clauses = _clauses(spec, schema)
    ordered = list(records)
    if shuffle_ties:
        random.shuffle(ordered)
    for field, descending in reversed(clauses):
        ordered.sort(key=_sort_key(field), reverse=descending)
    return ordered


def apply_query(
    records: list[Record], request: Request, schema: Schema
) -> tuple[list[Record], list[str] | None]:
    """Filter and order `records`; returns them with the `$select` field list (None = all fields)."""
    text = _query(request, "$filter")
    if text:
        try:
            predicate = compile_filter(text, schema)
        except FilterError as error:
            raise QueryError(str(error), code=error.code, option="$filter") from error
        records = [record for record in records if predicate(record)]
    order = _query(request, "$orderby")
    if order:
        records = _order(records, order, schema)
    select = _query(request, "$select")
    fields = [_canonical(schema, name, "$select") for name in select.split(",")] if select else None
    return records, fields


def list_response(
    request: Request,
    state: SandboxState,
    records: list[Record],
    schema: Schema,
    *,
    decorate: Callable[[Record], Record] | None = None,
    cache_key: Hashable | None = None,
) -> Response:
    """The paging envelope over `records` after the query options; `decorate` adds per-request fields.

    With a `cache_key` (which must change whenever `records` may have changed), the filtered and ordered
    selection is reused across the pages of one query.
    """
    try:
        page = _positive_int(_query(request, "$page"), "$page", 1)
        size = min(_positive_int(_query(request, "$pagesize"), "$pagesize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        key = None
        cached = None
        if cache_key is not None:
            key = (
                cache_key,
                _query(request, "$filter"),
                _query(request, "$orderby"),
                _query(request, "$select"),
            )
            cached = state.selections.get(key)
        if cached is None:
            cached = apply_query(records, request, schema)
            if key is not None:
                state.selections.put(key, cached)
        selected, fields = cached
        order = _query(request, "$orderby")
        if order and state.quirks.unstable_ties:
            selected = _order(selected, order, schema, shuffle_ties=True)
    except QueryError as error:
        return query_error_response(state, error)
    total = len(selected)
    window = selected[(page - 1) * size : page * size]
    data = [decorate(record) if decorate else record for record in window]
    if fields is not None:
        data = [{field: record.get(field) for field in fields} for record in data]
    meta = {
        "CurrentPage": page,
        "PageSize": size,
        "TotalNumberOfPages": math.ceil(total / size),
        "TotalNumberOfResults": total,
        "ServerTimeUtc": format_utc(state.clock.now()),
    }
    return ApiJSONResponse({"Meta": meta, "Data": data})
