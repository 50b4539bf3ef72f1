"""The web component's view of Kubernetes: read a SpirisConnection, write its token Secret.

Uses the official `kubernetes` client with an explicit kubeconfig (local stack, tests) or the in-cluster
service account. The web ServiceAccount may only get/list SpirisConnections and get/create/update Secrets, so
this module does exactly that. The token Secret is built by `spiris_connection.token_secret` (name, owner,
labels, `token.json`); the web adds two annotations recording which consent link and which OAuth state
produced it, which makes a link and a state single-use even before the operator marks the connection Ready.
Errors never carry request or response bodies (they may echo Secret data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from spiris_client.oauth import TokenSet
from spiris_connection import token_secret

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
PLURAL = "spirisconnections"
LINK_ANNOTATION = "spiris.senseworks.io/consent-link-jti"
STATE_ANNOTATION = "spiris.senseworks.io/consent-state-jti"
REQUEST_TIMEOUT_SECONDS = 10


class KubernetesUnavailable(Exception):
    """The Kubernetes API could not be reached or answered with an unexpected error."""


class SecretChangedConcurrently(Exception):
    """The token Secret changed between read and replace (another consent or the operator won the race)."""


@dataclass(frozen=True)
class ConsentRecord:
    """Which consent link and OAuth state last wrote the token Secret (empty strings when unknown)."""

    link_jti: str
    state_jti: str


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
        annotations = secret.metadata.annotations or {}
        return ConsentRecord(
            link_jti=str(annotations.get(LINK_ANNOTATION, "")),
            state_jti=str(annotations.get(STATE_ANNOTATION, "")),
        )

    def store_consented_token(
        self, *, connection: Mapping[str, Any], token: TokenSet, link_jti: str, state_jti: str
    ) -> None:
        """Create the token Secret, or replace it (at the version just read) on re-consent."""
        manifest = token_secret.build_manifest(connection=connection, token=token)
        metadata = manifest["metadata"]
        metadata["annotations"] = {LINK_ANNOTATION: link_jti, STATE_ANNOTATION: state_jti}
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        try:
            with _kubernetes_errors("creating the token Secret", allow=(409,)):
                self._core.create_namespaced_secret(
                    namespace, cast(Any, manifest), _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            return
        except ApiException:
            pass  # it exists already: this is a re-consent, replace it below
        current = self._read_secret(namespace=namespace, connection_name=str(connection["metadata"]["name"]))
        if current is None:
            raise SecretChangedConcurrently("the token Secret vanished between create and replace")
        metadata["resourceVersion"] = current.metadata.resource_version
        try:
            with _kubernetes_errors("replacing the token Secret", allow=(409,)):
                self._core.replace_namespaced_secret(
                    name, namespace, cast(Any, manifest), _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
        except ApiException:
            raise SecretChangedConcurrently("the token Secret changed while it was replaced") from None

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
