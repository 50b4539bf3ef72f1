"""The worker as a process: exit codes, one clear stderr sentence, a JSON summary, no traceback, no token."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from testkit.ledger_checks import latest_run
from testkit.sync_stack import run_unconfigured, summary_of, write_token


def _no_secrets(text: str, stack) -> None:
    token = json.loads(stack.token_file.read_text())
    assert token["access_token"] not in text
    assert token["refresh_token"] not in text
    assert stack.s3.secret_key not in text
    assert "Traceback" not in text


@pytest.mark.timeout(120)
def test_success_prints_summary_and_exits_zero(make_stack) -> None:
    stack = make_stack(vouchers_per_year=60)
    done = stack.run_cli(*stack.cli_run_args(2025), "--progress")
    assert done.returncode == 0, done.stderr
    assert "vouchers" in done.stderr and "documents" in done.stderr  # the tqdm bars, forced on
    summary = summary_of(done)
    assert summary["outcome"] == "succeeded"
    assert summary["counts"]["vouchers"] == stack.truth(2025)["vouchers"]
    assert summary["apiCalls"]["total"] == sum(summary["apiCalls"]["byEndpoint"].values())
    assert summary["reconciliation"]["balanced"] is True
    _no_secrets(done.stdout + done.stderr, stack)
    run = latest_run(stack.database_url)
    assert run["outcome"] == "succeeded" and run["host"] and run["trigger"] == "manual"
    assert "ea:accounting_readonly" in run["scopes"]
    assert run["api_calls"] == summary["apiCalls"]["total"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("missing", ["DATABASE_URL", "S3_BUCKET", "SPIRIS_TOKEN_FILE", "SPIRIS_CLIENT_ID"])
def test_missing_setting_names_the_variable(missing: str) -> None:
    done = run_unconfigured({missing: None})
    assert done.returncode == 2
    assert missing in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "secret" not in done.stdout + done.stderr and "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_unknown_fiscal_year_is_bad_configuration(make_stack) -> None:
    stack = make_stack(vouchers_per_year=10)
    done = stack.run_cli(*stack.cli_run_args(2019))
    assert done.returncode == 2
    assert "2019" in done.stderr and "2024" in done.stderr and "2025" in done.stderr
    assert summary_of(done)["outcome"] == "failed"
    assert latest_run(stack.database_url)["outcome"] == "failed"


@pytest.mark.timeout(60)
def test_revoked_tokens_need_consent_again(make_stack) -> None:
    stack = make_stack(vouchers_per_year=10)
    users = stack.control.users()
    email = users[0]["email"]
    stack.control.revoke(email)
    done = stack.run_cli(*stack.cli_run_args(2025))
    assert done.returncode == 3, done.stderr
    assert "consent" in done.stderr.lower()
    _no_secrets(done.stdout + done.stderr, stack)
    run = latest_run(stack.database_url)
    assert run["outcome"] == "failed" and "consent" in run["error"].lower()
    summary = summary_of(done)
    assert summary["runId"] == run["id"] and summary["apiCalls"]["total"] == run["api_calls"] >= 1


@pytest.mark.timeout(120)
def test_spiris_down_exits_four(make_stack) -> None:
    stack = make_stack(vouchers_per_year=10)
    stack.sandbox.stop()
    done = stack.run_cli(*stack.cli_run_args(2025))
    assert done.returncode == 4, done.stderr
    assert "Spiris" in done.stderr
    _no_secrets(done.stdout + done.stderr, stack)


@pytest.mark.timeout(60)
def test_storage_down_exits_five(make_stack) -> None:
    stack = make_stack(vouchers_per_year=10)
    env = stack.env(DATABASE_URL="postgresql://nobody:nothing@127.0.0.1:9/none")
    done = stack.run_cli(*stack.cli_run_args(2025), env=env)
    assert done.returncode == 5, done.stderr
    assert "nothing" not in done.stderr  # the password never shows
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_migrate_is_idempotent(make_stack, pg_server) -> None:
    stack = make_stack(vouchers_per_year=10)
    # Migrations run as the schema's owner (the chart's migrate init container); the worker's role has no DDL.
    owner = pg_server.dsn_for(urlsplit(stack.database_url).path.lstrip("/"))
    for _ in range(2):
        done = stack.run_cli("migrate", env=stack.env(DATABASE_URL=owner))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["migrated"] is True


@pytest.mark.timeout(60)
def test_company_without_api_module_needs_consent_for_the_right_company(make_stack) -> None:
    stack = make_stack(vouchers_per_year=10, fiscal_years=(2025,))
    stack.control.faults(company={"number": 1, "has_api_module": False})
    done = stack.run_cli(*stack.cli_run_args(2025))
    assert done.returncode == 3, done.stderr
    assert "module" in done.stderr.lower()


@pytest.mark.timeout(60)
def test_inactive_company_is_not_a_consent_problem(make_stack) -> None:
    stack = make_stack(vouchers_per_year=10, fiscal_years=(2025,))
    stack.control.faults(company={"number": 1, "active": False})
    done = stack.run_cli(*stack.cli_run_args(2025))
    assert done.returncode == 4, done.stderr
    assert "Spiris" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.timeout(90)
def test_without_sales_scope_settings_are_skipped_and_pdfs_missing(make_stack) -> None:
    stack = make_stack(vouchers_per_year=60, documents_ratio=0.5, seed=19, fiscal_years=(2025,))
    write_token(
        stack.sandbox,
        stack.token_file,
        scope="ea:api offline_access ea:accounting_readonly ea:purchase_readonly",
    )
    done = stack.run_cli(*stack.cli_run_args(2025))
    assert done.returncode == 6, done.stderr  # completed, but degraded
    summary = summary_of(done)
    assert summary["outcome"] == "degraded"
    assert summary["counts"]["vouchers"] == stack.truth(2025)["vouchers"]
    assert summary["counts"]["missing_documents"] > 0
    assert "degraded" in done.stderr
    run = latest_run(stack.database_url)
    assert sorted(run["scopes"]) == [
        "ea:accounting_readonly",
        "ea:api",
        "ea:purchase_readonly",
        "offline_access",
    ]
    assert "ea:sales_readonly" not in run["scopes"]
    assert stack.control.stats_count("/companysettings") == 1

    # Refused settings count as asked: the next run does not spend its call on them again.
    stack.control.reset_stats()
    again = stack.run_cli(*stack.cli_run_args(2025))
    assert again.returncode == 6, again.stderr
    assert stack.control.stats_count("/companysettings") == 0
    assert summary_of(again)["apiCalls"]["byEndpoint"].get("/v2/companysettings") is None
