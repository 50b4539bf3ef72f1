"""Rate limit, fault switches, download links and data changes (spiris-api.md §2.7, §3.6, §4, §6 faults)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from spiris_sandbox.server import SandboxServer
from testkit.sandbox import CLIENT_ID
from testkit.sandbox_oauth import ControlFor, api, token_for

Factory = Callable[..., SandboxServer]


def test_rate_limit_per_client_and_template(sandbox_factory: Factory, control_for: ControlFor) -> None:
    server = sandbox_factory(rate_limit_per_minute=5)
    with api(server, token_for(server)) as client:
        for _ in range(5):
            assert client.get("/v2/fiscalyears").status_code == 200
        limited = client.get("/v2/fiscalyears")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/json;charset=UTF-8"
        assert "retry-after" not in limited.headers
        body = limited.json()
        assert body["ErrorCode"] == 4010 and body["ErrorId"]
        assert body["DeveloperErrorMessage"].startswith(
            "API calls quota exceeded! maximum admitted 5 per Minute. "
        )
        seconds = int(body["DeveloperErrorMessage"].split("Try again in ")[1].split(" seconds.")[0])
        assert 1 <= seconds <= 60
        # Another endpoint (path template) has its own bucket; query strings do not make a new bucket.
        assert client.get("/v2/accounts").status_code == 200
        assert client.get("/v2/fiscalyears", params={"$page": 2}).status_code == 429
        control_for(server).faults(retry_after_header=True)
        assert client.get("/v2/fiscalyears").headers["retry-after"].isdigit()
        control_for(server).advance(61)
        assert client.get("/v2/fiscalyears").status_code == 200
        stats = control_for(server).stats()
        bucket = next(r for r in stats["requests"] if r["template"] == "/v2/fiscalyears")
        assert bucket["client_id"] == CLIENT_ID and bucket["count"] == 9 and bucket["throttled"] == 3


def test_runtime_rate_limit_message_uses_configured_number(
    sandbox_factory: Factory, control_for: ControlFor
) -> None:
    server = sandbox_factory()
    control_for(server).rate_limit(per_minute=2)
    with api(server, token_for(server)) as client:
        client.get("/v2/vouchers")
        client.get("/v2/vouchers")
        message = client.get("/v2/vouchers").json()["DeveloperErrorMessage"]
        assert "maximum admitted 2 per Minute" in message


def test_forced_429_server_errors_and_slow(sandbox_factory: Factory, control_for: ControlFor) -> None:
    server = sandbox_factory(fault_force_429=1)
    with api(server, token_for(server)) as client:
        assert client.get("/v2/fiscalyears").status_code == 429
        assert client.get("/v2/fiscalyears").status_code == 200
        control_for(server).faults(server_errors=2, server_error_code=5001, server_error_status=503)
        first, second = client.get("/v2/fiscalyears"), client.get("/v2/fiscalyears")
        assert (first.status_code, second.status_code) == (503, 503)
        assert first.json()["ErrorCode"] == 5001 and first.json()["ErrorId"]
        assert client.get("/v2/fiscalyears").status_code == 200
        control_for(server).faults(slow_ms=300)
        started = time.perf_counter()
        assert client.get("/v2/fiscalyears").status_code == 200
        assert time.perf_counter() - started >= 0.3
        control_for(server).clear_faults()
        assert control_for(server).fault_switches()["slow_ms"] == 0


def test_download_links_expire_and_renew(sandbox_factory: Factory, control_for: ControlFor) -> None:
    server = sandbox_factory(download_ttl_seconds=120)
    with api(server, token_for(server)) as client:
        attachment = client.get("/v2/attachments", params={"$pagesize": 1}).json()["Data"][0]
        assert httpx.get(attachment["TemporaryUrl"]).status_code == 200
        control_for(server).advance(121)
        assert httpx.get(attachment["TemporaryUrl"]).status_code == 403
        fresh = client.get(f"/v2/attachments/{attachment['Id']}").json()["TemporaryUrl"]
        assert httpx.get(fresh).status_code == 200
        control_for(server).faults(expire_links=True)
        assert httpx.get(fresh).status_code == 403
        assert (
            httpx.get(f"{server.url}/temp/fileanonymous/00000000-0000-4000-8000-000000000000").status_code
            == 404
        )
        stats = control_for(server).stats()
        assert stats["downloads"] == 2 and stats["expired_downloads"] == 2


def test_truncated_download_is_detectable(sandbox_factory: Factory, control_for: ControlFor) -> None:
    server = sandbox_factory()
    with api(server, token_for(server)) as client:
        invoice = client.get("/v2/customerinvoices", params={"$pagesize": 1}).json()["Data"][0]
        url = client.get(f"/v2/customerinvoices/{invoice['Id']}/pdf").json()["Url"]
        control_for(server).faults(truncate_downloads=1)
        with pytest.raises(httpx.HTTPError):
            httpx.get(url)
        assert httpx.get(url).content.startswith(b"%PDF")


@pytest.mark.timeout(120)
def test_large_document_streams_in_chunks(sandbox_factory: Factory) -> None:
    size = 200 * 1024 * 1024
    server = sandbox_factory(large_document_bytes=size)
    with api(server, token_for(server)) as client:
        big = next(
            a
            for a in client.get("/v2/attachments", params={"$pagesize": 1000}).json()["Data"]
            if a["FileName"].startswith("Årsbokslut")
        )
        received = 0
        chunks = 0
        baseline = _resident_bytes()
        peak = baseline
        with httpx.stream("GET", big["TemporaryUrl"]) as response:
            assert int(response.headers["content-length"]) == size
            for chunk in response.iter_bytes():
                received += len(chunk)
                chunks += 1
                if chunks % 200 == 0:
                    peak = max(peak, _resident_bytes())
        assert received == size and chunks > 100
        # Server and client share this process: neither side may hold the 200 MB document.
        assert peak - baseline < 64 * 1024 * 1024


def _resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_change_add_and_delete_for_incremental_sync(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    control = httpx.Client(base_url=f"{server.url}/_sandbox")
    year = control.get("/companies/1").json()["fiscal_years"][-1]
    with api(server, token_for(server)) as client:
        watermark = client.get(f"/v2/vouchers/{year['id']}").json()["Meta"]["ServerTimeUtc"]
        query = {"$filter": f"ModifiedUtc gt {watermark}", "$orderby": "ModifiedUtc"}
        # The same query before and after the changes: a cached selection must not hide them.
        assert client.get(f"/v2/vouchers/{year['id']}", params=query).json()["Data"] == []
        control.post("/clock", json={"advance_seconds": 10})
        changed = control.post("/companies/1/vouchers/change", json={"count": 3}).json()["changed"]
        added = control.post("/companies/1/vouchers/add", json={"count": 4, "with_attachments": True}).json()[
            "added"
        ]
        since = client.get(
            f"/v2/vouchers/{year['id']}",
            params={"$filter": f"ModifiedUtc gt {watermark}", "$orderby": "ModifiedUtc"},
        ).json()
        assert {v["Id"] for v in since["Data"]} == set(changed) | set(added)
        for voucher in since["Data"]:
            debit = sum(round(r["DebitAmount"] * 100) for r in voucher["Rows"])
            assert debit == sum(round(r["CreditAmount"] * 100) for r in voucher["Rows"])
        assert all(v["VoucherText"].endswith("(ändrad)") for v in since["Data"] if v["Id"] in changed)
        assert control.get("/companies/1").json()["fiscal_years"][-1]["vouchers"] == year["vouchers"] + 4
        truth = control.get(f"/truth/1/{year['id']}").json()
        assert truth["vouchers"] == year["vouchers"] + 4 and truth["total_debit"] == truth["total_credit"]
        new_voucher = next(v for v in since["Data"] if v["Id"] in added and v["Attachments"]["AttachmentIds"])
        attachment_id = new_voucher["Attachments"]["AttachmentIds"][0]
        assert client.get(f"/v2/attachments/{attachment_id}").status_code == 200
        assert control.delete(f"/companies/1/attachments/{attachment_id}").status_code == 200
        gone = client.get(f"/v2/attachments/{attachment_id}")
        assert gone.status_code == 400 and gone.json()["ErrorCode"] == 3000  # no 404 in the spec
        kept = client.get(f"/v2/vouchers/{year['id']}/{new_voucher['Id']}").json()
        assert attachment_id in kept["Attachments"]["AttachmentIds"]


def test_storage_host_and_leaked_bearer_tokens_are_visible(
    sandbox_factory: Factory, control_for: ControlFor
) -> None:
    server = sandbox_factory(storage_host="localhost")
    token = token_for(server)
    with api(server, token) as client:
        url = client.get("/v2/attachments", params={"$pagesize": 1}).json()["Data"][0]["TemporaryUrl"]
        assert url.startswith(f"http://localhost:{server.port}/temp/fileanonymous/")
        assert httpx.get(url).status_code == 200
        assert client.get(url).status_code == 200  # this client wrongly sends its bearer token along
    stats = control_for(server).stats()
    assert stats["downloads"] == 2 and stats["downloads_with_authorization"] == 1
