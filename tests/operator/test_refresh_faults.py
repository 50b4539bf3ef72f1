"""Fault injection on the token refresh path: whatever fails after Spiris rotated a token, the new one is
stored, the stored refresh token stays live at Spiris, and the consent markers on the Secret survive.

Each fault sits at one step of the protocol in ``spiris_operator.token_refresher``: an unrelated write
between claim and write (409), the write failing (500) or timing out (landed or not), the write failing for
longer than the claim (held in memory, written on the next call), the refresher process SIGKILLed before and
after the Spiris call, and two replicas with a slow token endpoint (the sandbox's ``token_slow_ms`` switch),
including a replica whose claim lapsed before its late write. Real API server, real Spiris sandbox.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from spiris_client.errors import ConsentRequired
from spiris_client.oauth import SpirisOAuth, TokenSet
from spiris_connection import token_secret
from spiris_operator import token_refresher
from spiris_operator.kube_api import KubeApi
from spiris_operator.token_refresher import (
    JOURNAL_ANNOTATION,
    LEASE_ANNOTATION,
    RefreshInterrupted,
    RefreshOutcome,
    TokenNotPersisted,
    ensure_fresh,
)
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import consent_token, create_connection, spiris_oauth, store_consent
from testkit.sandbox_control import SandboxControl

pytestmark = pytest.mark.timeout(120)

CONSENT_MARKERS = {
    "spiris.senseworks.io/consent-link-jti": "link-jti-1",
    "spiris.senseworks.io/consent-state-jti": "state-jti-1",
}
ALWAYS_DUE = timedelta(hours=2)  # every stored token counts as expiring: a refresh is due


@pytest.fixture(autouse=True)
def _no_held_tokens() -> Iterator[None]:
    token_refresher._unsaved.clear()
    yield
    token_refresher._unsaved.clear()


def _consented(kube: KubeApi, namespace: str, sandbox: SandboxServer) -> tuple[dict[str, Any], TokenSet]:
    """A connection whose token Secret was written as the web writes it (with its single-use markers)."""
    connection = create_connection(kube, namespace, "acme")
    original = consent_token(sandbox.url)
    store_consent(kube, connection, original)
    secret = kube.core.read_namespaced_secret("acme-spiris-token", namespace)
    secret.metadata.annotations = {**(secret.metadata.annotations or {}), **CONSENT_MARKERS}
    kube.core.replace_namespaced_secret("acme-spiris-token", namespace, secret)
    return connection, original


def _stored(kube: KubeApi, namespace: str) -> TokenSet:
    stored = token_secret.read_token(kube.core, namespace=namespace, connection_name="acme")
    assert stored is not None
    return stored.token


def _annotations(kube: KubeApi, namespace: str) -> dict[str, str]:
    return dict(kube.core.read_namespaced_secret("acme-spiris-token", namespace).metadata.annotations or {})


def _assert_live_and_kept(kube: KubeApi, namespace: str, sandbox: SandboxServer, original: TokenSet) -> None:
    """The stored refresh token is a new one that Spiris still accepts, and the markers are still there."""
    stored = _stored(kube, namespace)
    assert stored.refresh_token is not None and stored.refresh_token != original.refresh_token
    annotations = _annotations(kube, namespace)
    assert CONSENT_MARKERS.items() <= annotations.items()
    assert LEASE_ANNOTATION not in annotations and JOURNAL_ANNOTATION not in annotations
    assert spiris_oauth(sandbox.url).refresh(stored.refresh_token).access_token  # nothing was lost


class Refresh:
    """The real OAuth refresher with hooks around the Spiris call."""

    def __init__(
        self,
        oauth: SpirisOAuth,
        *,
        before: Callable[[], None] | None = None,
        after: Callable[[TokenSet], None] | None = None,
    ) -> None:
        self.oauth = oauth
        self.before = before
        self.after = after
        self.calls = 0
        self._lock = threading.Lock()

    def refresh(self, refresh_token: str) -> TokenSet:
        with self._lock:
            self.calls += 1
        if self.before is not None:
            self.before()
        fresh = self.oauth.refresh(refresh_token)
        if self.after is not None:
            self.after(fresh)
        return fresh


class FaultyCore:
    """CoreV1Api whose token writes (the PUTs after the claim) fail as ``fail`` decides."""

    def __init__(self, core: k8s.CoreV1Api, fail: Callable[[int, Callable[[], Any]], Any]) -> None:
        self._core = core
        self._fail = fail
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)

    def replace_namespaced_secret(self, *args: Any, **kwargs: Any) -> Any:
        self.puts += 1
        return self._fail(self.puts, lambda: self._core.replace_namespaced_secret(*args, **kwargs))


def _faulty(kube: KubeApi, fail: Callable[[int, Callable[[], Any]], Any]) -> tuple[KubeApi, FaultyCore]:
    api = KubeApi(kube.api_client)
    core = FaultyCore(api.core, fail)
    api.core = core  # type: ignore[assignment]
    return api, core


def _refresh(kube: KubeApi, connection: dict[str, Any], refresher: Any, **kwargs: Any) -> RefreshOutcome:
    options: dict[str, Any] = {
        "margin": ALWAYS_DUE,
        "lease": timedelta(seconds=30),
        "holder": "replica-a",
        "refresh_timeout": 10.0,
        "persist_budget": 10.0,
    }
    options.update(kwargs)
    outcome = ensure_fresh(kube, connection=connection, refresher=refresher, **options)
    assert outcome is not None
    return outcome


def test_unrelated_write_between_claim_and_write_keeps_the_new_token(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    connection, original = _consented(kube, kube_namespace, sandbox)

    def someone_annotates(_: TokenSet) -> None:
        secret = kube.core.read_namespaced_secret("acme-spiris-token", kube_namespace)
        secret.metadata.annotations = {**(secret.metadata.annotations or {}), "example.com/backup": "done"}
        kube.core.replace_namespaced_secret("acme-spiris-token", kube_namespace, secret)

    refresher = Refresh(spiris_oauth(sandbox.url), after=someone_annotates)
    outcome = _refresh(kube, connection, refresher)

    assert outcome.refreshed and refresher.calls == 1 and sandbox_control.refresh_grants() == 1
    assert _stored(kube, kube_namespace).access_token == outcome.stored.token.access_token
    assert _annotations(kube, kube_namespace)["example.com/backup"] == "done"
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


@pytest.mark.parametrize(
    "fault",
    ["500", "timeout-not-landed", "timeout-landed", "connection-refused"],
)
def test_failed_or_timed_out_write_is_retried_until_stored(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, sandbox_control: SandboxControl, fault: str
) -> None:
    connection, original = _consented(kube, kube_namespace, sandbox)

    def fail(put: int, write: Callable[[], Any]) -> Any:
        if put != 2:  # put 1 is the claim; put 2 the first write of the new token
            return write()
        if fault == "500":
            raise ApiException(status=500, reason="Internal Server Error")
        if fault == "timeout-landed":
            write()
            raise urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")  # type: ignore[arg-type]
        if fault == "timeout-not-landed":
            raise urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")  # type: ignore[arg-type]
        raise urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]

    faulty, core = _faulty(kube, fail)
    refresher = Refresh(spiris_oauth(sandbox.url))
    outcome = _refresh(faulty, connection, refresher)

    assert outcome.refreshed and refresher.calls == 1 and sandbox_control.refresh_grants() == 1
    assert core.puts >= 2
    assert _stored(kube, kube_namespace).access_token == outcome.stored.token.access_token
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


def test_write_failing_past_the_claim_is_held_and_written_next_time(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    connection, original = _consented(kube, kube_namespace, sandbox)
    outage = {"on": True}

    def fail(put: int, write: Callable[[], Any]) -> Any:
        if put >= 2 and outage["on"]:
            raise ApiException(status=503, reason="Service Unavailable")
        return write()

    faulty, _ = _faulty(kube, fail)
    refresher = Refresh(spiris_oauth(sandbox.url))
    with pytest.raises(TokenNotPersisted):
        _refresh(
            faulty, connection, refresher, lease=timedelta(seconds=1), refresh_timeout=1, persist_budget=1
        )
    assert _stored(kube, kube_namespace).refresh_token == original.refresh_token  # not stored yet ...
    outage["on"] = False
    outcome = _refresh(faulty, connection, refresher)  # ... but held, and stored before anything else
    assert outcome.refreshed and refresher.calls == 1 and sandbox_control.refresh_grants() == 1
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


def test_a_fresh_consent_during_the_refresh_wins(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer
) -> None:
    connection, _ = _consented(kube, kube_namespace, sandbox)
    reconsented: dict[str, TokenSet] = {}

    def web_stores_new_consent(_: TokenSet) -> None:
        reconsented["token"] = consent_token(sandbox.url)
        store_consent(kube, connection, reconsented["token"])

    outcome = _refresh(kube, connection, Refresh(spiris_oauth(sandbox.url), after=web_stores_new_consent))
    assert outcome.stored.token.access_token == reconsented["token"].access_token
    assert _stored(kube, kube_namespace).refresh_token == reconsented["token"].refresh_token


def test_two_replicas_with_a_slow_token_endpoint_refresh_once(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Separate processes share no in-memory lock: only the claim on the Secret keeps them apart.
    monkeypatch.setattr(token_refresher, "_lock_for", lambda key: threading.Lock())
    connection, original = _consented(kube, kube_namespace, sandbox)
    sandbox_control.faults(token_slow_ms=2500)
    refresher = Refresh(spiris_oauth(sandbox.url))
    barrier = threading.Barrier(2)
    results: dict[str, RefreshOutcome | BaseException] = {}

    def race(holder: str) -> None:
        barrier.wait()
        try:
            # A configured lease shorter than the slow refresh: the claim must stretch to cover it.
            results[holder] = _refresh(
                kube, connection, refresher, holder=holder, lease=timedelta(seconds=1), refresh_timeout=6
            )
        except BaseException as exc:  # surfaced by the assertions below
            results[holder] = exc

    threads = [threading.Thread(target=race, args=(h,)) for h in ("replica-a", "replica-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sandbox_control.clear_faults()

    a, b = results["replica-a"], results["replica-b"]
    assert isinstance(a, RefreshOutcome) and isinstance(b, RefreshOutcome), results
    assert refresher.calls == 1 and sandbox_control.refresh_grants() == 1
    assert a.stored.token.access_token == b.stored.token.access_token
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


def test_a_replica_whose_claim_lapsed_still_gets_its_late_write_in(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replica A's answer from Spiris arrives after its claim lapsed; replica B claims, is refused
    (invalid_grant: A already spent the token) and must wait for A's write instead of declaring the consent
    lost."""
    monkeypatch.setattr(token_refresher, "_lock_for", lambda key: threading.Lock())
    connection, original = _consented(kube, kube_namespace, sandbox)
    a_refreshed = threading.Event()

    def slow_answer(_: TokenSet) -> None:
        a_refreshed.set()
        time.sleep(9)  # longer than A's claim (1 s timeout + 1 s budget + 5 s)

    results: dict[str, RefreshOutcome | BaseException] = {}

    def replica_a() -> None:
        try:
            results["a"] = _refresh(
                kube,
                connection,
                Refresh(spiris_oauth(sandbox.url), after=slow_answer),
                holder="replica-a",
                lease=timedelta(seconds=1),
                refresh_timeout=1,
                persist_budget=1,
            )
        except BaseException as exc:
            results["a"] = exc

    thread = threading.Thread(target=replica_a)
    thread.start()
    assert a_refreshed.wait(20)
    b = _refresh(kube, connection, Refresh(spiris_oauth(sandbox.url)), holder="replica-b", persist_budget=20)
    thread.join(timeout=30)

    assert isinstance(results["a"], RefreshOutcome), results
    assert not b.refreshed and b.stored.token.access_token == results["a"].stored.token.access_token
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


def _child_refresh(
    configuration: k8s.Configuration, connection: dict[str, Any], sandbox_url: str, marker: str, when: str
) -> None:
    """A refresher process that announces the kill point and then hangs there until SIGKILLed."""

    def hang() -> None:
        Path(marker).write_text(when)
        time.sleep(600)

    oauth = spiris_oauth(sandbox_url)
    refresher = Refresh(
        oauth,
        before=hang if when == "before" else None,
        after=(lambda _: hang()) if when == "after" else None,
    )
    ensure_fresh(
        KubeApi(k8s.ApiClient(configuration)),
        connection=connection,
        refresher=refresher,
        margin=ALWAYS_DUE,
        lease=timedelta(seconds=1),
        holder="dead-replica",
        refresh_timeout=1,
        persist_budget=1,
    )


def _kill_refresher_at(
    when: str, kube: KubeApi, connection: dict[str, Any], sandbox: SandboxServer, tmp_path: Path
) -> None:
    marker = tmp_path / "at-kill-point"
    context = multiprocessing.get_context("fork")
    child = context.Process(
        target=_child_refresh,
        args=(kube.api_client.configuration, connection, sandbox.url, str(marker), when),
    )
    child.start()
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline and child.is_alive(), "the refresher never reached the kill point"
        time.sleep(0.05)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)


def test_sigkill_after_the_claim_before_the_spiris_call_recovers(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    connection, original = _consented(kube, kube_namespace, sandbox)
    _kill_refresher_at("before", kube, connection, sandbox, tmp_path)
    assert LEASE_ANNOTATION in _annotations(kube, kube_namespace)  # the dead process's claim is left behind

    started = time.monotonic()
    outcome = _refresh(kube, connection, Refresh(spiris_oauth(sandbox.url)), holder="restarted")
    assert outcome.refreshed and time.monotonic() - started < 15  # waited only for the dead claim to lapse
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


def test_sigkill_after_spiris_rotated_before_the_write_is_named_not_misread(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The one window no client-side protocol closes: Spiris rotated, the process died before its PUT. The
    successor must say so (RefreshInterrupted, from the journal on the Secret), not report a revoked consent,
    and must not spin."""
    connection, _ = _consented(kube, kube_namespace, sandbox)
    _kill_refresher_at("after", kube, connection, sandbox, tmp_path)
    assert JOURNAL_ANNOTATION in _annotations(kube, kube_namespace)
    with pytest.raises(RefreshInterrupted) as caught:
        _refresh(kube, connection, Refresh(spiris_oauth(sandbox.url)), holder="restarted", persist_budget=2)
    assert isinstance(caught.value, ConsentRequired)
    assert CONSENT_MARKERS.items() <= _annotations(kube, kube_namespace).items()


def test_refresh_keeps_the_consent_markers_and_an_access_only_key(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer
) -> None:
    connection, original = _consented(kube, kube_namespace, sandbox)
    outcome = _refresh(kube, connection, Refresh(spiris_oauth(sandbox.url)))
    secret = kube.api_client.sanitize_for_serialization(
        kube.core.read_namespaced_secret("acme-spiris-token", kube_namespace)
    )
    import base64

    access = TokenSet.from_json(base64.b64decode(secret["data"][token_secret.ACCESS_TOKEN_KEY]))
    assert access.access_token == outcome.stored.token.access_token and access.refresh_token is None
    _assert_live_and_kept(kube, kube_namespace, sandbox, original)


def test_a_secret_without_the_access_only_key_gets_one(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer
) -> None:
    connection = create_connection(kube, kube_namespace, "acme")
    token = consent_token(sandbox.url)
    legacy = token_secret.build_manifest(connection=connection, token=token)
    del legacy["data"][token_secret.ACCESS_TOKEN_KEY]
    kube.core.create_namespaced_secret(kube_namespace, legacy)
    outcome = _refresh(kube, connection, Refresh(spiris_oauth(sandbox.url)), margin=timedelta(minutes=5))
    assert not outcome.refreshed
    raw = kube.api_client.sanitize_for_serialization(
        kube.core.read_namespaced_secret("acme-spiris-token", kube_namespace)
    )
    assert token_secret.has_current_access_copy(raw, token)
