"""The operator's configuration, read once from environment variables (names in docs/architecture.md).

Secrets (client secret, link signing key, database URL, S3 keys) are kept out of ``repr`` so a settings dump
in a log line never leaks them. Missing values for optional features (database, S3) leave those features
unavailable with a clear condition where they are needed, instead of failing the whole operator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from spiris_store.documents import S3Settings, parse_bool, parse_secure

__all__ = ["JobSettings", "OperatorSettings", "StoreAccess", "load_settings"]

DEFAULT_API_URL = "https://eaccountingapi.vismaonline.com/v2"
DEFAULT_IDENTITY_URL = "https://identity.vismaonline.com"
#: The worker's download policy (allowed storage hosts, http/private addresses for local stacks, size cap)
#: and how long a run waits for a live run of the same year: copied from the operator into every Job.
DOWNLOAD_ENV = (
    "SPIRIS_DOWNLOAD_ALLOWED_HOSTS",
    "SPIRIS_DOWNLOAD_ALLOW_INSECURE",
    "SPIRIS_DOWNLOAD_MAX_BYTES",
    "SPIRIS_SYNC_LOCK_WAIT_SECONDS",
)


@dataclass(frozen=True)
class StoreAccess:
    """How the operator itself reaches Postgres and S3 (only for read-back of runs and for deletionPolicy
    Delete)."""

    database_url: str | None = field(default=None, repr=False)
    #: The object store, when S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET are all set.
    s3: S3Settings | None = None


@dataclass(frozen=True)
class JobSettings:
    """What goes into every sync Job's spec."""

    image: str = "spiris-operator:latest"
    image_pull_policy: str = "IfNotPresent"
    #: Secrets the Jobs' pods pull the image with (the chart's imagePullSecrets, by name).
    image_pull_secrets: tuple[str, ...] = ()
    #: Pin the pods' uid/gid/fsGroup to the image's user; False leaves them to the platform (OpenShift).
    pin_user_and_group: bool = True
    service_account: str = "spiris-sync"
    database_secret: str = "spiris-database"
    database_secret_key: str = "database-url"
    s3_secret: str = "spiris-s3"
    s3_access_key_key: str = "access-key"
    s3_secret_key_key: str = "secret-key"
    api_url: str = DEFAULT_API_URL
    identity_url: str = DEFAULT_IDENTITY_URL
    client_id: str = ""
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = ""
    s3_secure: str = ""
    ttl_seconds_after_finished: int = 86400
    active_deadline_seconds: int = 6 * 3600
    backoff_limit: int = 2
    #: How long a scheduled or backfill run's documents pass may hold its Job before it checkpoints and yields
    #: the slot (exit 8, run again at once or queued); 0 = no time slice. On-demand and first syncs have none.
    documents_time_slice_seconds: int = 900
    #: The worker's download policy settings, copied into every Job when the operator has them.
    download_env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OperatorSettings:
    """All operator settings."""

    namespaces: tuple[str, ...] = ()
    kubeconfig: str | None = None
    #: Address of the liveness and metrics endpoints (0.0.0.0 in a pod; 127.0.0.1 on a workstation).
    bind_address: str = "0.0.0.0"  # noqa: S104
    health_port: int = 8080
    metrics_port: int = 9090
    max_concurrent_jobs: int = 4
    #: On-demand runs (a person's "sync now") may go past the Job cap by this many Jobs.
    on_demand_headroom: int = 2
    api_url: str = DEFAULT_API_URL
    identity_url: str = DEFAULT_IDENTITY_URL
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    #: Public base URL of the web (consent links point here). Empty: no link is published, and connections
    #: say so (Ready=False, PublicUrlNotSet); never guessed, a localhost link would reach nobody.
    web_public_url: str = ""
    #: The registered OAuth redirect URI (default ``{web_public_url}/oauth/callback``; empty without one).
    redirect_uri: str = ""
    #: Namespace of the leader-election Lease (empty: no election, run standalone).
    leader_election_namespace: str = ""
    link_signing_key: str = field(default="", repr=False)
    #: Refresh access tokens when less than this is left.
    refresh_margin: timedelta = timedelta(minutes=5)
    #: Kept for old environments (``SPIRIS_OPERATOR_RECONCILE_INTERVAL``): reconciles are event driven now
    #: (spiris_operator.scheduler); when set (> 0) it shortens the safety resync to that many seconds.
    reconcile_interval: float = 0.0
    #: The safety resync: every object is reconciled at least this often although no event or due time asked
    #: for it (spread over the period per object). Long, like controller-runtime's default 10 h sync period.
    resync_interval: float = 6 * 3600.0
    #: How many reconciles run at once (they run in threads; the rest wait in the scheduler's queue).
    reconcile_workers: int = 8
    #: How long a refresh claim on the token Secret holds off other refreshers (stretched to cover
    #: ``refresh_timeout`` plus the time to store the result: see token_refresher.claim_seconds).
    refresh_lease: timedelta = timedelta(seconds=120)
    #: Timeout of the token request at Spiris.
    refresh_timeout: timedelta = timedelta(seconds=30)
    retry_base: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(hours=1)
    #: Fraction of an interval added as deterministic jitter to scheduled syncs.
    schedule_jitter: float = 0.1
    jobs: JobSettings = field(default_factory=JobSettings)
    store: StoreAccess = field(default_factory=StoreAccess)

    @property
    def effective_resync(self) -> float:
        """The safety resync period in seconds, after the legacy reconcile interval's cap."""
        if self.reconcile_interval > 0:
            return min(self.resync_interval, self.reconcile_interval)
        return self.resync_interval


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, "").strip() or default


def load_settings(env: Mapping[str, str] | None = None) -> OperatorSettings:
    """Settings from ``env`` (default: the process environment); raises ValueError on malformed numbers."""
    env = os.environ if env is None else env
    api_url = _text(env, "SPIRIS_API_URL", DEFAULT_API_URL)
    identity_url = _text(env, "SPIRIS_IDENTITY_URL", DEFAULT_IDENTITY_URL)
    client_id = _text(env, "SPIRIS_CLIENT_ID")
    web_public_url = _text(env, "SPIRIS_WEB_PUBLIC_URL").rstrip("/")
    s3_secure = _text(env, "S3_SECURE")
    s3_endpoint, s3_bucket = _text(env, "S3_ENDPOINT"), _text(env, "S3_BUCKET")
    s3_access_key, s3_secret_key = _text(env, "S3_ACCESS_KEY"), _text(env, "S3_SECRET_KEY")
    # Read (and checked) once; the Jobs get the same text, the operator's own store access the model.
    secure = parse_secure(s3_secure, endpoint=s3_endpoint)
    jobs = JobSettings(
        image=_text(env, "SPIRIS_SYNC_IMAGE", JobSettings.image),
        image_pull_policy=_text(env, "SPIRIS_SYNC_IMAGE_PULL_POLICY", JobSettings.image_pull_policy),
        image_pull_secrets=tuple(
            name.strip() for name in env.get("SPIRIS_SYNC_IMAGE_PULL_SECRETS", "").split(",") if name.strip()
        ),
        pin_user_and_group=parse_bool(
            env.get("SPIRIS_SYNC_PIN_USER_AND_GROUP"), variable="SPIRIS_SYNC_PIN_USER_AND_GROUP", default=True
        ),
        service_account=_text(env, "SPIRIS_SYNC_SERVICE_ACCOUNT", JobSettings.service_account),
        database_secret=_text(env, "SPIRIS_SYNC_DATABASE_SECRET", JobSettings.database_secret),
        database_secret_key=_text(env, "SPIRIS_SYNC_DATABASE_SECRET_KEY", JobSettings.database_secret_key),
        s3_secret=_text(env, "SPIRIS_SYNC_S3_SECRET", JobSettings.s3_secret),
        s3_access_key_key=_text(env, "SPIRIS_SYNC_S3_ACCESS_KEY_KEY", JobSettings.s3_access_key_key),
        s3_secret_key_key=_text(env, "SPIRIS_SYNC_S3_SECRET_KEY_KEY", JobSettings.s3_secret_key_key),
        api_url=api_url,
        identity_url=identity_url,
        client_id=client_id,
        s3_endpoint=s3_endpoint,
        s3_bucket=s3_bucket,
        s3_region=_text(env, "S3_REGION"),
        s3_secure=s3_secure,
        ttl_seconds_after_finished=_int(
            env, "SPIRIS_SYNC_JOB_TTL_SECONDS", JobSettings.ttl_seconds_after_finished
        ),
        active_deadline_seconds=_int(
            env, "SPIRIS_SYNC_JOB_DEADLINE_SECONDS", JobSettings.active_deadline_seconds
        ),
        backoff_limit=_int(env, "SPIRIS_SYNC_JOB_BACKOFF_LIMIT", JobSettings.backoff_limit),
        documents_time_slice_seconds=max(
            0, _int(env, "SPIRIS_SYNC_TIME_SLICE_SECONDS", JobSettings.documents_time_slice_seconds)
        ),
        download_env=tuple((name, _text(env, name)) for name in DOWNLOAD_ENV if _text(env, name)),
    )
    store = StoreAccess(
        database_url=_text(env, "DATABASE_URL") or None,
        s3=(
            S3Settings(
                endpoint=s3_endpoint,
                access_key=s3_access_key,
                secret_key=s3_secret_key,
                bucket=s3_bucket,
                region=_text(env, "S3_REGION", "us-east-1"),
                secure=secure,
            )
            if s3_endpoint and s3_access_key and s3_secret_key and s3_bucket
            else None
        ),
    )
    namespaces = tuple(n.strip() for n in _text(env, "SPIRIS_WATCH_NAMESPACES").split(",") if n.strip())
    return OperatorSettings(
        namespaces=namespaces,
        kubeconfig=_text(env, "KUBECONFIG") or None,
        bind_address=_text(env, "SPIRIS_OPERATOR_BIND_ADDRESS", "0.0.0.0"),  # noqa: S104
        health_port=_int(env, "SPIRIS_OPERATOR_HEALTH_PORT", 8080),
        metrics_port=_int(env, "SPIRIS_OPERATOR_METRICS_PORT", 9090),
        max_concurrent_jobs=max(1, _int(env, "SPIRIS_MAX_CONCURRENT_JOBS", 4)),
        on_demand_headroom=max(
            0, _int(env, "SPIRIS_ON_DEMAND_JOB_HEADROOM", OperatorSettings.on_demand_headroom)
        ),
        api_url=api_url,
        identity_url=identity_url,
        client_id=client_id,
        client_secret=_text(env, "SPIRIS_CLIENT_SECRET"),
        web_public_url=web_public_url,
        redirect_uri=_text(
            env, "SPIRIS_REDIRECT_URI", f"{web_public_url}/oauth/callback" if web_public_url else ""
        ),
        leader_election_namespace=_text(env, "SPIRIS_LEADER_ELECTION_NAMESPACE"),
        link_signing_key=_text(env, "SPIRIS_LINK_SIGNING_KEY"),
        refresh_margin=timedelta(seconds=_int(env, "SPIRIS_TOKEN_REFRESH_MARGIN_SECONDS", 300)),
        refresh_timeout=timedelta(seconds=_float(env, "SPIRIS_TOKEN_REFRESH_TIMEOUT_SECONDS", 30.0)),
        reconcile_interval=_float(env, "SPIRIS_OPERATOR_RECONCILE_INTERVAL", 0.0),
        resync_interval=_float(env, "SPIRIS_OPERATOR_RESYNC_SECONDS", 6 * 3600.0),
        reconcile_workers=max(1, _int(env, "SPIRIS_OPERATOR_RECONCILE_WORKERS", 8)),
        retry_base=timedelta(seconds=_float(env, "SPIRIS_SYNC_RETRY_BASE_SECONDS", 30.0)),
        retry_max=timedelta(seconds=_float(env, "SPIRIS_SYNC_RETRY_MAX_SECONDS", 3600.0)),
        schedule_jitter=_float(env, "SPIRIS_SYNC_SCHEDULE_JITTER", 0.1),
        jobs=jobs,
        store=store,
    )
