"""The web component's view of Kubernetes: read a SpirisConnection, write its token Secret.

Uses the official `kubernetes` client with an explicit kubeconfig (local stack, tests) or the in-cluster
service account. The web ServiceAccount may only get/list SpirisConnections, get/create/update Secrets and
create Events, so this module does exactly that. The token Secret is built by `spiris_connection.token_secret`
(name, owner, labels, `token.json`); the web adds two annotations recording which consent link and which OAuth
state produced it, which makes a link and a state single-use even before the operator marks the connection
Ready. A consent is written only over the Secret version the callback checked (created if there was none):
when another consent got there first, this one changes nothing, is recorded as an unused grant
(`spiris_connection.unused_grants`) and raises :class:`AlreadyConnected`. A consent refused after Spiris
granted it (the wrong company, a failed company check) is recorded the same way, plus a Warning Event on the
connection. Errors never carry request or response bodies (they may echo Secret data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from spiris_client.oauth import TokenSet
from spiris_connection import token_secret, unused_grants

from spiris_web.logging_json import logger

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
PLURAL = "spirisconnections"
LINK_ANNOTATION = "spiris.senseworks.io/consent-link-jti"
STATE_ANNOTATION = "spiris.senseworks.io/consent-state-jti"
REQUEST_TIMEOUT_SECONDS = 10
#: The reason of the Warning Event on a connection whose consent Spiris granted but we refused.
UNUSED_CONSENT_REASON = "ConsentNotUsed"
#: Re-tries of a write whose Secret changed without another consent in between (a token refresh, a note).
_UNRELATED_CHANGE_RETRIES = 5


class KubernetesUnavailable(Exception):
    """The Kubernetes API could not be reached or answered with an unexpected error."""


class SecretChangedConcurrently(Exception):
    """The token Secret kept changing under the write (not another consent): try again later."""


class AlreadyConnected(Exception):
    """Another consent wrote the token Secret after this one was checked: this one changed nothing."""


@dataclass(frozen=True)
class ConsentRecord:
    """Which consent link and OAuth state last wrote the token Secret (empty strings when unknown), and the
    Secret's resourceVersion when it was read: the only version a new consent may replace."""

    link_jti: str
    state_jti: str
    resource_version: str = ""
    annotations: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GrantInfo:
    """The company a consent was given for (display values only), recorded if its token goes unused."""

    company: str
    orgnr: str
    company_id: str


@contextmanager
def _kubernetes_errors(action: str, *, allow: tuple[int, ...] = ()) -> Iterator[None]:
    """Translate client errors into KubernetesUnavailable, except the statuses the caller handles itself."""
    try:
        yield
    except ApiException as exc:
        if exc.status in allow:
            raise
        raise KubernetesUnavailable(f"{action} failed with HTTP {exc.status}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise KubernetesUnavailable(f"{action}: Kubernetes API unreachable ({type(exc).__name__})") from None


def api_client_for(kubeconfig: str | None) -> k8s.ApiClient:
    """An ApiClient for an explicit kubeconfig file, or for the pod's service account when None."""
    if kubeconfig:
        return cast(k8s.ApiClient, k8s_config.new_client_from_config(config_file=kubeconfig))  # type: ignore[no-untyped-call]
    configuration = k8s.Configuration()
    k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return k8s.ApiClient(configuration)


class ConnectionStore:
    """Reads SpirisConnections and writes token Secrets through one ApiClient."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self._custom = k8s.CustomObjectsApi(api_client)
        self._core = k8s.CoreV1Api(api_client)

    def get_connection(self, *, namespace: str, name: str) -> dict[str, Any] | None:
        """The SpirisConnection as a dict, or None when it does not exist."""
        try:
            with _kubernetes_errors("reading the SpirisConnection", allow=(404,)):
                result = self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
        except ApiException:
            return None

        return dict(cast(dict[str, Any], result))

    def consent_record(self, *, namespace: str, connection_name: str) -> ConsentRecord | None:
        """The consent annotations of the connection's token Secret; None when there is no Secret."""
        secret = self._read_secret(namespace=namespace, connection_name=connection_name)
        if secret is None:
            return None
        return _record_of(secret)

    def store_consented_token(
        self,
        *,
        connection: Mapping[str, Any],
        token: TokenSet,
        link_jti: str,
        state_jti: str,
        checked: ConsentRecord | None,
        grant: GrantInfo,
        now: datetime | None = None,
    ) -> None:
        """Write the consent over exactly what the callback checked: create when there was no Secret
        (``checked`` None), else replace that version. Another consent in between → the grant is recorded
        as unused and :class:`AlreadyConnected` raised; an unrelated change (a token refresh, an annotation)
        is re-read and written over, since the checked consent markers still stand."""
        connection_name = str(connection["metadata"]["name"])
        manifest = token_secret.build_manifest(connection=connection, token=token)
        metadata = manifest["metadata"]
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        markers = {LINK_ANNOTATION: link_jti, STATE_ANNOTATION: state_jti}
        if checked is None:
            metadata["annotations"] = markers
            try:
                with _kubernetes_errors("creating the token Secret", allow=(409,)):
                    self._core.create_namespaced_secret(
                        namespace, cast(Any, manifest), _request_timeout=REQUEST_TIMEOUT_SECONDS
                    )
                return
            except ApiException:
                pass  # created by another consent since the check: that one won
            self._record_unused(namespace=namespace, connection_name=connection_name, grant=grant, now=now)
            raise AlreadyConnected("another consent created the token Secret first")
        current = checked
        for _ in range(_UNRELATED_CHANGE_RETRIES):
            # A fresh consent replaces the refresh bookkeeping but keeps the record of unused grants.
            kept = {k: v for k, v in (current.annotations or {}).items() if k == unused_grants.ANNOTATION}
            metadata["annotations"] = {**kept, **markers}
            metadata["resourceVersion"] = current.resource_version
            try:
                with _kubernetes_errors("replacing the token Secret", allow=(404, 409)):
                    self._core.replace_namespaced_secret(
                        name, namespace, cast(Any, manifest), _request_timeout=REQUEST_TIMEOUT_SECONDS
                    )
                return
            except ApiException:
                pass
            latest = self._read_secret(namespace=namespace, connection_name=connection_name)
            if latest is None:
                raise SecretChangedConcurrently("the token Secret vanished during the consent")
            record = _record_of(latest)
            if (record.link_jti, record.state_jti) != (checked.link_jti, checked.state_jti):
                self._record_unused(
                    namespace=namespace, connection_name=connection_name, grant=grant, now=now
                )
                raise AlreadyConnected("another consent replaced the token Secret first")
            current = record
        raise SecretChangedConcurrently("the token Secret kept changing while it was replaced")

    def record_refused_grant(
        self, *, connection: Mapping[str, Any], grant: GrantInfo, why: str, now: datetime | None = None
    ) -> None:
        """A consent Spiris granted that we refused (wrong company, a company check): its grant stays live at
        Spiris. Noted on the token Secret when there is one (the operator surfaces it like any unused grant)
        and always as a Warning Event on the connection, which is the only record when the connection has no
        consent yet. Best effort, never raises: the person's page must still say what went wrong."""
        metadata = connection["metadata"]
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        at = now or datetime.now(UTC)
        if self._read_secret(namespace=namespace, connection_name=name) is not None:
            self._record_unused(namespace=namespace, connection_name=name, grant=grant, now=at)
        company = (f"{grant.company} ({grant.orgnr})" if grant.orgnr else grant.company)[:160]
        event = k8s.CoreV1Event(
            metadata=k8s.V1ObjectMeta(generate_name=f"{name[:40]}.consent-not-used-", namespace=namespace),
            involved_object=k8s.V1ObjectReference(
                api_version=f"{GROUP}/{VERSION}", kind="SpirisConnection", name=name, namespace=namespace,
                uid=str(metadata.get("uid") or ""),
            ),
            type="Warning",
            reason=UNUSED_CONSENT_REASON,
            message=(
                f"A consent was given at Spiris for {company} but not used ({why}). Ask that company to "
                "remove this integration in Spiris if nobody needs it, then send the consent link to the "
                "right person."
            ),
            first_timestamp=at,
            last_timestamp=at,
            count=1,
            source=k8s.V1EventSource(component="spiris-web"),
        )
        try:
            with _kubernetes_errors("recording a refused consent", allow=(403, 404, 409, 422)):
                self._core.create_namespaced_event(namespace, event, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        except (ApiException, KubernetesUnavailable) as exc:
            logger.warning("a refused consent could not be recorded as an Event",
                           extra={"namespace": namespace, "connection": name,
                                  "cause": type(exc).__name__})

    def _record_unused(
        self, *, namespace: str, connection_name: str, grant: GrantInfo, now: datetime | None
    ) -> None:
        """Add the discarded grant to the winner's Secret (CAS, keeping its data); best effort, never raises:
        the person's page must say "already connected" even when the note cannot be written."""
        at = now or datetime.now(UTC)
        for _ in range(_UNRELATED_CHANGE_RETRIES):
            try:
                secret = self._read_secret(namespace=namespace, connection_name=connection_name)
                if secret is None:
                    return
                secret.metadata.annotations = unused_grants.append(
                    secret.metadata.annotations, at=at, company=grant.company, orgnr=grant.orgnr,
                    company_id=grant.company_id,
                )
                with _kubernetes_errors("recording an unused consent", allow=(409,)):
                    self._core.replace_namespaced_secret(
                        secret.metadata.name, namespace, secret, _request_timeout=REQUEST_TIMEOUT_SECONDS
                    )
                return
            except ApiException:
                continue  # the operator refreshed meanwhile: read again
            except KubernetesUnavailable:
                break
        logger.warning("an unused consent could not be recorded on the token Secret",
                       extra={"namespace": namespace, "connection": connection_name})

    def ping(self) -> None:
        """Raise KubernetesUnavailable unless the SpirisConnection API answers."""
        with _kubernetes_errors("listing SpirisConnections"):
            self._custom.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, limit=1, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )

    def _read_secret(self, *, namespace: str, connection_name: str) -> Any:
        try:
            with _kubernetes_errors("reading the token Secret", allow=(404,)):
                return self._core.read_namespaced_secret(
                    token_secret.secret_name(connection_name),
                    namespace,
                    _request_timeout=REQUEST_TIMEOUT_SECONDS,
                )
        except ApiException:
            return None


def _record_of(secret: Any) -> ConsentRecord:
    annotations = {str(k): str(v) for k, v in (secret.metadata.annotations or {}).items()}
    return ConsentRecord(
        link_jti=annotations.get(LINK_ANNOTATION, ""),
        state_jti=annotations.get(STATE_ANNOTATION, ""),
        resource_version=str(secret.metadata.resource_version),
        annotations=annotations,
    )
