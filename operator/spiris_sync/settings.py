"""The worker's configuration, taken from command-line flags or environment variables.

Every setting has one environment variable (the names in docs/architecture.md, which the operator's Job spec
sets) and an optional flag that wins over it. A missing or malformed setting raises
:class:`ConfigurationError` naming the variable, so a misconfigured Job fails with exit code 2 and a sentence
a platform engineer can act on.
"""

from __future__ import annotations

import dataclasses
import datetime
import socket
from collections.abc import Mapping

from spiris_client.downloads import DEFAULT_MAX_BYTES as DEFAULT_DOWNLOAD_MAX_BYTES
from spiris_store.budget_priority import Priority
from spiris_store.documents import S3Settings, parse_bool, parse_secure

from spiris_sync.exit_codes import ConfigurationError

DEFAULT_API_URL = "https://eaccountingapi.vismaonline.com/v2"
DEFAULT_IDENTITY_URL = "https://identity.vismaonline.com"
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
# `ModifiedUtc` semantics are unverified in production (does a later attached receipt bump it, is the server's
# comparison really UTC, how late do slow writes become visible): hours, not minutes, of overlap are cheap
# (re-listing a few hours of changes) and cover clock and commit skew.
DEFAULT_LOOKBACK = datetime.timedelta(hours=6)
# An incremental schedule still runs a full pass this often, recording what the incremental passes missed.
DEFAULT_FULL_PASS_EVERY = datetime.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    """What ``spiris-sync migrate`` needs: only the database."""

    database_url: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class SyncSettings:
    """Everything one ``spiris-sync run`` needs besides the company key, fiscal year and mode."""

    database_url: str = dataclasses.field(repr=False)
    object_store: S3Settings
    api_url: str
    identity_url: str
    token_file: str
    client_id: str
    rate_limit_per_minute: int
    lookback: datetime.timedelta
    fys_namespace: str | None
    fys_name: str | None
    job_name: str | None
    #: ``KUBECONFIG`` for the progress patches (None: in-cluster, else ~/.kube/config).
    kubeconfig: str | None
    host: str
    trigger: str
    # None: never turn an incremental run into a periodic full one.
    full_pass_every: datetime.timedelta | None = DEFAULT_FULL_PASS_EVERY
    #: Download link policy (spiris_client.download_policy): extra allowed storage hosts, http and private
    #: addresses (local stacks only), and the cap on one document's size.
    download_allowed_hosts: tuple[str, ...] = ()
    download_allow_insecure: bool = False
    download_max_bytes: int = DEFAULT_DOWNLOAD_MAX_BYTES
    #: How long a run waits for another live run of the same company and fiscal year before giving up.
    lock_wait_seconds: int = 300
    #: The run's class in the shared budget (a first sync's documents pass drops to BACKFILL).
    priority: Priority = Priority.SCHEDULED
    #: Seconds a SCHEDULED or BACKFILL documents pass may run before it yields (exit 8); 0 = no slice.
    time_slice_seconds: float = 0.0


def _pick(
    flags: Mapping[str, object | None], env: Mapping[str, str], *, flag: str, variable: str
) -> str | None:
    value = flags.get(flag)
    if value is not None and str(value) != "":
        return str(value)
    from_env = env.get(variable)
    return from_env if from_env else None


def _require(flags: Mapping[str, object | None], env: Mapping[str, str], *, flag: str, variable: str) -> str:
    value = _pick(flags, env, flag=flag, variable=variable)
    if value is None:
        option = "--" + flag.replace("_", "-")
        raise ConfigurationError(
            f"missing setting: set the environment variable {variable} (or pass {option})"
        )
    return value


def _parse_bool(value: str | None, *, variable: str, default: bool) -> bool:
    try:
        return parse_bool(value, variable=variable, default=default)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _parse_positive_int(value: str | None, *, variable: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"invalid setting {variable}={value!r}: expected a whole number") from None
    if number <= 0:
        raise ConfigurationError(f"invalid setting {variable}={value!r}: must be greater than zero")
    return number


def _parse_priority(value: str | None) -> Priority:
    if value is None:
        return Priority.SCHEDULED
    try:
        return Priority.parse(value)
    except ValueError:
        words = ", ".join(p.env_value for p in Priority)
        raise ConfigurationError(
            f"invalid setting SPIRIS_SYNC_PRIORITY={value!r}: expected one of {words}"
        ) from None


def _parse_time_slice(value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigurationError(
            f"invalid setting SPIRIS_SYNC_TIME_SLICE_SECONDS={value!r}: expected seconds ≥ 0 (0 = no slice)"
        )
    return seconds


def _validate_database_url(url: str) -> str:
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        # Never echo the URL: it usually carries a password.
        raise ConfigurationError(
            "invalid setting DATABASE_URL: expected postgresql://user:password@host:port/db"
        )
    return url


def load_store_settings(flags: Mapping[str, object | None], env: Mapping[str, str]) -> StoreSettings:
    """Settings for ``spiris-sync migrate``."""
    url = _require(flags, env, flag="database_url", variable="DATABASE_URL")
    return StoreSettings(database_url=_validate_database_url(url))


def load_sync_settings(flags: Mapping[str, object | None], env: Mapping[str, str]) -> SyncSettings:
    """Settings for ``spiris-sync run``; raises :class:`ConfigurationError` naming the first missing
    variable."""
    database_url = _validate_database_url(_require(flags, env, flag="database_url", variable="DATABASE_URL"))
    endpoint = _require(flags, env, flag="s3_endpoint", variable="S3_ENDPOINT")
    try:
        secure = parse_secure(_pick(flags, env, flag="s3_secure", variable="S3_SECURE"), endpoint=endpoint)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    object_store = S3Settings(
        endpoint=endpoint,
        access_key=_require(flags, env, flag="s3_access_key", variable="S3_ACCESS_KEY"),
        secret_key=_require(flags, env, flag="s3_secret_key", variable="S3_SECRET_KEY"),
        bucket=_require(flags, env, flag="s3_bucket", variable="S3_BUCKET"),
        region=_pick(flags, env, flag="s3_region", variable="S3_REGION") or "us-east-1",
        secure=secure,
    )
    token_file = _require(flags, env, flag="token_file", variable="SPIRIS_TOKEN_FILE")
    client_id = _require(flags, env, flag="client_id", variable="SPIRIS_CLIENT_ID")
    rate = _parse_positive_int(
        _pick(flags, env, flag="rate_limit_per_minute", variable="SPIRIS_RATE_LIMIT_PER_MINUTE"),
        variable="SPIRIS_RATE_LIMIT_PER_MINUTE",
        default=DEFAULT_RATE_LIMIT_PER_MINUTE,
    )
    lookback_raw = _pick(flags, env, flag="lookback_seconds", variable="SPIRIS_SYNC_LOOKBACK_SECONDS")
    lookback = (
        DEFAULT_LOOKBACK
        if lookback_raw is None
        else datetime.timedelta(
            seconds=_parse_positive_int(
                lookback_raw,
                variable="SPIRIS_SYNC_LOOKBACK_SECONDS",
                default=int(DEFAULT_LOOKBACK.total_seconds()),
            )
        )
    )
    full_raw = _pick(
        flags, env, flag="full_pass_every_seconds", variable="SPIRIS_SYNC_FULL_PASS_EVERY_SECONDS"
    )
    full_every: datetime.timedelta | None = DEFAULT_FULL_PASS_EVERY
    if full_raw is not None:
        if full_raw.strip() == "0":
            full_every = None
        else:
            full_every = datetime.timedelta(
                seconds=_parse_positive_int(
                    full_raw,
                    variable="SPIRIS_SYNC_FULL_PASS_EVERY_SECONDS",
                    default=int(DEFAULT_FULL_PASS_EVERY.total_seconds()),
                )
            )
    return SyncSettings(
        database_url=database_url,
        object_store=object_store,
        api_url=(_pick(flags, env, flag="api_url", variable="SPIRIS_API_URL") or DEFAULT_API_URL).rstrip("/"),
        identity_url=(
            _pick(flags, env, flag="identity_url", variable="SPIRIS_IDENTITY_URL") or DEFAULT_IDENTITY_URL
        ).rstrip("/"),
        token_file=token_file,
        client_id=client_id,
        rate_limit_per_minute=rate,
        lookback=lookback,
        fys_namespace=env.get("SPIRIS_FYS_NAMESPACE") or None,
        fys_name=env.get("SPIRIS_FYS_NAME") or None,
        kubeconfig=env.get("KUBECONFIG") or None,
        job_name=env.get("SPIRIS_JOB_NAME") or env.get("JOB_NAME") or None,
        host=socket.gethostname(),
        trigger=_pick(flags, env, flag="trigger", variable="SPIRIS_SYNC_TRIGGER") or "manual",
        full_pass_every=full_every,
        download_allowed_hosts=tuple(
            h.strip() for h in (env.get("SPIRIS_DOWNLOAD_ALLOWED_HOSTS") or "").split(",") if h.strip()
        ),
        download_allow_insecure=_parse_bool(
            env.get("SPIRIS_DOWNLOAD_ALLOW_INSECURE"),
            variable="SPIRIS_DOWNLOAD_ALLOW_INSECURE",
            default=False,
        ),
        download_max_bytes=_parse_positive_int(
            env.get("SPIRIS_DOWNLOAD_MAX_BYTES"),
            variable="SPIRIS_DOWNLOAD_MAX_BYTES",
            default=DEFAULT_DOWNLOAD_MAX_BYTES,
        ),
        lock_wait_seconds=_parse_positive_int(
            env.get("SPIRIS_SYNC_LOCK_WAIT_SECONDS"), variable="SPIRIS_SYNC_LOCK_WAIT_SECONDS", default=300
        ),
        priority=_parse_priority(_pick(flags, env, flag="priority", variable="SPIRIS_SYNC_PRIORITY")),
        time_slice_seconds=_parse_time_slice(
            _pick(flags, env, flag="time_slice_seconds", variable="SPIRIS_SYNC_TIME_SLICE_SECONDS")
        ),
    )
