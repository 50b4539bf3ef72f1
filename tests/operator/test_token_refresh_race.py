"""Two refreshers racing for one connection's token: exactly one refresh reaches Spiris, no token is lost.

Both run the operator's real refresh protocol (lease on the token Secret by compare-and-swap, refresh, CAS
write) in parallel threads with different holder identities — as two operator replicas would — against the API
emulator and the Spiris sandbox.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from spiris_client.oauth import SpirisOAuth, TokenSet
from spiris_connection import token_secret
from spiris_operator import token_refresher
from spiris_operator.kube_api import KubeApi
from spiris_operator.token_refresher import RefreshOutcome, ensure_fresh
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import consent_token, create_connection, spiris_oauth, store_consent
from testkit.sandbox_control import SandboxControl

pytestmark = pytest.mark.timeout(60)


class CountingRefresher:
    """The real OAuth refresher, counting calls and slowed down so both racers overlap for sure."""

    def __init__(self, oauth: SpirisOAuth) -> None:
        self.oauth = oauth
        self.calls = 0
        self._lock = threading.Lock()

    def refresh(self, refresh_token: str) -> TokenSet:
        with self._lock:
            self.calls += 1
        time.sleep(0.3)
        return self.oauth.refresh(refresh_token)


@pytest.mark.parametrize("topology", ["one-process", "two-replicas"])
def test_racing_refreshes_make_one_call_and_lose_nothing(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    topology: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if topology == "two-replicas":
        # Separate processes share no in-memory lock: only the lease on the Secret keeps them apart.
        monkeypatch.setattr(token_refresher, "_lock_for", lambda key: threading.Lock())
    connection = create_connection(kube, kube_namespace, "acme")
    original = consent_token(sandbox.url)
    store_consent(kube, connection, original)
    refresher = CountingRefresher(spiris_oauth(sandbox.url))
    barrier = threading.Barrier(2)
    results: dict[str, RefreshOutcome | BaseException | None] = {}

    def race(holder: str) -> None:
        barrier.wait()
        try:
            results[holder] = ensure_fresh(
                kube,
                connection=connection,
                refresher=refresher,
                margin=timedelta(hours=2),  # every token counts as expiring: both want to refresh
                lease=timedelta(seconds=30),
                holder=holder,
            )
        except BaseException as exc:  # surfaced by the assertions below
            results[holder] = exc

    threads = [threading.Thread(target=race, args=(holder,)) for holder in ("replica-a", "replica-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outcomes = [results["replica-a"], results["replica-b"]]
    assert all(isinstance(o, RefreshOutcome) for o in outcomes), outcomes
    a, b = (o for o in outcomes if isinstance(o, RefreshOutcome))
    assert refresher.calls == 1
    assert sandbox_control.refresh_grants() == 1
    assert sorted([a.refreshed, b.refreshed]) == [False, True]
    # The loser waited for the winner and uses the very token the winner stored.
    assert a.stored.token.access_token == b.stored.token.access_token != original.access_token

    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None
    assert stored.token.refresh_token == a.stored.token.refresh_token != original.refresh_token
    secret = kube.core.read_namespaced_secret("acme-spiris-token", kube_namespace)
    assert "spiris.senseworks.io/refresh-lease" not in (secret.metadata.annotations or {})

    # Nothing was lost: the stored refresh token is the live one at Spiris.
    assert stored.token.refresh_token is not None
    renewed = spiris_oauth(sandbox.url).refresh(stored.token.refresh_token)
    assert renewed.access_token


def test_fresh_token_is_not_refreshed(kube: KubeApi, kube_namespace: str, sandbox: SandboxServer) -> None:
    connection = create_connection(kube, kube_namespace, "acme")
    store_consent(kube, connection, consent_token(sandbox.url))
    refresher = CountingRefresher(spiris_oauth(sandbox.url))
    outcome = ensure_fresh(
        kube,
        connection=connection,
        refresher=refresher,
        margin=timedelta(minutes=5),
        lease=timedelta(seconds=30),
        holder="replica-a",
    )
    assert outcome is not None and not outcome.refreshed
    assert refresher.calls == 0


def test_no_secret_means_no_token(kube: KubeApi, kube_namespace: str, sandbox: SandboxServer) -> None:
    connection = create_connection(kube, kube_namespace, "acme")
    refresher = CountingRefresher(spiris_oauth(sandbox.url))
    outcome = ensure_fresh(
        kube,
        connection=connection,
        refresher=refresher,
        margin=timedelta(minutes=5),
        lease=timedelta(seconds=30),
        holder="replica-a",
    )
    assert outcome is None and refresher.calls == 0
