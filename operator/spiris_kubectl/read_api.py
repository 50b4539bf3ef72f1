"""Calls to `spiris-api` on behalf of the plugin's user (their own bearer token; the API asks Kubernetes
whether they may read the connection). The API's base URL is `--api-url` or `$SPIRIS_READ_API_URL`."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx

from spiris_kubectl.cluster import PluginError
from spiris_kubectl.year_ref import YearRef


class ReadApi:
    def __init__(self, base_url: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=60,
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
            follow_redirects=False,
        )

    def _path(self, namespace: str, name: str, tail: str = "") -> str:
        quote = urllib.parse.quote
        return f"/api/v1/namespaces/{quote(namespace, safe='')}/connections/{quote(name, safe='')}{tail}"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:200]
            raise PluginError(f"read API: {response.status_code} {detail}")
        return response.json()

    def vouchers(self, namespace: str, name: str, year: YearRef, **query: str) -> Any:
        return self._json("GET", self._path(namespace, name, f"/fiscal-years/{year}/vouchers"), params=query)

    def voucher(self, namespace: str, name: str, voucher_id: str) -> Any:
        return self._json("GET", self._path(namespace, name, f"/vouchers/{voucher_id}"))

    def content_link(self, namespace: str, name: str, document_id: str) -> Any:
        return self._json(
            "GET",
            self._path(namespace, name, f"/documents/{document_id}/content"),
            params={"redirect": "false"},
        )

    def viewer_link(self, namespace: str, name: str, year: YearRef) -> Any:
        return self._json("POST", self._path(namespace, name, f"/fiscal-years/{year}/viewer-links"))

    def sie(self, namespace: str, name: str, year: YearRef) -> bytes:
        response = self._client.get(self._path(namespace, name, f"/fiscal-years/{year}/sie"))
        if response.status_code >= 400:
            raise PluginError(f"read API: {response.status_code} {response.text[:200]}")
        return response.content
