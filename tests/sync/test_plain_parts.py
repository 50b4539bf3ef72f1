"""The worker's plain parts without services: settings, fiscal-year planning, reconciliation arithmetic."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from spiris_client.models import FiscalYear
from spiris_sync.exit_codes import ConfigurationError, ExitCode
from spiris_sync.fiscal_year_plan import listing_mode, resolve_fiscal_year
from spiris_sync.progress import ProgressSnapshot
from spiris_sync.reconciliation import compare_movements, spiris_movements, unbalanced
from spiris_sync.settings import load_sync_settings

ENV = {
    "DATABASE_URL": "postgresql://u:secret@127.0.0.1:5432/db",
    "S3_ENDPOINT": "127.0.0.1:9000",
    "S3_ACCESS_KEY": "a",
    "S3_SECRET_KEY": "b",
    "S3_BUCKET": "docs",
    "SPIRIS_TOKEN_FILE": "/var/run/spiris/token/token.json",
    "SPIRIS_CLIENT_ID": "client",
}


def test_settings_from_env_and_flags() -> None:
    settings = load_sync_settings({"s3_bucket": "from-flag"}, ENV)
    assert settings.object_store.bucket == "from-flag"
    assert settings.rate_limit_per_minute == 600
    assert settings.lookback == datetime.timedelta(hours=6)
    assert settings.full_pass_every == datetime.timedelta(days=7)
    tuned = load_sync_settings(
        {"lookback_seconds": "600"}, {**ENV, "SPIRIS_SYNC_FULL_PASS_EVERY_SECONDS": "0"}
    )
    assert tuned.lookback == datetime.timedelta(minutes=10) and tuned.full_pass_every is None
    assert settings.object_store.secure is False
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SPIRIS_RATE_LIMIT_PER_MINUTE", "many", "SPIRIS_RATE_LIMIT_PER_MINUTE"),
        ("SPIRIS_RATE_LIMIT_PER_MINUTE", "0", "greater than zero"),
        ("S3_SECURE", "perhaps", "S3_SECURE"),
        ("DATABASE_URL", "mysql://u:secret@h/db", "DATABASE_URL"),
    ],
)
def test_invalid_settings_name_the_variable(variable: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_sync_settings({}, {**ENV, variable: value})
    assert fragment in caught.value.message
    assert "secret" not in caught.value.message
    assert caught.value.exit_code == ExitCode.BAD_CONFIGURATION


def _year(start: int, fid: str) -> FiscalYear:
    return FiscalYear(
        id=fid,
        start_date=datetime.date(start, 1, 1),
        end_date=datetime.date(start, 12, 31),
        is_locked_for_accounting=False,
        bookkeeping_method=0,
    )


def test_fiscal_year_resolution() -> None:
    years = [_year(2025, "b"), _year(2024, "a")]
    plan = resolve_fiscal_year(years, fiscal_year=2025)
    assert plan.fiscal_year_id == "b" and plan.previous is not None and plan.previous.id == "a"
    first = resolve_fiscal_year(years, fiscal_year=2024)
    assert first.is_first and first.previous is None
    with pytest.raises(ConfigurationError, match="2024, 2025"):
        resolve_fiscal_year(years, fiscal_year=2023)
    # By id the worker takes exactly that year, also when another one starts in the same calendar year.
    short = FiscalYear(
        id="s",
        start_date=datetime.date(2025, 1, 1),
        end_date=datetime.date(2025, 6, 30),
        is_locked_for_accounting=False,
        bookkeeping_method=0,
    )
    longer = FiscalYear(
        id="L",
        start_date=datetime.date(2025, 7, 1),
        end_date=datetime.date(2026, 6, 30),
        is_locked_for_accounting=False,
        bookkeeping_method=0,
    )
    changed = [_year(2024, "a"), short, longer]
    assert resolve_fiscal_year(changed, fiscal_year=2025).fiscal_year_id == "L"
    by_id = resolve_fiscal_year(changed, fiscal_year=None, fiscal_year_id="S")
    assert by_id.fiscal_year_id == "s" and by_id.fiscal_year == 2025 and by_id.previous == changed[0]
    with pytest.raises(ConfigurationError, match="fiscal year id x does not exist"):
        resolve_fiscal_year(changed, fiscal_year=2025, fiscal_year_id="x")
    assert listing_mode("incremental", watermark=None) == "full"
    assert listing_mode("incremental", watermark=datetime.datetime.now(datetime.UTC)) == "incremental"


def test_reconciliation_is_exact_in_decimals() -> None:
    spiris = spiris_movements(
        closing={1930: Decimal("1000.10"), 3001: Decimal("-500.05")}, opening={1930: Decimal("900.00")}
    )
    assert spiris == {1930: Decimal("100.10"), 3001: Decimal("-500.05")}
    compared, differences = compare_movements(
        synced={1930: Decimal("100.10"), 3001: Decimal("-500.04")}, spiris=spiris
    )
    assert compared == 2
    assert [(d.account_number, d.difference) for d in differences] == [(3001, Decimal("0.01"))]
    assert [
        v.voucher_id
        for v in unbalanced(
            [("x", "A1", Decimal("1.00"), Decimal("1.00")), ("y", "A2", Decimal("1.00"), Decimal("0.99"))]
        )
    ] == ["y"]


def test_progress_percent() -> None:
    assert ProgressSnapshot().percent == 0
    snapshot = ProgressSnapshot(vouchers_done=50, vouchers_total=100, documents_done=0, documents_total=100)
    assert snapshot.percent == 25
    assert snapshot.as_status()["documents"] == {"done": 0, "total": 100}
