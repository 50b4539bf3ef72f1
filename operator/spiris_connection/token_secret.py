"""The token Secret: where one connection's OAuth tokens live, and the only place they live.

Name ``{connection}-spiris-token`` in the connection's namespace, owned by the SpirisConnection
(controller), labelled so the operator can watch it, with a single key ``token.json`` serialised by
``spiris_client``'s ``TokenSet``. The web component writes it at consent (create, or replace on re-consent);
the operator is the only one who refreshes, and every rotation is a PUT carrying the resourceVersion it read
(compare-and-swap), so two writers can never silently overwrite each other's refresh token. A second
key, ``access-token.json``, holds the same document without the refresh token: it is the only key a sync Job
mounts, because the worker never refreshes. Annotations on the Secret (the web's single-use consent
markers) survive every rotation. Nothing here ever puts a token into a log line or an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from spiris_client.oauth import TokenSet

__all__ = [
    "ACCESS_TOKEN_KEY",
    "CONNECTION_LABEL",
    "GROUP_VERSION",
    "TOKEN_KEY",
    "StoredToken",
    "TokenSecretConflict",
    "TokenSecretInvalid",
    "access_only",
    "build_manifest",
    "connection_name_of",
    "fingerprint",
    "has_current_access_copy",
    "labels",
    "owner_reference",
    "parse_secret",
    "read_token",
    "replace_token",
    "secret_name",
    "selector",
    "write_consented_token",
]

GROUP_VERSION = "spiris.senseworks.io/v1alpha1"
KIND = "SpirisConnection"
TOKEN_KEY = "token.json"
#: The access token alone (no refresh token): what a sync Job mounts.
ACCESS_TOKEN_KEY = "access-token.json"
CONNECTION_LABEL = "spiris.senseworks.io/connection"
_SUFFIX = "-spiris-token"
#: Seconds before a Kubernetes API call is abandoned.
REQUEST_TIMEOUT = 30
_STATIC_LABELS = {
    "app.kubernetes.io/managed-by": "spiris-operator",
    "app.kubernetes.io/part-of": "spiris",
}


class TokenSecretConflict(Exception):
    """The Secret changed since it was read (HTTP 409): someone else wrote a token first."""


class TokenSecretInvalid(Exception):
    """The Secret exists but holds no usable ``token.json`` (the message never includes its content)."""


@dataclass(frozen=True)
class StoredToken:
    """A token as read from the Secret, with the resourceVersion needed to replace it safely (and the
    Secret's annotations when it was read, e.g. the web's record of unused consents)."""

    token: TokenSet
    resource_version: str
    annotations: Mapping[str, str] = field(default_factory=dict, compare=False)


def secret_name(connection_name: str) -> str:
    """The token Secret's name for a connection."""
    return f"{connection_name}{_SUFFIX}"


def labels(connection_name: str) -> dict[str, str]:
    """Labels carried by every token Secret (the operator watches Secrets by them)."""
    return {**_STATIC_LABELS, CONNECTION_LABEL: connection_name}


def selector() -> str:
    """Label selector matching all token Secrets."""
    return f"app.kubernetes.io/managed-by=spiris-operator,{CONNECTION_LABEL}"


def connection_name_of(secret: Mapping[str, Any]) -> str | None:
    """The connection a token Secret belongs to, from its label; None for other Secrets."""
    metadata = secret.get("metadata") or {}
    value = (metadata.get("labels") or {}).get(CONNECTION_LABEL)
    return str(value) if value else None


def owner_reference(connection: Mapping[str, Any]) -> dict[str, Any]:
    """An ownerReference making the connection the controller of a child object."""
    metadata = connection["metadata"]
    return {
        "apiVersion": GROUP_VERSION,
        "kind": KIND,
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def fingerprint(token: str | None) -> str:
    """A short one-way digest of a token: lets annotations name a token without revealing it."""
    return hashlib.sha256((token or "").encode()).hexdigest()[:24]


def access_only(token: TokenSet) -> TokenSet:
    """``token`` without its refresh token (the Job's view)."""
    return TokenSet(
        access_token=token.access_token,
        refresh_token=None,
        token_type=token.token_type,
        expires_in=token.expires_in,
        expires_at=token.expires_at,
        scope=token.scope,
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def build_manifest(
    *,
    connection: Mapping[str, Any],
    token: TokenSet,
    resource_version: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Secret for ``connection`` holding ``token``; with ``resource_version`` it is a CAS replacement.

    ``annotations`` are carried as given (a replacement passes the ones it read, so markers survive).
    """
    metadata = connection["metadata"]
    name = str(metadata["name"])
    secret_metadata: dict[str, Any] = {
        "name": secret_name(name),
        "namespace": metadata["namespace"],
        "labels": labels(name),
        "ownerReferences": [owner_reference(connection)],
    }
    if annotations:
        secret_metadata["annotations"] = dict(annotations)
    if resource_version is not None:
        secret_metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": secret_metadata,
        "data": {TOKEN_KEY: _b64(token.to_json()), ACCESS_TOKEN_KEY: _b64(access_only(token).to_json())},
    }


def has_current_access_copy(secret: Mapping[str, Any], token: TokenSet) -> bool:
    """Whether the Secret's ``access-token.json`` holds ``token``'s access token (Secrets written before the
    key existed lack it: the operator rewrites them so Jobs can mount it)."""
    raw = (secret.get("data") or {}).get(ACCESS_TOKEN_KEY)
    if not raw:
        return False
    try:
        copy = TokenSet.from_json(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return False
    return copy.access_token == token.access_token and copy.refresh_token is None


def parse_secret(secret: Mapping[str, Any]) -> TokenSet:
    """The TokenSet in a Secret (``data`` base64, or ``stringData``); raises :class:`TokenSecretInvalid`."""
    data = secret.get("data") or {}
    string_data = secret.get("stringData") or {}
    try:
        if TOKEN_KEY in data:
            text = base64.b64decode(data[TOKEN_KEY], validate=True).decode()
        elif TOKEN_KEY in string_data:
            text = str(string_data[TOKEN_KEY])
        else:
            raise TokenSecretInvalid(f"the Secret has no key {TOKEN_KEY}")
        return TokenSet.from_json(text)
    except TokenSecretInvalid:
        raise
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise TokenSecretInvalid(f"the Secret's {TOKEN_KEY} is not a valid token document") from None


def read_token(api: k8s.CoreV1Api, *, namespace: str, connection_name: str) -> StoredToken | None:
    """Read the connection's token and resourceVersion; None if the Secret does not exist."""
    try:
        secret = api.read_namespaced_secret(
            secret_name(connection_name), namespace, _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    raw = cast(dict[str, Any], api.api_client.sanitize_for_serialization(secret))  # type: ignore[no-untyped-call]
    annotations = {str(k): str(v) for k, v in ((raw.get("metadata") or {}).get("annotations") or {}).items()}
    return StoredToken(
        token=parse_secret(raw), resource_version=str(_version(secret)), annotations=annotations
    )


def replace_token(
    api: k8s.CoreV1Api,
    *,
    connection: Mapping[str, Any],
    token: TokenSet,
    resource_version: str,
    annotations: Mapping[str, str] | None = None,
) -> str:
    """Replace the token only if the Secret is still at ``resource_version``; returns the new resourceVersion.

    Pass the ``annotations`` read with that version to keep them. Raises :class:`TokenSecretConflict` when
    another writer got there first: re-read and decide again.
    """
    manifest = build_manifest(
        connection=connection, token=token, resource_version=resource_version, annotations=annotations
    )
    name = manifest["metadata"]["name"]
    try:
        result = api.replace_namespaced_secret(
            name, manifest["metadata"]["namespace"], cast(Any, manifest), _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == 409:
            raise TokenSecretConflict(f"Secret {name} changed since it was read") from None
        raise _scrubbed(exc) from None
    return str(_version(result))


def write_consented_token(api: k8s.CoreV1Api, *, connection: Mapping[str, Any], token: TokenSet) -> str:
    """Store a token obtained at consent: create the Secret, or replace it on re-consent.

    A fresh consent supersedes whatever was stored, so on re-consent this replaces at the version it just
    read; a concurrent change makes it raise :class:`TokenSecretConflict` rather than overwrite blindly.
    """
    manifest = build_manifest(connection=connection, token=token)
    metadata = manifest["metadata"]
    try:
        result = api.create_namespaced_secret(
            metadata["namespace"], cast(Any, manifest), _request_timeout=REQUEST_TIMEOUT
        )
        return str(_version(result))
    except ApiException as exc:
        if exc.status != 409:
            raise _scrubbed(exc) from None
    current = api.read_namespaced_secret(
        metadata["name"], metadata["namespace"], _request_timeout=REQUEST_TIMEOUT
    )
    return replace_token(
        api,
        connection=connection,
        token=token,
        resource_version=str(_version(current)),
        annotations=(current.metadata.annotations if current.metadata else None) or None,
    )


def _scrubbed(exc: ApiException) -> ApiException:
    """An ApiException without the request/response body (which may echo the Secret's data)."""
    return ApiException(status=exc.status, reason=exc.reason)


def _version(obj: Any) -> str:
    """The resourceVersion of a kubernetes-client model object."""
    return str(obj.metadata.resource_version)
