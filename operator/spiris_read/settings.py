"""The read API's configuration, from the environment (flags of `spiris-api` override host and port).

| variable | meaning |
|---|---|
| `DATABASE_URL` | Postgres as the read-only role (`spiris_reader` member) |
| `S3_ENDPOINT`, `S3_ACCESS_KEY`, `S3_SECRET_KEY`, `S3_BUCKET`, `S3_REGION`, `S3_SECURE` | the object store |
| `S3_PUBLIC_ENDPOINT` | endpoint presigned URLs are signed for (what browsers reach); default `S3_ENDPOINT` |
| `SPIRIS_API_CONTENT_TTL_SECONDS` | lifetime of a presigned document URL (default 300) |
| `SPIRIS_API_LINK_KEY` | HMAC key of viewer links (viewer links are refused without it) |
| `SPIRIS_API_VIEWER_LINK_SECONDS` | lifetime of a viewer link (default 3600) |
| `SPIRIS_API_PUBLIC_URL` | base URL put into viewer links (default: the URL the request came to) |
| `SPIRIS_API_AUTH_CACHE_SECONDS` | how long TokenReview/SubjectAccessReview answers are reused (default 10) |
| `KUBECONFIG` | kubeconfig of the API's ServiceAccount (in a pod: the mounted ServiceAccount) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from spiris_store.documents import S3Settings


@dataclass(frozen=True)
class ApiSettings:
    database_url: str
    s3: S3Settings
    s3_public: S3Settings
    content_ttl_seconds: int = 300
    link_key: bytes | None = None
    viewer_link_seconds: int = 3600
    public_url: str | None = None
    auth_cache_seconds: float = 10.0
    kubeconfig: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Read the settings; a missing required variable raises `KeyError` naming it."""
        env = os.environ if env is None else env
        s3 = S3Settings.from_env(env)
        public = env.get("S3_PUBLIC_ENDPOINT") or ""
        s3_public = s3
        if public:
            s3_public = S3Settings(
                endpoint=public,
                access_key=s3.access_key,
                secret_key=s3.secret_key,
                bucket=s3.bucket,
                region=s3.region,
                secure=public.startswith("https://") or (s3.secure and "://" not in public),
            )
        key = env.get("SPIRIS_API_LINK_KEY") or ""
        return cls(
            database_url=env["DATABASE_URL"],
            s3=s3,
            s3_public=s3_public,
            content_ttl_seconds=int(env.get("SPIRIS_API_CONTENT_TTL_SECONDS") or 300),
            link_key=key.encode() if key else None,
            viewer_link_seconds=int(env.get("SPIRIS_API_VIEWER_LINK_SECONDS") or 3600),
            public_url=(env.get("SPIRIS_API_PUBLIC_URL") or "").rstrip("/") or None,
            auth_cache_seconds=float(env.get("SPIRIS_API_AUTH_CACHE_SECONDS") or 10),
            kubeconfig=env.get("KUBECONFIG") or None,
        )
