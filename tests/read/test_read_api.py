"""The read API on the real control plane: every resource, paging and filters against the sandbox's truth,
documents whose bytes equal the stored ones behind presigned inline URLs, and Kubernetes' own
authentication and authorization (TokenReview, SubjectAccessReview) with problem+json refusals."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from testkit.read_stack import ReadStack

pytestmark = pytest.mark.timeout(600)
PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def _all_vouchers(stack: ReadStack, year: int, **query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**query, "limit": "37", **({"cursor": cursor} if cursor else {})}
        page = stack.get(f"{stack.base()}/fiscal-years/{year}/vouchers", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["nextCursor"]
        if cursor is None:
            assert len(items) == body["total"]
            return items


def test_connection_and_fiscal_years(read_stack: ReadStack) -> None:
    connection = read_stack.get(read_stack.base())
    assert connection.status_code == 200
    body = connection.json()
    assert body["uid"] == read_stack.connection_uid and body["ready"] is True
    assert body["company"]["name"] == "Demo AB" and body["phase"] == "Connected"
    years = read_stack.get(f"{read_stack.base()}/fiscal-years").json()["items"]
    assert [y["year"] for y in years] == [2024, 2025]
    for year in years:
        truth = read_stack.truth(year["year"])
        assert year["counts"]["vouchers"] == truth["vouchers"] and year["counts"]["rows"] == truth["rows"]
        assert year["startDate"] == f"{year['year']}-01-01" and year["synced"] is True


def test_paging_visits_every_voucher_once_in_order(read_stack: ReadStack) -> None:
    items = _all_vouchers(read_stack, 2024)
    truth = read_stack.truth(2024)
    assert len(items) == truth["vouchers"] == len({v["id"] for v in items})
    keys = [(v["date"], v["number"] or "", v["id"]) for v in items]
    assert keys == sorted(keys)
    assert sum(Decimal(v["debitTotal"]) for v in items) == Decimal(truth["total_debit"])
    assert all(v["debitTotal"] == v["creditTotal"] for v in items)


def test_filters(read_stack: ReadStack) -> None:
    every = _all_vouchers(read_stack, 2024)
    with_documents = _all_vouchers(read_stack, 2024, hasDocuments="true")
    without = _all_vouchers(read_stack, 2024, hasDocuments="false")
    assert with_documents and all(v["documentCount"] > 0 for v in with_documents)
    assert len(with_documents) + len(without) == len(every)
    missing = _all_vouchers(read_stack, 2024, missingDocuments="true")
    assert all(v["missingDocumentCount"] > 0 for v in missing)
    on_1930 = _all_vouchers(read_stack, 2024, account="1930")
    assert 0 < len(on_1930) < len(every)
    assert read_stack.truth(2024)["accounts"]["1930"]["rows"] >= len(on_1930)
    for voucher in on_1930[:5]:
        detail = read_stack.get(f"{read_stack.base()}/vouchers/{voucher['id']}").json()
        assert any(row["account"] == 1930 for row in detail["rows"])
    first = every[0]
    exact = _all_vouchers(read_stack, 2024, number=first["number"])
    assert [v["id"] for v in exact] == [first["id"]]
    window = _all_vouchers(read_stack, 2024, **{"from": "2024-03-01", "to": "2024-03-31"})
    assert window and all("2024-03-01" <= v["date"] <= "2024-03-31" for v in window)


def test_voucher_rows_and_documents_behind_a_row(read_stack: ReadStack) -> None:
    voucher = _all_vouchers(read_stack, 2024, hasDocuments="true")[0]
    detail = read_stack.get(f"{read_stack.base()}/vouchers/{voucher['id']}").json()
    assert detail["fiscalYear"] == 2024 and detail["rows"] and detail["documents"]
    assert sum(Decimal(r["debit"]) for r in detail["rows"]) == Decimal(detail["debitTotal"])
    row = detail["rows"][-1]
    behind = read_stack.get(f"{read_stack.base()}/vouchers/{voucher['id']}/rows/{row['rowNo']}/documents")
    assert behind.status_code == 200
    body = behind.json()
    assert body["row"] == row and [d["id"] for d in body["items"]] == [d["id"] for d in detail["documents"]]
    _problem(read_stack.get(f"{read_stack.base()}/vouchers/{voucher['id']}/rows/999/documents"), 404)
    _problem(read_stack.get(f"{read_stack.base()}/vouchers/{voucher['id']}/rows/0/documents"), 400)
    document = read_stack.get(f"{read_stack.base()}/documents/{detail['documents'][0]['id']}").json()
    assert voucher["id"] in [v["id"] for v in document["vouchers"]]


def _documents(stack: ReadStack) -> list[dict[str, Any]]:
    with psycopg.connect(stack.owner_dsn) as conn:
        rows = conn.execute(
            "SELECT id, original_file_name, content_type, sha256, size_bytes FROM spiris.documents"
            " WHERE company_key = %s ORDER BY original_file_name",
            (stack.connection_uid,),
        ).fetchall()
    return [{"id": str(r[0]), "name": r[1], "type": r[2], "sha256": r[3], "size": r[4]} for r in rows]


def test_document_bytes_behind_presigned_inline_urls(read_stack: ReadStack) -> None:
    documents = _documents(read_stack)
    assert any(d["type"] == "application/pdf" for d in documents)
    hostile = [
        d
        for d in documents
        if d["name"] and ("/" in d["name"] or len(d["name"]) > 200 or any(c in d["name"] for c in "åäö"))
    ]
    assert len(hostile) >= 3, [d["name"] for d in documents][:20]
    for document in documents:
        redirect = read_stack.get(f"{read_stack.base()}/documents/{document['id']}/content")
        assert redirect.status_code == 302, redirect.text
        served = httpx.get(redirect.headers["location"], timeout=60)
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == document["sha256"]
        disposition = served.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition and len(disposition) < 800
        fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
        assert "/" not in fallback and "\\" not in fallback and ".." not in fallback.split("_")[0][:2]
        media = document["type"].split(";")[0]
        if media in ("application/pdf", "image/png", "image/jpeg"):
            assert disposition.startswith("inline;") and served.headers["content-type"] == media
        else:
            assert disposition.startswith("attachment;")
            assert served.headers["content-type"] == "application/octet-stream"
    as_json = read_stack.get(
        f"{read_stack.base()}/documents/{documents[0]['id']}/content", params={"redirect": "false"}
    ).json()
    assert as_json["url"].startswith("http") and as_json["expiresAt"].endswith("Z")


def test_html_is_never_served_inline_and_missing_bytes_are_a_404(read_stack: ReadStack) -> None:
    fake, ghost = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(read_stack.owner_dsn) as conn:
        for document_id, key in ((fake, None), (ghost, "companies/x/sha256/00/" + "0" * 64)):
            source = conn.execute(
                "SELECT object_key FROM spiris.documents WHERE company_key = %s LIMIT 1",
                (read_stack.connection_uid,),
            ).fetchone()
            assert source is not None
            conn.execute(
                "INSERT INTO spiris.documents (company_key, id, source, spiris_id, sha256, object_key,"
                " content_type, size_bytes, original_file_name) VALUES (%s, %s, 'attachment', %s, %s, %s,"
                " 'text/html; charset=utf-8', 1, %s)",
                (
                    read_stack.connection_uid,
                    document_id,
                    uuid.uuid4(),
                    "a" * 64,
                    key or source[0],
                    "..\\..\\evil\r\nSet-Cookie: x=1.html",
                ),
            )
    redirect = read_stack.get(f"{read_stack.base()}/documents/{fake}/content")
    served = httpx.get(redirect.headers["location"], timeout=60)
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith('attachment; filename="')
    assert "Set-Cookie" not in served.headers and "\n" not in served.headers["content-disposition"]
    body = _problem(read_stack.get(f"{read_stack.base()}/documents/{ghost}/content"), 404)
    assert body["reason"] == "object-missing"


def test_tokens_and_rights_decide_every_read(read_stack: ReadStack) -> None:
    base = read_stack.base()
    unauthenticated = read_stack.get(base, token=None)
    _problem(unauthenticated, 401)
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    _problem(httpx.get(read_stack.api_url + base, headers={"Authorization": "Bearer not-a-token"}), 401)
    _problem(httpx.get(read_stack.api_url + base, headers={"Authorization": "Basic eDp5"}), 401)
    _problem(read_stack.get(base, token="nobody"), 403)
    # A token for namespace A gets 403 on namespace B, and B's on A.
    _problem(read_stack.get(read_stack.base("other-company", read_stack.other)), 403)
    _problem(read_stack.get(f"{base}/fiscal-years/2024/vouchers", token="stranger"), 403)
    assert (
        read_stack.get(read_stack.base("other-company", read_stack.other), token="stranger").status_code
        == 200
    )
    # The stranger's own connection has no synced data: the auditor's voucher is not reachable through it.
    voucher = _all_vouchers(read_stack, 2024)[0]
    other = read_stack.base("other-company", read_stack.other)
    _problem(read_stack.get(f"{other}/vouchers/{voucher['id']}", token="stranger"), 404)


def test_bad_input_is_a_400_and_unknown_things_a_404(read_stack: ReadStack) -> None:
    base = read_stack.base()
    _problem(read_stack.get(read_stack.base("no-such-company")), 404)
    _problem(read_stack.get(f"{base}/fiscal-years/2019/vouchers"), 404)
    _problem(read_stack.get(f"{base}/vouchers/{uuid.uuid4()}"), 404)
    _problem(read_stack.get(f"{base}/documents/{uuid.uuid4()}"), 404)
    _problem(read_stack.get(f"{base}/vouchers/not-a-uuid"), 400)
    _problem(read_stack.get(f"{base}/fiscal-years/twenty/vouchers"), 400)
    for params in (
        {"cursor": "garbage"},
        {"cursor": "WzFd"},
        {"limit": "0"},
        {"limit": "9999"},
        {"hasDocuments": "yes"},
        {"from": "2024-13-01"},
        {"account": "19x0"},
    ):
        _problem(read_stack.get(f"{base}/fiscal-years/2024/vouchers", params=params), 400)
    _problem(read_stack.get("/api/v1/namespaces/Bad_NS/connections/x"), 400)
    _problem(read_stack.get("/api/v1/nothing-here"), 404)


def test_the_database_role_is_read_only(read_stack: ReadStack) -> None:
    with psycopg.connect(read_stack.reader_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM spiris.vouchers").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE spiris.vouchers SET text = 'changed'")


def test_openapi_document_is_served(read_stack: ReadStack) -> None:
    document = read_stack.get("/api/v1/openapi.json", token=None).json()
    assert document["openapi"].startswith("3.") and len(document["paths"]) == 9


def test_viewer_links(read_stack: ReadStack) -> None:
    created = read_stack.post(f"{read_stack.base()}/fiscal-years/2024/viewer-links")
    assert created.status_code == 201, created.text
    url = created.json()["url"]
    assert url.startswith(read_stack.api_url + "/viewer/")
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and "Demo AB" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    vouchers = httpx.get(url + "/vouchers", params={"limit": "5"}, timeout=30).json()
    assert vouchers["total"] == read_stack.truth(2024)["vouchers"]
    other_year = _all_vouchers(read_stack, 2025)[0]
    assert httpx.get(f"{url}/vouchers/{other_year['id']}", timeout=30).status_code == 404
    _problem(httpx.get(url[:-3] + "abc", timeout=30), 401)
    early = read_stack.post(f"{read_stack.base()}/fiscal-years/2019/viewer-links").json()["url"]
    _problem(httpx.get(early + "/vouchers", timeout=30), 404)  # a year not (yet) synced
    _problem(read_stack.post(f"{read_stack.base()}/fiscal-years/2024/viewer-links", token="nobody"), 403)
