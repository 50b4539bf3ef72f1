"""Server-side `Table` rendering, so `kubectl get` prints a CRD's additionalPrinterColumns as on a cluster.

kubectl asks for `application/json;as=Table;g=meta.k8s.io;v=v1`; the API server answers with column
definitions and one row per object. Columns come from the CRD's `additionalPrinterColumns` (JSONPath
subset: `.a.b`, `[n]`, `[*]`, `[?(@.key=="value")]`); kinds without them get Name and Age, and Namespaces
also Status. Dates are shown as ages (`5m`, `2h`), the way the API server formats them.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

JsonObj = dict[str, Any]

_TOKEN_RE = re.compile(r'\.([^.\[]+)|\[(\d+)\]|\[\*\]|\[\?\(@\.([^=!]+?)\s*(==|!=)\s*"?([^")]*)"?\)\]')
_DEFAULT_COLUMNS: tuple[JsonObj, ...] = (
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)
_KIND_COLUMNS: Mapping[str, tuple[JsonObj, ...]] = {
    "Namespace": ({"name": "Status", "type": "string", "jsonPath": ".status.phase"}, *_DEFAULT_COLUMNS),
}


def wants_table(accept: str) -> bool:
    """Whether the client (kubectl) asked for a meta.k8s.io Table."""
    return "as=Table" in accept


def evaluate(path: str, obj: Any) -> list[Any]:
    """All values that a (small) Kubernetes JSONPath selects from `obj`."""
    current = [obj]
    position = 0
    text = path.strip().removeprefix("{").removesuffix("}").strip()
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            return []
        field, index, filter_key, op, filter_value = match.groups()
        following: list[Any] = []
        for value in current:
            if field is not None:
                if isinstance(value, Mapping) and field in value:
                    following.append(value[field])
            elif index is not None:
                if isinstance(value, list) and int(index) < len(value):
                    following.append(value[int(index)])
            elif filter_key is not None:
                if isinstance(value, list):
                    following.extend(item for item in value
                                     if isinstance(item, Mapping)
                                     and (str(_dig(item, filter_key)) == filter_value) == (op == "=="))
            elif isinstance(value, list):
                following.extend(value)
        current = following
        position = match.end()
    return current


def _dig(obj: Mapping[str, Any], dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _age(timestamp: str, now: datetime.datetime) -> str:
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        if then.tzinfo is None:
            then = then.replace(tzinfo=datetime.UTC)
    except (ValueError, AttributeError):
        return "<invalid>"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 120 * 60:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _cell(column: Mapping[str, Any], obj: Any, now: datetime.datetime) -> Any:
    values = evaluate(str(column.get("jsonPath", "")), obj)
    if not values or values[0] is None:
        return None
    value = values[0]
    if column.get("type") == "date":
        return _age(str(value), now)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def render_table(*, kind: str, printer_columns: Iterable[Mapping[str, Any]], objects: Iterable[JsonObj],
                 resource_version: str, include_object: str | None) -> JsonObj:
    """A meta.k8s.io/v1 Table of `objects` (already in their output form)."""
    columns = list(printer_columns) or list(_KIND_COLUMNS.get(kind, _DEFAULT_COLUMNS))
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [{"name": c["name"],
                     "type": "string" if c.get("type") == "date" else c.get("type", "string"),
                     "format": c.get("format", ""), "description": c.get("description", ""),
                     "priority": int(c.get("priority", 0))} for c in columns]
    now = datetime.datetime.now(tz=datetime.UTC)
    rows = []
    for obj in objects:
        row: JsonObj = {"cells": [obj["metadata"]["name"], *(_cell(c, obj, now) for c in columns)]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version}, "columnDefinitions": definitions, "rows": rows}
