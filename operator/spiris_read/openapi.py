"""The read API's OpenAPI 3.0 document, served at `/api/v1/openapi.json`.

Written out by hand, beside the routes, so the contract is reviewed as a contract; `tests/read` runs
schemathesis against this very document (every operation, malformed input included), which keeps routes and
document in step.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.0.0"
PROBLEM = "application/problem+json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_AMOUNT = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "decimal, two places"}
_DATE = {"type": "string", "format": "date"}
_UUID = {"type": "string", "format": "uuid"}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {"type": _STR, "title": _STR, "status": _INT, "detail": _STR, "instance": _STR},
    },
    "Connection": _object(
        {
            "apiVersion": _STR,
            "kind": _STR,
            "namespace": _STR,
            "name": _STR,
            "uid": _STR,
            "displayName": _nullable(_STR),
            "phase": _nullable(_STR),
            "ready": {"type": "boolean"},
            "company": _object(
                {
                    "name": _nullable(_STR),
                    "corporateIdentityNumber": _nullable(_STR),
                    "identifier": _nullable(_STR),
                }
            ),
            "conditions": {"type": "array", "items": {"type": "object"}},
        }
    ),
    "FiscalYear": _object(
        {
            "year": _INT,
            "id": _nullable(_UUID),
            "startDate": _nullable(_DATE),
            "endDate": _nullable(_DATE),
            "locked": _nullable({"type": "boolean"}),
            "counts": _nullable(
                _object({"vouchers": _INT, "rows": _INT, "documents": _INT, "missingDocuments": _INT})
            ),
            "synced": {"type": "boolean"},
            "sync": _nullable({"type": "object"}),
        }
    ),
    "FiscalYearList": _object({"items": {"type": "array", "items": _ref("FiscalYear")}}),
    "VoucherSummary": _object(
        {
            "id": _UUID,
            "number": _nullable(_STR),
            "series": _nullable(_STR),
            "date": _DATE,
            "text": _nullable(_STR),
            "type": _nullable(_INT),
            "debitTotal": _AMOUNT,
            "creditTotal": _AMOUNT,
            "rowCount": _INT,
            "documentCount": _INT,
            "missingDocumentCount": _INT,
        }
    ),
    "VoucherPage": _object(
        {
            "items": {"type": "array", "items": _ref("VoucherSummary")},
            "total": _INT,
            "nextCursor": _nullable(_STR),
        }
    ),
    "VoucherRow": _object(
        {
            "rowNo": _INT,
            "account": _INT,
            "accountName": _nullable(_STR),
            "debit": _AMOUNT,
            "credit": _AMOUNT,
            "text": _nullable(_STR),
            "vatCode": _nullable(_STR),
        }
    ),
    "Document": _object(
        {
            "id": _UUID,
            "fileName": _nullable(_STR),
            "contentType": _STR,
            "sizeBytes": _INT,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "source": {
                "type": "string",
                "enum": ["attachment", "customer_invoice_pdf", "supplier_invoice_attachment"],
            },
            "storedAt": {"type": "string", "format": "date-time"},
        }
    ),
    "MissingDocument": _object({"source": _STR, "spirisId": _UUID, "reason": _STR}),
    "Voucher": {
        "allOf": [
            _ref("VoucherSummary"),
            _object(
                {
                    "fiscalYear": _INT,
                    "fiscalYearId": _UUID,
                    "vanishedAt": _nullable({"type": "string", "format": "date-time"}),
                    "rows": {"type": "array", "items": _ref("VoucherRow")},
                    "documents": {"type": "array", "items": _ref("Document")},
                    "missingDocuments": {"type": "array", "items": _ref("MissingDocument")},
                }
            ),
        ]
    },
    "RowDocuments": _object(
        {
            "voucher": _object({"id": _UUID, "number": _nullable(_STR), "date": _DATE}),
            "row": _ref("VoucherRow"),
            "items": {"type": "array", "items": _ref("Document")},
        }
    ),
    "DocumentWithVouchers": {
        "allOf": [
            _ref("Document"),
            _object(
                {
                    "vouchers": {
                        "type": "array",
                        "items": _object({"id": _UUID, "number": _nullable(_STR), "date": _DATE}),
                    }
                }
            ),
        ]
    },
    "ContentLink": _object(
        {
            "url": _STR,
            "expiresAt": {"type": "string", "format": "date-time"},
            "fileName": _nullable(_STR),
            "contentType": _STR,
        }
    ),
    "ViewerLink": _object({"url": _STR, "expiresAt": {"type": "string", "format": "date-time"}}),
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref("Problem")}}}


_ERRORS = {
    "400": _problem("malformed id, year, cursor or filter"),
    "401": _problem("no bearer token, or one the Kubernetes API server does not accept"),
    "403": _problem("the caller may not get this SpirisConnection"),
    "404": _problem("unknown namespace, connection, year, voucher, row or document"),
    "503": _problem("Kubernetes, Postgres or S3 unavailable"),
}
_YEAR_ERRORS = {
    **_ERRORS,
    "409": _problem("more than one fiscal year starts in that calendar year (fiscalYearIds names them)"),
}
_NAMESPACE = {
    "name": "namespace",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 63},
}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 253}}
_YEAR = {
    "name": "year",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the fiscal year: the calendar year it starts in (e.g. 2024; 409 when two start in it) "
    "or its Spiris fiscal-year id (a uuid)",
}
_VOUCHER = {"name": "voucherId", "in": "path", "required": True, "schema": {"type": "string"}}
_DOCUMENT = {"name": "documentId", "in": "path", "required": True, "schema": {"type": "string"}}
_ROW = {"name": "rowNo", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema or {"type": "string"},
        "description": description,
    }


def _get(
    summary: str,
    schema: str,
    parameters: list[dict[str, Any]],
    operation_id: str,
    errors: dict[str, Any] = _ERRORS,
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}},
                **errors,
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    base = "/api/v1/namespaces/{namespace}/connections/{name}"
    connection = [_NAMESPACE, _NAME]
    paths: dict[str, Any] = {
        base: _get("The connection's state and company", "Connection", connection, "getConnection"),
        base + "/fiscal-years": _get(
            "Fiscal years with sync state and counts", "FiscalYearList", connection, "listFiscalYears"
        ),
        base + "/fiscal-years/{year}/vouchers": _get(
            "A page of the year's vouchers, in (date, number) order",
            "VoucherPage",
            [
                *connection,
                _YEAR,
                _query("number", "exact voucher number, e.g. A33"),
                _query("from", "first voucher date (YYYY-MM-DD)"),
                _query("to", "last voucher date (YYYY-MM-DD)"),
                _query("account", "only vouchers with a row on this account"),
                _query("hasDocuments", "true/false: with or without stored documents"),
                _query("missingDocuments", "true/false: with or without documents that could not be fetched"),
                _query("cursor", "nextCursor of the previous page"),
                _query("limit", "page size, 1-500 (default 50)"),
            ],
            "listVouchers",
            _YEAR_ERRORS,
        ),
        base + "/vouchers/{voucherId}": _get(
            "A voucher with its rows and documents", "Voucher", [*connection, _VOUCHER], "getVoucher"
        ),
        base + "/vouchers/{voucherId}/rows/{rowNo}/documents": _get(
            "The documents behind one transaction row (its voucher's), with the row",
            "RowDocuments",
            [*connection, _VOUCHER, _ROW],
            "listRowDocuments",
        ),
        base + "/documents/{documentId}": _get(
            "A document's metadata and the vouchers that use it",
            "DocumentWithVouchers",
            [*connection, _DOCUMENT],
            "getDocument",
        ),
        base + "/documents/{documentId}/content": {
            "get": {
                "operationId": "getDocumentContent",
                "summary": "Redirect to a short-lived presigned URL (PDFs and images inline, anything "
                "else as a download); with redirect=false the link as JSON",
                "parameters": [
                    *connection,
                    _DOCUMENT,
                    _query(
                        "redirect",
                        "false: answer the link as JSON instead of redirecting",
                        {"type": "string", "enum": ["true", "false"]},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "the link",
                        "content": {"application/json": {"schema": _ref("ContentLink")}},
                    },
                    "302": {
                        "description": "to the presigned URL",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    **_ERRORS,
                },
            }
        },
        base + "/fiscal-years/{year}/sie": {
            "get": {
                "operationId": "exportSie4",
                "summary": "The year as a SIE 4 file (CP437)",
                "parameters": [*connection, _YEAR],
                "responses": {
                    "200": {
                        "description": "SIE 4",
                        "content": {
                            "text/plain; charset=IBM437": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **_YEAR_ERRORS,
                },
            }
        },
        base + "/fiscal-years/{year}/viewer-links": {
            "post": {
                "operationId": "createViewerLink",
                "summary": "Mint a short-lived signed link to the auditor's viewer for this year",
                "parameters": [*connection, _YEAR],
                "responses": {
                    "201": {
                        "description": "the link",
                        "content": {"application/json": {"schema": _ref("ViewerLink")}},
                    },
                    **_YEAR_ERRORS,
                },
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Spiris read API",
            "version": VERSION,
            "description": "The synced copy of Spiris ledgers and their documents. Authenticate with a "
            "Kubernetes bearer token; a caller who may `get` the SpirisConnection may read it.",
        },
        "servers": [{"url": "/"}],
        "security": [{"kubernetesBearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"kubernetesBearer": {"type": "http", "scheme": "bearer"}},
        },
    }
