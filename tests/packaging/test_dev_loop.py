"""The skaffold development loop: its config points at real files, and the throwaway Postgres and MinIO of the
`with-deps` profile are wired to exactly the Secrets, keys, hosts and bucket the chart's dev values expect.

No Docker, skaffold or cluster runs here; the manifests are validated strictly and cross-checked instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import helm_python as helm
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate
from testkit.chart_render import CHART, KUBE_VERSIONS, containers, lint_findings, manifests, pod_specs
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(60)

DEV_NAMESPACE = "spiris-dev"


def _skaffold() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / "skaffold.yaml").read_text())
    return config


def _release() -> dict[str, Any]:
    [release] = _skaffold()["deploy"]["helm"]["releases"]
    return release


def _dev_values() -> dict[str, Any]:
    """The dev values as skaffold passes them, with the image skaffold would have built."""
    values: dict[str, Any] = yaml.safe_load((REPO / _release()["valuesFiles"][0]).read_text())
    values["image"].update(repository="spiris-operator", tag="a1b2c3d-dirty")
    return values


def _dev_deps() -> list[dict[str, Any]]:
    [profile] = [p for p in _skaffold()["profiles"] if p["name"] == "with-deps"]
    objects: list[dict[str, Any]] = []
    for path in profile["manifests"]["rawYaml"]:
        objects.extend(doc for doc in yaml.safe_load_all((REPO / path).read_text()) if doc)
    return objects


def _secret(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    [secret] = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == name]
    data: dict[str, str] = secret["stringData"]
    return data


def test_skaffold_builds_the_dockerfile_and_deploys_the_chart() -> None:
    config = _skaffold()
    assert re.fullmatch(r"skaffold/v4beta\d+", config["apiVersion"])
    assert config["kind"] == "Config"
    [artifact] = config["build"]["artifacts"]
    assert (REPO / artifact["context"] / artifact["docker"]["dockerfile"]).is_file()
    release = _release()
    assert (REPO / release["chartPath"] / "Chart.yaml").is_file()
    assert all((REPO / path).is_file() for path in release["valuesFiles"])
    assert release["namespace"] == DEV_NAMESPACE
    # skaffold exposes the built image as IMAGE_REPO_/IMAGE_TAG_<image name with non-alphanumerics as _>.
    key = re.sub(r"[^A-Za-z0-9]", "_", artifact["image"])
    assert release["setValueTemplates"] == {
        "image.repository": f"{{{{.IMAGE_REPO_{key}}}}}",
        "image.tag": f"{{{{.IMAGE_TAG_{key}}}}}",
    }


def test_dev_values_lint_and_render_valid_manifests() -> None:
    values = _dev_values()
    assert lint_findings(values) == []
    for obj in manifests(values, namespace=DEV_NAMESPACE):
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_port_forwards_name_services_the_chart_renders() -> None:
    services = {
        o["metadata"]["name"]: o
        for o in manifests(_dev_values(), namespace=DEV_NAMESPACE)
        if o["kind"] == "Service"
    }
    for forward in _skaffold()["portForward"]:
        assert forward["namespace"] == DEV_NAMESPACE
        service = services[forward["resourceName"]]
        assert forward["port"] in {p["port"] for p in service["spec"]["ports"]}
    web = next(f for f in _skaffold()["portForward"] if f["resourceName"].endswith("-web"))
    assert _dev_values()["publicUrl"] == f"http://localhost:{web['localPort']}"


def test_dev_dependencies_validate_strictly_and_live_in_the_dev_namespace() -> None:
    objects = _dev_deps()
    assert {o["kind"] for o in objects} == {"Namespace", "Secret", "Service", "Deployment", "Job"}
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == DEV_NAMESPACE
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)
    for name, pod in pod_specs(objects):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in containers(pod):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, name


def test_dev_secrets_carry_every_reference_of_the_dev_values() -> None:
    with helm.Chart.load(CHART) as chart:
        effective = chart.merge_values(_dev_values())
    oauth, s3 = effective["spiris"]["oauthClient"], effective["s3"]
    references = [
        (oauth["existingSecret"], oauth["clientIdKey"]),
        (oauth["existingSecret"], oauth["clientSecretKey"]),
        (effective["linkSigningKey"]["existingSecret"], effective["linkSigningKey"]["key"]),
        (effective["database"]["existingSecret"], effective["database"]["key"]),
        (s3["existingSecret"], s3["accessKeyKey"]),
        (s3["existingSecret"], s3["secretKeyKey"]),
    ]
    objects = _dev_deps()
    for secret_name, key in references:
        assert _secret(objects, secret_name).get(key), f"{secret_name} lacks {key}"
    signing = effective["linkSigningKey"]
    assert len(_secret(objects, signing["existingSecret"])[signing["key"]]) >= 16


def test_database_url_and_s3_endpoint_point_at_the_throwaway_services() -> None:
    values, objects = _dev_values(), _dev_deps()
    url = urlsplit(_secret(objects, "spiris-database")["database-url"])
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert url.scheme == "postgresql"
    assert url.hostname == f"spiris-dev-postgres.{DEV_NAMESPACE}.svc.cluster.local"
    assert url.port in {p["port"] for p in services["spiris-dev-postgres"]["spec"]["ports"]}
    assert url.password == _secret(objects, "spiris-database")["password"]
    [postgres] = _deployment(objects, "spiris-dev-postgres")["spec"]["template"]["spec"]["containers"]
    postgres_env = {e["name"]: e for e in postgres["env"]}
    assert postgres_env["POSTGRES_USER"]["value"] == url.username
    assert postgres_env["POSTGRES_DB"]["value"] == url.path.lstrip("/")
    host, _, port = values["s3"]["endpoint"].partition(":")
    assert host == f"spiris-dev-minio.{DEV_NAMESPACE}.svc.cluster.local"
    assert int(port) in {p["port"] for p in services["spiris-dev-minio"]["spec"]["ports"]}
    assert values["s3"]["secure"] is False
    job = next(o for o in objects if o["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"dev/{values['s3']['bucket']}" in script
    assert f"http://{values['s3']['endpoint']}" in script


def _deployment(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [deployment] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    return deployment
