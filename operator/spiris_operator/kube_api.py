"""The operator's synchronous view of the Kubernetes API (kubernetes client), used from worker threads.

Kopf drives the handlers; the plain reconcile functions read and write through this small facade so they can
run in a thread and be tested against the local API emulator. The client is built from an explicit kubeconfig
path (or the in-cluster config), never from whatever ``$KUBECONFIG`` held when ``kubernetes`` was imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

__all__ = ["GROUP", "VERSION", "KubeApi", "connect"]

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
#: Seconds before an API call is abandoned (the reconcile loop retries; a hung call must not block it).
REQUEST_TIMEOUT = 30
CONNECTIONS = "spirisconnections"
SYNCS = "fiscalyearsyncs"


def connect(kubeconfig: str | None) -> KubeApi:
    """A client for ``kubeconfig``; in a pod without one, the in-cluster service account."""
    if kubeconfig:
        api_client = k8s_config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    else:
        configuration = k8s.Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        api_client = k8s.ApiClient(configuration)
    return KubeApi(api_client)


def _plain(api_client: k8s.ApiClient, obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = api_client.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    return result


@dataclass
class KubeApi:
    """Typed shortcuts over one ApiClient; objects go in and out as plain dicts."""

    api_client: k8s.ApiClient

    def __post_init__(self) -> None:
        self.core = k8s.CoreV1Api(self.api_client)
        self.batch = k8s.BatchV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]

    # custom resources
    def get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _plain(
                self.api_client,
                self.custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, name, _request_timeout=REQUEST_TIMEOUT
                ),
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list_custom(
        self, plural: str, namespace: str | None, *, selector: str | None = None
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"_request_timeout": REQUEST_TIMEOUT}
        if selector:
            kwargs["label_selector"] = selector
        if namespace is None:
            body = self.custom.list_cluster_custom_object(GROUP, VERSION, plural, **kwargs)
        else:
            body = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural, **kwargs)
        return list(_plain(self.api_client, body).get("items") or [])

    def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"status": dict(status)},
            _request_timeout=REQUEST_TIMEOUT,
        )

    def patch_metadata(self, plural: str, namespace: str, name: str, metadata: Mapping[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"metadata": dict(metadata)},
            _request_timeout=REQUEST_TIMEOUT,
        )

    def create_custom(self, plural: str, namespace: str, body: Mapping[str, Any]) -> bool:
        """Create; False if it already exists."""
        try:
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, dict(body), _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def delete_custom(self, plural: str, namespace: str, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    # jobs
    def list_jobs(self, namespace: str | None, *, selector: str) -> list[dict[str, Any]]:
        if namespace is None:
            body = self.batch.list_job_for_all_namespaces(
                label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            )
        else:
            body = self.batch.list_namespaced_job(
                namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            )
        return list(_plain(self.api_client, body).get("items") or [])

    def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _plain(
                self.api_client,
                self.batch.read_namespaced_job(name, namespace, _request_timeout=REQUEST_TIMEOUT),
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def create_job(self, body: Mapping[str, Any]) -> bool:
        """Create; False if a Job of that name already exists (the duplicate guard)."""
        try:
            self.batch.create_namespaced_job(
                body["metadata"]["namespace"], cast(Any, dict(body)), _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True
