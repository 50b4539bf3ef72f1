"""Production quirks: how Spiris is believed to behave where the spec is silent or kinder than reality.

Each switch is on by default where production is believed to do it (spiris-api.md §0a) and can be flipped per
run (`SandboxConfig.quirks=False` turns them all off) or at runtime (`POST /_sandbox/quirks`):
- `not_found_as_400`: where the spec declares no 404 (`/attachments/{id}`, `/customerinvoices/{id}` and its
  `/pdf` and `/print`, `/documents/{id}`, `/vouchers/{fiscalyearId}`, `/accounts/{fiscalyearId}`), a missing
  resource is a 400 with ErrorCode 3000/3001 — the client must recognise not-found by ErrorCode;
- `unstable_ties`: rows whose `$orderby` keys are equal come back in a fresh random order on every request (an
  OData server over SQL promises nothing more), so page-number paging over a non-unique key repeats and skips;
- `render_latency_ms`: `/customerinvoices/{id}/pdf` and `/print` render the PDF on request;
- `temporary_url_latency_ms`: per item, when `/attachments` lists with `includeTemporaryUrl=true`;
- `filter_error_code`: a rejected `$filter`/`$orderby`/`$select` answers 400 with this ErrorCode (2000
  DataModelValidationError with `Errors[].Field` naming the option; 6000 QueryParameterError when off).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any

DATA_MODEL_VALIDATION_ERROR = 2000
QUERY_PARAMETER_ERROR = 6000


@dataclass
class Quirks:
    """The current quirk switches."""

    not_found_as_400: bool = True
    unstable_ties: bool = True
    render_latency_ms: int = 150
    temporary_url_latency_ms: float = 0.5
    filter_error_code: int = DATA_MODEL_VALIDATION_ERROR
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def off(cls) -> Quirks:
        """Every quirk off: the kind sandbox of earlier versions."""
        return cls(
            not_found_as_400=False,
            unstable_ties=False,
            render_latency_ms=0,
            temporary_url_latency_ms=0.0,
            filter_error_code=QUERY_PARAMETER_ERROR,
        )

    def snapshot(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self) if not item.name.startswith("_")}

    def update(self, changes: dict[str, Any]) -> None:
        """Apply `changes` (unknown names are an error, so a typo in a test cannot pass silently)."""
        known = set(self.snapshot())
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown quirks: {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in changes.items():
                kind = type(getattr(self, name))
                setattr(self, name, kind(value))
            if self.filter_error_code not in (DATA_MODEL_VALIDATION_ERROR, QUERY_PARAMETER_ERROR):
                raise ValueError("filter_error_code must be 2000 or 6000")
