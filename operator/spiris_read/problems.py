"""The API's errors as RFC 9457 problem details (`application/problem+json`).

One exception tree: every refusal the shell raises (the store's `NotInCopy` and `AmbiguousFiscalYear`
translated by `resources`) is a `ReadProblem` with its HTTP status, a short fixed `title` and a `detail` a
human can act on. The details never echo tokens or SQL; they
may name the resource asked for, which the caller sent.
"""

from __future__ import annotations

from typing import Any


class ReadProblem(Exception):
    """A request the read side refuses; `status` is the HTTP status, `title` fixed per kind."""

    status = 500
    title = "Internal error"
    type_suffix = "internal"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self, *, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://spiris.senseworks.io/problems/{self.type_suffix}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class MalformedRequest(ReadProblem):
    """An id, cursor, date or filter that cannot be what it claims (400)."""

    status = 400
    title = "Bad request"
    type_suffix = "bad-request"


class NotAuthenticated(ReadProblem):
    """No bearer token, or one the Kubernetes API server does not accept (401)."""

    status = 401
    title = "Unauthorized"
    type_suffix = "unauthorized"


class NotAllowed(ReadProblem):
    """The caller may not `get` the SpirisConnection (403)."""

    status = 403
    title = "Forbidden"
    type_suffix = "forbidden"


class NotFoundProblem(ReadProblem):
    """The namespace, connection, year, voucher, row or document does not exist in the copy (404)."""

    status = 404
    title = "Not found"
    type_suffix = "not-found"


class AmbiguousYearProblem(ReadProblem):
    """More than one fiscal year starts in the calendar year asked for (409); `fiscalYearIds` names them."""

    status = 409
    title = "Conflict"
    type_suffix = "ambiguous-fiscal-year"


class BackendUnavailable(ReadProblem):
    """Kubernetes, Postgres or S3 did not answer (503); the caller may retry."""

    status = 503
    title = "Service unavailable"
    type_suffix = "unavailable"
