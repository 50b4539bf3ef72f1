"""A container's environment, resolved the way a kubelet does.

Literal values, ``valueFrom`` (``secretKeyRef``, ``configMapKeyRef``, ``fieldRef``) and ``envFrom`` with their
``optional`` flags, ``$(VAR)`` references to earlier variables, and the service variables every pod gets
(``KUBERNETES_SERVICE_HOST``/``_PORT`` pointing at the API server, so in-cluster configuration works). The
base is what an image would set: the runner's ``PATH`` first (the local process mode runs the venv's console
scripts), ``HOME``/``TMPDIR`` at ``/tmp``. Nothing from the runner's own environment leaks in beyond that.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

from spiris_localstack.kube_client import JsonObj, KubeRest
from spiris_localstack.pod_volumes import PendingDependency, field_value

REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, unknown ones kept, ``$$`` escapes."""
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return REFERENCE.sub(substitute, value)


def _key(rest: KubeRest, namespace: str, plural: str, ref: JsonObj) -> str | None:
    obj = rest.get(f"/api/v1/namespaces/{namespace}/{plural}/{ref['name']}")
    data = (obj or {}).get("data") or {}
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise PendingDependency(f"{plural[:-1]} {ref['name']!r} key {ref['key']!r} not found")
    value = data[ref["key"]]
    return base64.b64decode(value).decode() if plural == "secrets" else str(value)


def container_env(pod: JsonObj, container: JsonObj, *, rest: KubeRest, base: Mapping[str, str],
                  api_host: str, api_port: int) -> dict[str, str]:
    """The environment of ``container`` in ``pod``.

    Raises ``PendingDependency`` while a source is missing.
    """
    namespace = pod["metadata"]["namespace"]
    env = dict(base)
    env.update(HOSTNAME=pod["metadata"]["name"], KUBERNETES_SERVICE_HOST=api_host,
               KUBERNETES_SERVICE_PORT=str(api_port), KUBERNETES_SERVICE_PORT_HTTPS=str(api_port),
               KUBERNETES_PORT=f"tcp://{api_host}:{api_port}")
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for plural, key in (("secrets", "secretRef"), ("configmaps", "configMapRef")):
            if key not in source:
                continue
            obj = rest.get(f"/api/v1/namespaces/{namespace}/{plural}/{source[key]['name']}")
            if obj is None:
                if source[key].get("optional"):
                    continue
                raise PendingDependency(f"{plural[:-1]} {source[key]['name']!r} not found")
            for name, value in (obj.get("data") or {}).items():
                env[prefix + name] = base64.b64decode(value).decode() if plural == "secrets" else str(value)
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)
            continue
        source = item.get("valueFrom") or {}
        resolved: str | None = ""
        if "secretKeyRef" in source:
            resolved = _key(rest, namespace, "secrets", source["secretKeyRef"])
        elif "configMapKeyRef" in source:
            resolved = _key(rest, namespace, "configmaps", source["configMapKeyRef"])
        elif "fieldRef" in source:
            resolved = field_value(pod, source["fieldRef"].get("fieldPath", ""))
        if resolved is not None:
            env[item["name"]] = resolved
    return env
