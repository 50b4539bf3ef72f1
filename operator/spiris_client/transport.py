"""Sending one API request to Spiris, with the retry rules around it.

`ApiTransport._send()` owns the loop every call goes through: rate-limit hook, bearer token, counting, then
- 5xx, timeouts and connection errors: retried after full-jitter exponential backoff, at most
  `RetryPolicy.max_retries` times, then `SpirisUnavailable` (the last error as its cause);
- 429: waited out as Spiris advises (`Retry-After`, else "Try again in N seconds"), at most
  `RetryPolicy.max_rate_limit_waits` times, then `RateLimited`;
- 401: once, the token provider may offer a renewed token; the request is repeated with it, else
  `Unauthorized`;
- other errors: the typed `SpirisApiError` subclass carrying `ErrorCode`/`ErrorId`.
Query strings are built here so `$filter`/`$orderby` values are percent-encoded (`%20`, never `+`) while the
`$` of the option names stays literal, as Spiris' own examples write them.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from spiris_client.backoff import RetryPolicy, rate_limit_wait
from spiris_client.call_counter import CallCounter
from spiris_client.errors import RateLimited, SpirisApiError, SpirisUnavailable, api_error_for
from spiris_client.fields import Fields, loads
from spiris_client.ratelimit import RateLimiter, endpoint_template
from spiris_client.redaction import install_log_redaction, logger
from spiris_client.text_cleaning import clean_tree
from spiris_client.tokens import TokenProvider

QueryParams = Mapping[str, str | int | bool | None]


def encode_query(params: QueryParams) -> str:
    """`$filter=VoucherDate%20ge%202024-01-01&$page=2`: values fully percent-encoded, None values left out."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{quote(key, safe='$')}={quote(text, safe='')}")
    return "&".join(parts)


def _error_from(response: httpx.Response, *, template: str) -> SpirisApiError:
    """The typed error for an error response, from Spiris' envelope when the body has one."""
    error_code: int | None = None
    error_id: str | None = None
    message: str | None = None
    errors: list[Mapping[str, Any]] = []
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        f = Fields(body)
        error_code = f.integer("ErrorCode")
        error_id = f.text("ErrorId")
        message = f.text("DeveloperErrorMessage") or f.text("Message")
        errors = f.mappings("Errors")
    status = response.status_code
    kwargs: dict[str, Any] = {
        "status": status,
        "endpoint": template,
        "error_code": error_code,
        "error_id": error_id,
        "developer_message": message,
        "errors": errors,
    }
    cls = api_error_for(status, error_code)
    if cls is RateLimited:
        return RateLimited(retry_after=None, **kwargs)
    return cls(**kwargs)


class ApiTransport:
    """The HTTP layer of `SpirisApi`: one `httpx.Client`, the retry loop, the counter."""

    def __init__(
        self,
        *,
        base_url: str,
        token_provider: TokenProvider,
        rate_limiter: RateLimiter,
        counter: CallCounter,
        policy: RetryPolicy,
        timeout: float | httpx.Timeout,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        user_agent: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self._tokens = token_provider
        self._limiter = rate_limiter
        self._counter = counter
        self._policy = policy
        self._sleep = sleep
        self._rng = rng
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "application/json", "Accept-Encoding": "gzip"},
        )

    def close(self) -> None:
        self._client.close()

    def url(self, path: str, params: QueryParams | None = None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}"
        query = encode_query(params or {})
        return f"{url}?{query}" if query else url

    def get_json(
        self, path: str, params: QueryParams | None = None, *, timeout: httpx.Timeout | None = None
    ) -> Any:
        """GET `path` (relative to the base URL) and parse the JSON body with Decimal amounts; `timeout`
        overrides the client's for endpoints where Spiris renders or signs on request."""
        response = self._send(self.url(path, params), endpoint_template(path), stream=False, timeout=timeout)
        content = response.content
        try:
            parsed = loads(content)
        except ValueError as exc:
            raise SpirisUnavailable(
                f"Spiris answered {endpoint_template(path)} with a body that is not JSON", attempts=1
            ) from exc
        cleaned, count = clean_tree(parsed)
        self._counter.record_cleaned(count)
        return cleaned

    @contextlib.contextmanager
    def stream(
        self, path: str, params: QueryParams | None = None, *, timeout: httpx.Timeout | None = None
    ) -> Iterator[httpx.Response]:
        """GET `path` and yield the successful response unread (the caller streams or reads it)."""
        template = endpoint_template(path)
        url = self.url(path, params)
        response = self._send(url, template, stream=True, timeout=timeout)
        try:
            yield response
        finally:
            response.close()

    def _send(
        self, url: str, template: str, *, stream: bool, timeout: httpx.Timeout | None = None
    ) -> httpx.Response:
        token = self._tokens.access_token()
        transient_failures = 0
        rate_limit_waits = 0
        renewed = False
        attempts = 0
        while True:
            self._limiter.acquire(template)
            self._counter.record(template, retry=attempts > 0)
            attempts += 1
            request = self._client.build_request(
                "GET",
                url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            try:
                response = self._client.send(request, stream=True)
                if not stream or response.status_code >= 400:
                    # Read inside the loop so a timeout in the middle of a body is retried like any other.
                    try:
                        response.read()
                    finally:
                        response.close()
            except httpx.TransportError as exc:
                self._counter.mark(template, transport_error=True)
                if transient_failures >= self._policy.max_retries:
                    logger.warning(
                        "%s: %s, giving up after %d attempts", template, type(exc).__name__, attempts
                    )
                    raise SpirisUnavailable(
                        f"Spiris unreachable on {template} after {attempts} attempts: {type(exc).__name__}",
                        attempts=attempts,
                    ) from exc
                delay = self._policy.backoff(transient_failures, rng=self._rng)
                transient_failures += 1
                logger.info("%s: %s, retry in %.2fs", template, type(exc).__name__, delay)
                self._sleep(delay)
                continue

            status = response.status_code
            if status < 400:
                logger.debug("%s: %d after %d attempt(s)", template, status, attempts)
                return response

            error = _error_from(response, template=template)

            if status >= 500:
                self._counter.mark(template, server_error=True)
                if transient_failures >= self._policy.max_retries:
                    logger.warning("%s: %d, giving up after %d attempts", template, status, attempts)
                    raise SpirisUnavailable(
                        f"Spiris kept failing on {template} ({status}) after {attempts} attempts",
                        attempts=attempts,
                    ) from error
                delay = self._policy.backoff(transient_failures, rng=self._rng)
                transient_failures += 1
                logger.info(
                    "%s: %d (ErrorCode %s), retry in %.2fs", template, status, error.error_code, delay
                )
                self._sleep(delay)
                continue

            if status == 429:
                self._counter.mark(template, rate_limited=True)
                wait = rate_limit_wait(
                    retry_after_header=response.headers.get("Retry-After"),
                    developer_message=error.developer_message,
                    policy=self._policy,
                    attempt=rate_limit_waits,
                )
                if rate_limit_waits >= self._policy.max_rate_limit_waits:
                    logger.warning("%s: still rate limited after %d waits", template, rate_limit_waits)
                    raise RateLimited(
                        retry_after=wait,
                        status=status,
                        endpoint=template,
                        error_code=error.error_code,
                        error_id=error.error_id,
                        developer_message=error.developer_message,
                    )
                rate_limit_waits += 1
                logger.info("%s: rate limited, waiting %.1fs as Spiris advises", template, wait)
                self._sleep(wait)
                continue

            if status == 401:
                self._counter.mark(template, unauthorized=True)
                if not renewed:
                    renewed = True
                    fresh = self._tokens.renew_after_unauthorized(token)
                    if fresh is not None and fresh != token:
                        logger.info("%s: 401, retrying once with a renewed access token", template)
                        token = fresh
                        continue
                logger.warning("%s: 401 and no renewed access token", template)

            raise error
