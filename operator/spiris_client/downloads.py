"""Downloading Spiris' temporary storage links (attachments, invoice PDFs, SIE exports).

The links are pre-authorised and expire; they live on a storage host that must never see our bearer token, so
`Downloader` has its own `httpx.Client` without any credentials. A link answering 403/404/410 has expired: the
caller's `refresh_url()` (re-fetching the metadata, e.g. `lambda: api.attachment(id).temporary_url`) supplies
a fresh one, a bounded number of times, then `DownloadExpired`. 5xx and transport failures are retried with
backoff on the same link. A body shorter than its `Content-Length` raises `DownloadError` — a download is
never silently short. Every URL, the first and each redirect hop (followed here, not by httpx, so each is
checked), must pass the `DownloadPolicy` (https to Spiris' storage hosts, public addresses only) or
`DownloadRefused` is raised; bodies are requested with `Accept-Encoding: identity` and cut off at `max_bytes`
decoded bytes (`DownloadTooLarge`), so neither a huge file nor a gzip bomb can fill the Job's disk. Neither
is retried. URLs are logged without their query string or storage id.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import httpx

from spiris_client.backoff import RetryPolicy
from spiris_client.download_policy import DownloadPolicy, guarded_transport
from spiris_client.errors import DownloadError, DownloadExpired, DownloadRefused, DownloadTooLarge
from spiris_client.redaction import install_log_redaction, logger, redact_url

EXPIRED_STATUSES = frozenset({403, 404, 410})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_CHUNK_SIZE = 64 * 1024
#: Default cap on one document's decoded size (the Job's /tmp emptyDir is 1 GiB).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
_MAX_REDIRECTS = 5


def checked_chunks(
    response: httpx.Response, *, chunk_size: int = DEFAULT_CHUNK_SIZE, max_bytes: int | None = None
) -> Iterator[bytes]:
    """The body of a streamed response, raising `DownloadError` if it ends before its `Content-Length` and
    `DownloadTooLarge` once more than `max_bytes` decoded bytes arrived (or are announced)."""
    expected_header = response.headers.get("Content-Length")
    expected = int(expected_header) if expected_header and expected_header.isdigit() else None
    if max_bytes is not None and expected is not None and expected > max_bytes:
        raise DownloadTooLarge(f"the document is {expected} bytes, over the {max_bytes}-byte limit")
    received = 0
    try:
        for chunk in response.iter_bytes(chunk_size):
            received += len(chunk)
            if max_bytes is not None and received > max_bytes:
                raise DownloadTooLarge(f"the document is over the {max_bytes}-byte limit")
            yield chunk
    except httpx.TransportError as exc:
        raise DownloadError(f"download broke off after {received} bytes: {type(exc).__name__}") from exc
    # Content-Length counts the encoded bytes; with gzip the decoded length differs, so only check identity
    # bodies.
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if expected is not None and not encoded and received != expected:
        raise DownloadError(f"download ended after {received} of {expected} bytes")


class Downloader:
    """Fetches temporary URLs without credentials, renewing expired links through a callback."""

    def __init__(
        self,
        *,
        timeout: float | httpx.Timeout = 60.0,
        max_renewals: int = 2,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 10.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        user_agent: str = "spiris-operator",
        transport: httpx.BaseTransport | None = None,
        policy: DownloadPolicy | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        install_log_redaction()
        self._policy_rules = policy if policy is not None else DownloadPolicy()
        self._max_bytes = max_bytes
        self._max_renewals = max_renewals
        self._policy = RetryPolicy(
            max_retries=max_retries, backoff_base=backoff_base, backoff_cap=backoff_cap
        )
        self._chunk_size = chunk_size
        self._sleep = sleep
        self._rng = rng
        # Deliberately a separate client with no auth and no default credentials: storage must never get a
        # token.
        # Redirects are followed by `_open`, which checks every hop against the policy.
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport if transport is not None else guarded_transport(self._policy_rules),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
        )
        self.renewals = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream(self, url: str, *, refresh_url: Callable[[], str | None] | None = None) -> Iterator[bytes]:
        """Yield the body of `url` in chunks.

        Expiry and transient failures are handled before the first byte is yielded; a failure after that
        raises `DownloadError` (use `download_to()` on a seekable file to restart such downloads
        transparently).
        """
        renewals = 0
        failures = 0
        current: str | None = url
        while True:
            if not current:
                raise DownloadExpired("Spiris returned no temporary URL for the document")
            try:
                with self._open(current) as response:
                    status = response.status_code
                    if status < 300:
                        logger.debug("downloading %s", redact_url(current))
                        yield from checked_chunks(
                            response, chunk_size=self._chunk_size, max_bytes=self._max_bytes
                        )
                        return
                    response.read()
            except httpx.TransportError as exc:
                if failures >= self._policy.max_retries:
                    raise DownloadError(f"storage unreachable: {type(exc).__name__}") from exc
                delay = self._policy.backoff(failures, rng=self._rng)
                failures += 1
                logger.info(
                    "download from %s failed (%s), retry in %.2fs",
                    redact_url(current),
                    type(exc).__name__,
                    delay,
                )
                self._sleep(delay)
                continue

            if status in EXPIRED_STATUSES:
                if refresh_url is None or renewals >= self._max_renewals:
                    raise DownloadExpired(f"temporary URL answered {status} after {renewals} renewal(s)")
                renewals += 1
                self.renewals += 1
                logger.info("temporary URL %s answered %d; fetching a fresh one", redact_url(current), status)
                current = refresh_url()
                continue
            if status >= 500 and failures < self._policy.max_retries:
                delay = self._policy.backoff(failures, rng=self._rng)
                failures += 1
                logger.info("storage answered %d, retry in %.2fs", status, delay)
                self._sleep(delay)
                continue
            raise DownloadError(f"storage answered {status}")

    @contextmanager
    def _open(self, url: str) -> Iterator[httpx.Response]:
        """The response for `url` after following at most five redirects, each hop checked first."""
        current = url
        for _ in range(_MAX_REDIRECTS + 1):
            self._policy_rules.check_url(current)
            with self._client.stream("GET", current) as response:
                location = response.headers.get("Location")
                if response.status_code not in REDIRECT_STATUSES or not location:
                    yield response
                    return
                response.read()
                current = str(response.url.join(location))
        raise DownloadRefused(f"more than {_MAX_REDIRECTS} redirects")

    def download_to(
        self, url: str, dest: BinaryIO, *, refresh_url: Callable[[], str | None] | None = None
    ) -> int:
        """Write the body of `url` to `dest`; returns the byte count.

        When `dest` is seekable, a download that breaks off midway is restarted from scratch (with a fresh URL
        when `refresh_url` is given), up to the retry bound; `dest` is truncated back to where it started.
        """
        start = dest.tell() if dest.seekable() else None
        attempts = 0
        current = url
        while True:
            written = 0
            try:
                for chunk in self.stream(current, refresh_url=refresh_url):
                    dest.write(chunk)
                    written += len(chunk)
                return written
            except (DownloadExpired, DownloadRefused, DownloadTooLarge):
                raise
            except DownloadError:
                if start is None or attempts >= self._policy.max_retries:
                    raise
                attempts += 1
                dest.seek(start)
                dest.truncate()
                fresh = refresh_url() if refresh_url is not None else None
                current = fresh or current
                logger.info("restarting a broken download (attempt %d)", attempts + 1)
