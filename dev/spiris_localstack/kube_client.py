"""A small synchronous REST client for the local stack's own Kubernetes calls (node agent, fixtures).

The product talks to Kubernetes through the official client; the dev tooling needs only a handful of raw calls
(bind a pod, patch a status, stream a watch, request a token) and must not depend on the product's packages,
so it uses httpx with the plane's CA and a client certificate or bearer token.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

JsonObj = dict[str, Any]


class KubeRequestError(RuntimeError):
    """An API call answered with an error status; ``status`` and ``body`` say which and why."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: {status} {body[:300]}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class KubeCredentials:
    """Where the API server is and how to authenticate to it."""

    server: str
    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    token: str | None = None

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if self.cert_file is not None and self.key_file is not None:
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


class KubeRest:
    """Raw JSON calls against one API server; thread-safe (one httpx client, a connection pool)."""

    def __init__(self, credentials: KubeCredentials, *, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {credentials.token}"} if credentials.token else {}
        self.credentials = credentials
        self._client = httpx.Client(base_url=credentials.server, verify=credentials.ssl_context(),
                                    headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None,
             content_type: str = "application/json", allow: tuple[int, ...] = ()) -> JsonObj | None:
        """One call; the decoded body, None for an allowed error status, else ``KubeRequestError``."""
        content = json.dumps(body).encode() if body is not None else None
        response = self._client.request(method, path, content=content, params=params,
                                        headers={"Content-Type": content_type})
        if response.status_code in allow:
            return None
        if response.status_code >= 400:
            raise KubeRequestError(method, path, response.status_code, response.text)
        result: JsonObj = response.json() if response.content else {}
        return result

    def get(self, path: str) -> JsonObj | None:
        """The object at ``path``, or None when it does not exist."""
        return self.call("GET", path, allow=(404,))

    def merge_patch(self, path: str, patch: JsonObj, *, allow: tuple[int, ...] = (404,)) -> JsonObj | None:
        return self.call("PATCH", path, body=patch, content_type="application/merge-patch+json", allow=allow)

    def watch(self, path: str, *, resource_version: str, params: dict[str, str] | None = None,
              timeout_seconds: int = 60) -> Iterator[JsonObj]:
        """The events of one watch request (ends after ``timeout_seconds`` or when the server closes it)."""
        query = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                 "timeoutSeconds": str(timeout_seconds), **(params or {})}
        with self._client.stream("GET", path, params=query,
                                 timeout=httpx.Timeout(10.0, read=timeout_seconds + 10)) as response:
            if response.status_code >= 400:
                raise KubeRequestError("WATCH", path, response.status_code, response.read().decode())
            for line in response.iter_lines():
                if line:
                    yield json.loads(line)

    def service_account_token(self, namespace: str, name: str, *, audiences: list[str] | None = None,
                              expiration_seconds: int = 3600, bound_pod: JsonObj | None = None) -> str:
        """A TokenRequest for ServiceAccount ``namespace/name``.

        The token is bound to ``bound_pod`` when given, as a kubelet does.
        """
        spec: JsonObj = {"expirationSeconds": expiration_seconds}
        if audiences:
            spec["audiences"] = audiences
        if bound_pod is not None:
            spec["boundObjectRef"] = {"apiVersion": "v1", "kind": "Pod",
                                      "name": bound_pod["metadata"]["name"],
                                      "uid": bound_pod["metadata"]["uid"]}
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        result = self.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", body=body)
        assert result is not None
        return str(result["status"]["token"])
