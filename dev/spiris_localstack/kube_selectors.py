"""Kubernetes label and field selectors, parsed and matched the way the API server does.

Label selectors support `=`, `==`, `!=`, `in (...)`, `notin (...)`, `key` and `!key`, comma-separated
(commas inside parentheses belong to the value set). Field selectors support `=`, `==` and `!=` on dotted
paths such as `metadata.name`, `metadata.namespace` or `status.phase`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, Any]], bool]


class SelectorError(ValueError):
    """The selector text is malformed (the API answers 400 Bad Request)."""


_SET_RE = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=()]+)\s*$")


def _split_requirements(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def parse_label_selector(text: str | None) -> Matcher:
    """Return a predicate over an object's `metadata.labels` mapping."""
    if not text:
        return lambda labels: True
    checks: list[Matcher] = []
    for requirement in _split_requirements(text):
        checks.append(_label_requirement(requirement))
    return lambda labels: all(check(labels) for check in checks)


def _label_requirement(requirement: str) -> Matcher:
    if match := _SET_RE.match(requirement):
        key, op, raw_values = match.groups()
        values = {value.strip() for value in raw_values.split(",") if value.strip()}
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: key not in labels or labels[key] not in values
    if match := _CMP_RE.match(requirement):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    if match := _EXISTS_RE.match(requirement):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {requirement!r}")


def parse_field_selector(text: str | None) -> Matcher:
    """Return a predicate over a whole object for `path=value` / `path!=value` requirements."""
    if not text:
        return lambda obj: True
    checks: list[Matcher] = []
    for requirement in _split_requirements(text):
        match = _CMP_RE.match(requirement)
        if match is None:
            raise SelectorError(f"invalid field selector: {requirement!r}")
        path, op, value = match.groups()
        checks.append(_field_requirement(path.split("."), negated=op == "!=", value=value))
    return lambda obj: all(check(obj) for check in checks)


def _field_requirement(path: list[str], *, negated: bool, value: str) -> Matcher:
    def check(obj: Mapping[str, Any]) -> bool:
        current: Any = obj
        for part in path:
            current = current.get(part) if isinstance(current, Mapping) else None
        actual = "" if current is None else str(current)
        return (actual != value) if negated else (actual == value)

    return check
