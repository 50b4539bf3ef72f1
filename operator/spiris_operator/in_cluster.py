"""In-cluster login: the pod's service-account token towards the API server address Kubernetes gives the pod.

Kopf's own ``login_with_service_account`` always names ``https://kubernetes.default.svc``, which needs cluster
DNS; client-go (``rest.InClusterConfig``) and the official Python client use ``KUBERNETES_SERVICE_HOST`` and
``KUBERNETES_SERVICE_PORT`` instead, which every pod gets, host-network pods on nodes without cluster DNS
included. This keeps Kopf's token, CA and namespace handling and takes the address from those variables.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import kopf

__all__ = ["api_server_url", "login_with_service_account"]


def api_server_url(env: Mapping[str, str]) -> str | None:
    """``https://host:port`` from the pod's service variables (IPv6 hosts in brackets), or None."""
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{port}"


def login_with_service_account(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Kopf's service-account login with the API server address of the pod's environment."""
    info = kopf.login_with_service_account(**kwargs)
    server = api_server_url(os.environ)
    if info is None or server is None:
        return info
    replaced: kopf.ConnectionInfo = dataclasses.replace(info, server=server)
    return replaced
