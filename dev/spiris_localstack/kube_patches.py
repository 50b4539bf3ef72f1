"""Patch documents the Kubernetes API accepts: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

Strategic merge patch and server-side apply are treated as merge patches (the emulator has no OpenAPI schema
to drive their list-merge keys). A failed JSON-patch `test` is reported as its own error so the API can answer
422 Unprocessable Entity, like a real API server.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer


class PatchError(ValueError):
    """The patch cannot be applied (bad document or a path that does not exist)."""


class PatchTestFailedError(PatchError):
    """A JSON-patch `test` operation did not hold."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply RFC 6902 `operations` to a copy of `target`."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    try:
        result = jsonpatch.JsonPatch(operations).apply(copy.deepcopy(target))
    except jsonpatch.JsonPatchTestFailed as exc:
        raise PatchTestFailedError(str(exc)) from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, TypeError) as exc:
        raise PatchError(str(exc)) from exc
    if not isinstance(result, dict):
        raise PatchError("a JSON patch must leave an object")
    return result
