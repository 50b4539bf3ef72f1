"""The kubeconfig the plugin runs with, the kubectl way: `--kubeconfig`, else `$KUBECONFIG`, else
`~/.kube/config`; `--context` or the current context; `-n/--namespace` or the context's namespace or
`default`. The user's bearer token (when the kubeconfig has one: a ServiceAccount token, OIDC or an exec
plugin) is what the read API is called with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config


@dataclass
class KubeContext:
    api_client: k8s.ApiClient
    namespace: str
    bearer_token: str | None


def load(*, kubeconfig: str | None, context: str | None, namespace: str | None) -> KubeContext:
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    path = path.split(os.pathsep)[0]
    contexts, current = k8s_config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c["name"] == context), None) if context else current
    context_namespace = cast(dict[str, Any], (chosen or {}).get("context") or {}).get("namespace")
    api_client = cast(
        k8s.ApiClient,
        k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context
        ),
    )
    # Whatever the kubeconfig authenticates with (a token, OIDC, an exec plugin), the client ends up with one
    # header value under its BearerToken auth setting; client certificates give none.
    setting = api_client.configuration.auth_settings().get("BearerToken") or {}
    authorization = str(setting.get("value") or "")
    token = authorization.split(" ", 1)[1] if authorization.lower().startswith("bearer ") else None
    return KubeContext(
        api_client=api_client, namespace=namespace or context_namespace or "default", bearer_token=token
    )
