"""The token Secret on the real Kubernetes API server: manifest, parse, consent write, compare-and-swap."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from spiris_client.oauth import TokenSet
from spiris_connection import token_secret
from spiris_connection.token_secret import TokenSecretConflict, TokenSecretInvalid
from spiris_localstack.kube_cluster import LocalKube
from spiris_operator.kube_api import KubeApi, connect


def _token(n: int) -> TokenSet:
    return TokenSet(
        access_token=f"access-{n}-abcdef",
        refresh_token=f"refresh-{n}-abcdef",
        token_type="Bearer",
        expires_in=3600,
        expires_at=int(time.time()) + 3600,
    )


@pytest.fixture
def kube(kube_cluster: LocalKube) -> Iterator[KubeApi]:
    api = connect(kube_cluster.admin_kubeconfig)
    yield api
    api.close()


def _connection(kube: KubeApi, namespace: str) -> dict:
    body = {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": "SpirisConnection",
        "metadata": {"name": "acme", "namespace": namespace},
        "spec": {},
    }
    kube.custom.create_namespaced_custom_object(
        "spiris.senseworks.io", "v1alpha1", namespace, "spirisconnections", body
    )
    created = kube.get_custom("spirisconnections", namespace, "acme")
    assert created is not None
    return created


def test_manifest_names_labels_and_owner() -> None:
    connection = {"metadata": {"name": "acme", "namespace": "clients", "uid": "u-1"}}
    manifest = token_secret.build_manifest(connection=connection, token=_token(1))
    assert manifest["metadata"]["name"] == "acme-spiris-token"
    assert manifest["metadata"]["labels"]["spiris.senseworks.io/connection"] == "acme"
    assert manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "spiris-operator"
    owner = manifest["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("SpirisConnection", "u-1", True)
    stored = json.loads(base64.b64decode(manifest["data"]["token.json"]))
    assert stored["refresh_token"] == "refresh-1-abcdef" and isinstance(stored["expires_at"], int)
    assert token_secret.parse_secret(manifest).access_token == "access-1-abcdef"
    assert token_secret.connection_name_of(manifest) == "acme"


def test_unusable_secret_is_reported_without_its_content() -> None:
    for data in ({}, {"token.json": base64.b64encode(b"{not json").decode()}, {"token.json": "!!"}):
        with pytest.raises(TokenSecretInvalid) as err:
            token_secret.parse_secret({"data": data})
        assert "not json" not in str(err.value)


def test_consent_write_then_cas_replace(kube: KubeApi, kube_namespace: str) -> None:
    connection = _connection(kube, kube_namespace)
    first_version = token_secret.write_consented_token(kube.core, connection=connection, token=_token(1))
    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None and stored.resource_version == first_version
    assert stored.token.refresh_token == "refresh-1-abcdef"

    second_version = token_secret.replace_token(
        kube.core, connection=connection, token=_token(2), resource_version=first_version
    )
    assert second_version != first_version
    # A writer still holding the old version loses instead of overwriting the newer refresh token.
    with pytest.raises(TokenSecretConflict):
        token_secret.replace_token(
            kube.core, connection=connection, token=_token(3), resource_version=first_version
        )
    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None and stored.token.refresh_token == "refresh-2-abcdef"

    # Re-consent replaces whatever is stored.
    token_secret.write_consented_token(kube.core, connection=connection, token=_token(4))
    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None and stored.token.refresh_token == "refresh-4-abcdef"


def test_missing_secret_reads_as_none(kube: KubeApi, kube_namespace: str) -> None:
    assert token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="nobody") is None
