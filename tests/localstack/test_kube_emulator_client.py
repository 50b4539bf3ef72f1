"""The emulator's API-server semantics, one by one, through the official kubernetes Python client."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest
import yaml
from kubernetes.client import ApiException, CoreV1Api, CustomObjectsApi
from spiris_localstack.kube_server import KubeServer

from .kube_testing import GROUP, PLURAL, VERSION, WIDGET_CRD, api_client, ensure_widget_crd, widget

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def client(kube_server: KubeServer) -> Iterator[kubernetes.client.ApiClient]:
    ensure_widget_crd(kube_server)
    with api_client(kube_server) as api:
        yield api


@pytest.fixture
def core(client: kubernetes.client.ApiClient) -> CoreV1Api:
    return CoreV1Api(client)


@pytest.fixture
def custom(client: kubernetes.client.ApiClient) -> CustomObjectsApi:
    return CustomObjectsApi(client)


def create_widget(custom: CustomObjectsApi, namespace: str, name: str, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, widget(name, **kwargs))
    return result


def get_widget(custom: CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return result


def test_create_sets_identity_and_versions(custom: CustomObjectsApi, kube_namespace: str) -> None:
    first = create_widget(custom, kube_namespace, "a")
    second = create_widget(custom, kube_namespace, "b")
    meta = first["metadata"]
    assert len(meta["uid"]) == 36 and meta["uid"] != second["metadata"]["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert first["kind"] == "Widget" and first["apiVersion"] == f"{GROUP}/{VERSION}"
    with pytest.raises(ApiException) as info:
        create_widget(custom, kube_namespace, "a")
    assert info.value.status == 409


def test_generation_bumps_on_spec_changes_only(custom: CustomObjectsApi, kube_namespace: str) -> None:
    create_widget(custom, kube_namespace, "w")
    custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w",
                                          {"metadata": {"labels": {"x": "y"}}})
    assert get_widget(custom, kube_namespace, "w")["metadata"]["generation"] == 1
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, kube_namespace, PLURAL, "w",
                                                 {"status": {"phase": "Ready"}})
    assert get_widget(custom, kube_namespace, "w")["metadata"]["generation"] == 1
    custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", {"spec": {"size": 2}})
    assert get_widget(custom, kube_namespace, "w")["metadata"]["generation"] == 2


def test_noop_patch_keeps_resource_version(custom: CustomObjectsApi, kube_namespace: str) -> None:
    created = create_widget(custom, kube_namespace, "w", spec={"size": 1})
    patched = custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w",
                                                    {"spec": {"size": 1}})
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_put_replaces_and_stale_resource_version_conflicts(custom: CustomObjectsApi,
                                                           kube_namespace: str) -> None:
    created = create_widget(custom, kube_namespace, "w")
    body = get_widget(custom, kube_namespace, "w")
    body["spec"] = {"size": 5}
    replaced = custom.replace_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", body)
    assert replaced["spec"] == {"size": 5}
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]

    body["spec"] = {"size": 6}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as info:
        custom.replace_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", body)
    assert info.value.status == 409
    assert "the object has been modified" in info.value.body

    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "spec": {"size": 7}}
    with pytest.raises(ApiException) as info:
        custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", stale)
    assert info.value.status == 409
    assert get_widget(custom, kube_namespace, "w")["spec"] == {"size": 5}


def test_json_patch_test_failure_is_422(custom: CustomObjectsApi, kube_namespace: str) -> None:
    created = create_widget(custom, kube_namespace, "w")
    rv = created["metadata"]["resourceVersion"]
    # The shape of Kopf's finalizer patch: a `test` on the resourceVersion, then the change.
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
           {"op": "add", "path": "/metadata/finalizers", "value": ["test/fin"]}]
    json_patch = "application/json-patch+json"
    patched = custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", ops,
                                                    _content_type=json_patch)
    assert patched["metadata"]["finalizers"] == ["test/fin"]

    with pytest.raises(ApiException) as info:
        custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", ops,
                                              _content_type=json_patch)
    assert info.value.status == 422
    assert get_widget(custom, kube_namespace, "w")["metadata"]["finalizers"] == ["test/fin"]


def test_status_subresource_isolation(custom: CustomObjectsApi, kube_namespace: str) -> None:
    create_widget(custom, kube_namespace, "w")
    custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w",
                                          {"spec": {"size": 3}, "status": {"phase": "Sneaky"}})
    assert "status" not in get_widget(custom, kube_namespace, "w")

    custom.patch_namespaced_custom_object_status(GROUP, VERSION, kube_namespace, PLURAL, "w",
                                                 {"spec": {"size": 99}, "status": {"phase": "Ready"}})
    current = get_widget(custom, kube_namespace, "w")
    assert current["status"] == {"phase": "Ready"}
    assert current["spec"] == {"size": 3}

    current["status"] = {"phase": "Replaced"}
    current["spec"] = {"size": 4}
    custom.replace_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "w", current)
    after = get_widget(custom, kube_namespace, "w")
    assert after["status"] == {"phase": "Ready"} and after["spec"] == {"size": 4}


@pytest.mark.parametrize(("selector", "expected"), [
    ("tier=web", ["a", "b"]),
    ("tier==web", ["a", "b"]),
    ("tier!=web", ["c", "d"]),
    ("tier in (web,db)", ["a", "b", "c"]),
    ("tier notin (web,db)", ["d"]),
    ("tier", ["a", "b", "c"]),
    ("!tier", ["d"]),
    ("tier=web,env=prod", ["a"]),
])
def test_label_selectors(core: CoreV1Api, kube_namespace: str, selector: str, expected: list[str]) -> None:
    labels = {"a": {"tier": "web", "env": "prod"}, "b": {"tier": "web"}, "c": {"tier": "db"}, "d": {}}
    for name, labelset in labels.items():
        core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": name, "labels": labelset}})
    found = core.list_namespaced_config_map(kube_namespace, label_selector=selector)
    assert [item.metadata.name for item in found.items] == expected


def test_field_selectors(core: CoreV1Api, kube_namespace: str) -> None:
    for name in ("one", "two"):
        core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": name}})
    by_name = core.list_namespaced_config_map(kube_namespace, field_selector="metadata.name=two")
    assert [item.metadata.name for item in by_name.items] == ["two"]
    not_name = core.list_namespaced_config_map(kube_namespace, field_selector="metadata.name!=two")
    assert [item.metadata.name for item in not_name.items] == ["one"]
    in_namespace = f"metadata.namespace={kube_namespace}"
    everywhere = core.list_config_map_for_all_namespaces(field_selector=in_namespace)
    assert sorted(item.metadata.name for item in everywhere.items) == ["one", "two"]


def test_list_has_kind_and_api_version_and_core_group_is_v1(kube_server: KubeServer,
                                                           kube_namespace: str) -> None:
    listing = httpx.get(f"{kube_server.url}/api/v1/namespaces/{kube_namespace}/secrets").json()
    assert listing["kind"] == "SecretList" and listing["apiVersion"] == "v1"
    assert int(listing["metadata"]["resourceVersion"]) > 0
    discovery = httpx.get(f"{kube_server.url}/api/v1").json()
    assert discovery["groupVersion"] == "v1"
    assert {"secrets", "namespaces", "pods", "configmaps"} <= {r["name"] for r in discovery["resources"]}
    groups = httpx.get(f"{kube_server.url}/apis").json()
    names = {group["name"] for group in groups["groups"]}
    assert {"batch", "coordination.k8s.io", "events.k8s.io", "spiris.senseworks.io"} <= names


def test_crds_from_the_repository_are_served(custom: CustomObjectsApi, kube_namespace: str) -> None:
    listing = custom.list_namespaced_custom_object("spiris.senseworks.io", "v1alpha1", kube_namespace,
                                                   "spirisconnections")
    assert listing["kind"] == "SpirisConnectionList" and listing["items"] == []


def test_namespaces_list_get_create(core: CoreV1Api) -> None:
    created = core.create_namespace({"metadata": {"name": "ns-probe", "labels": {"probe": "yes"}}})
    assert created.status.phase == "Active"
    assert core.read_namespace("ns-probe").metadata.uid == created.metadata.uid
    names = [ns.metadata.name for ns in core.list_namespace(label_selector="probe=yes").items]
    assert names == ["ns-probe"]
    assert "default" in [ns.metadata.name for ns in core.list_namespace().items]
    core.delete_namespace("ns-probe")
    with pytest.raises(ApiException) as info:
        core.read_namespace("ns-probe")
    assert info.value.status == 404


def test_create_in_missing_namespace_is_404(core: CoreV1Api) -> None:
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    assert info.value.status == 404


def test_watch_stream_is_json_and_filters_by_labels(kube_server: KubeServer, core: CoreV1Api,
                                                     kube_namespace: str) -> None:
    with httpx.stream("GET", f"{kube_server.url}/api/v1/namespaces/{kube_namespace}/configmaps",
                      params={"watch": "true", "timeoutSeconds": "1"}) as response:
        assert response.headers["content-type"].startswith("application/json")

    events: list[tuple[str, str]] = []
    ready = threading.Event()

    def consume() -> None:
        watch = kubernetes.watch.Watch()
        ready.set()
        for event in watch.stream(core.list_namespaced_config_map, kube_namespace, label_selector="app=x",
                                  timeout_seconds=3):
            events.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                watch.stop()

    consumer = threading.Thread(target=consume)
    consumer.start()
    ready.wait()
    core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": "other"}})
    core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": "mine", "labels": {"app": "x"}}})
    core.patch_namespaced_config_map("mine", kube_namespace, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("mine", kube_namespace)
    consumer.join(timeout=10)
    assert events == [("ADDED", "mine"), ("MODIFIED", "mine"), ("DELETED", "mine")]


def test_watch_resumes_from_resource_version(kube_server: KubeServer, core: CoreV1Api,
                                             kube_namespace: str) -> None:
    listing = core.list_namespaced_config_map(kube_namespace)
    core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": "later"}})
    lines = []
    with httpx.stream("GET", f"{kube_server.url}/api/v1/namespaces/{kube_namespace}/configmaps",
                      params={"watch": "1", "timeoutSeconds": "1",
                              "resourceVersion": listing.metadata.resource_version}) as response:
        lines = [line for line in response.iter_lines() if line]
    assert len(lines) == 1 and '"ADDED"' in lines[0] and '"later"' in lines[0]


def test_generate_name(core: CoreV1Api, kube_namespace: str) -> None:
    created = core.create_namespaced_config_map(kube_namespace, {"metadata": {"generateName": "run-"}})
    assert created.metadata.name.startswith("run-") and len(created.metadata.name) == len("run-") + 5


def test_secret_string_data_is_folded(core: CoreV1Api, kube_namespace: str) -> None:
    core.create_namespaced_secret(kube_namespace, {"metadata": {"name": "tok"},
                                                   "stringData": {"token.json": '{"a": 1}'}})
    secret = core.read_namespaced_secret("tok", kube_namespace)
    assert secret.string_data is None
    assert base64.b64decode(secret.data["token.json"]) == b'{"a": 1}'
    assert secret.type == "Opaque"
    core.patch_namespaced_secret("tok", kube_namespace, {"stringData": {"extra": "x"}})
    data = core.read_namespaced_secret("tok", kube_namespace).data
    assert sorted(data) == ["extra", "token.json"]


def test_delete_returns_object_and_honours_preconditions(custom: CustomObjectsApi,
                                                         kube_namespace: str) -> None:
    created = create_widget(custom, kube_namespace, "gone")
    with pytest.raises(ApiException) as info:
        custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "gone",
                                               body={"preconditions": {"uid": "nope"}})
    assert info.value.status == 409
    deleted = custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "gone")
    assert deleted["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(ApiException) as info:
        custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "gone")
    assert info.value.status == 404


def test_finalizers_hold_deletion_until_removed(custom: CustomObjectsApi, kube_namespace: str) -> None:
    create_widget(custom, kube_namespace, "held", finalizers=["test/hold"])
    custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "held")
    marked = get_widget(custom, kube_namespace, "held")
    assert marked["metadata"]["deletionTimestamp"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "held",
                                          {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as info:
        get_widget(custom, kube_namespace, "held")
    assert info.value.status == 404


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def test_owner_reference_garbage_collection(core: CoreV1Api, custom: CustomObjectsApi,
                                            kube_namespace: str) -> None:
    owner = create_widget(custom, kube_namespace, "owner", finalizers=["test/hold"])
    other = create_widget(custom, kube_namespace, "other")
    core.create_namespaced_secret(kube_namespace, {"metadata": {"name": "owned",
                                                                "ownerReferences": [owner_ref(owner)]}})
    core.create_namespaced_config_map(kube_namespace, {"metadata": {
        "name": "shared", "ownerReferences": [owner_ref(owner), {**owner_ref(other), "controller": False}]}})

    custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "owner")
    assert core.read_namespaced_secret("owned", kube_namespace)  # owner still finalizing: nothing collected

    custom.patch_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "owner",
                                          {"metadata": {"finalizers": []}})
    with pytest.raises(ApiException) as info:
        core.read_namespaced_secret("owned", kube_namespace)
    assert info.value.status == 404
    shared = core.read_namespaced_config_map("shared", kube_namespace)
    assert [ref.name for ref in shared.metadata.owner_references] == ["other"]


def test_orphan_propagation_keeps_dependents(core: CoreV1Api, custom: CustomObjectsApi,
                                             kube_namespace: str) -> None:
    owner = create_widget(custom, kube_namespace, "owner")
    core.create_namespaced_secret(kube_namespace, {"metadata": {"name": "kept",
                                                                "ownerReferences": [owner_ref(owner)]}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, PLURAL, "owner",
                                           propagation_policy="Orphan")
    assert not core.read_namespaced_secret("kept", kube_namespace).metadata.owner_references


def test_namespace_deletion_cascades(core: CoreV1Api, kube_server: KubeServer) -> None:
    kube_server.create_namespace("doomed")
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "inside"}})
    core.delete_namespace("doomed")
    assert core.list_namespaced_config_map("doomed").items == []
    with pytest.raises(ApiException):
        core.read_namespace("doomed")


def test_crds_are_loaded_from_a_directory(tmp_path: Path) -> None:
    crd = {**WIDGET_CRD, "metadata": {"name": "gizmos.test.spiris.local"},
           "spec": {**WIDGET_CRD["spec"], "names": {"kind": "Gizmo", "plural": "gizmos", "singular": "gizmo"},
                    "scope": "Cluster"}}
    (tmp_path / "gizmo.yaml").write_text(yaml.safe_dump(crd) + "---\n" + yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-a-crd"}}))
    with KubeServer(crd_dirs=[tmp_path]) as server:
        created = server.request("POST", f"/apis/{GROUP}/{VERSION}/gizmos",
                                 json={"apiVersion": f"{GROUP}/{VERSION}", "kind": "Gizmo",
                                       "metadata": {"name": "g"}})
        assert created["kind"] == "Gizmo" and "namespace" not in created["metadata"]
        names = [item["metadata"]["name"] for item in
                 server.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]]
        assert names == ["gizmos.test.spiris.local"]
        with pytest.raises(httpx.HTTPStatusError) as info:
            server.request("GET", "/apis/spiris.senseworks.io/v1alpha1/spirisconnections")
        assert info.value.response.status_code == 404


def test_deleting_a_crd_stops_serving_it(kube_server: KubeServer) -> None:
    crd = {**WIDGET_CRD, "metadata": {"name": "gadgets.test.spiris.local"},
           "spec": {**WIDGET_CRD["spec"], "names": {"kind": "Gadget", "plural": "gadgets"}}}
    kube_server.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    assert kube_server.request("GET", f"/apis/{GROUP}/{VERSION}/gadgets")["items"] == []
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    kube_server.request("DELETE", f"{crds}/gadgets.test.spiris.local")
    with pytest.raises(httpx.HTTPStatusError) as info:
        kube_server.request("GET", f"/apis/{GROUP}/{VERSION}/gadgets")
    assert info.value.response.status_code == 404


def test_watch_reports_objects_entering_and_leaving_a_selector(kube_server: KubeServer, core: CoreV1Api,
                                                               kube_namespace: str) -> None:
    start = core.list_namespaced_config_map(kube_namespace).metadata.resource_version
    core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": "m"}})
    core.patch_namespaced_config_map("m", kube_namespace, {"metadata": {"labels": {"app": "x"}}})
    core.patch_namespaced_config_map("m", kube_namespace, {"data": {"k": "v"}})
    core.patch_namespaced_config_map("m", kube_namespace, {"metadata": {"labels": {"app": None}}})
    with httpx.stream("GET", f"{kube_server.url}/api/v1/namespaces/{kube_namespace}/configmaps",
                      params={"watch": "true", "timeoutSeconds": "1", "labelSelector": "app=x",
                              "resourceVersion": start}) as response:
        events = [json.loads(line)["type"] for line in response.iter_lines() if line]
    assert events == ["ADDED", "MODIFIED", "DELETED"]


def test_bad_selector_is_400(core: CoreV1Api, kube_namespace: str) -> None:
    with pytest.raises(ApiException) as info:
        core.list_namespaced_config_map(kube_namespace, label_selector="tier in web")
    assert info.value.status == 400
