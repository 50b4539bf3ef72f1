"""A pod's volumes written to a per-pod directory, as a kubelet materialises them.

Secret, ConfigMap, emptyDir and projected volumes (service-account token through the TokenRequest API bound to
the pod, ConfigMaps such as ``kube-root-ca.crt``, Secrets, the downward API) become directories under the
pod's own dir; the container process later sees each at its ``mountPath`` (``pod_process``). Files are
replaced atomically so a reader never sees half a token, and ``refresh`` rewrites them while the pod runs, the
way a kubelet keeps Secret volumes and projected tokens current. A missing non-optional Secret or ConfigMap
raises ``PendingDependency``: the pod waits for it, as on a node.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

from spiris_localstack.kube_client import JsonObj, KubeRest

DEFAULT_MODE = 0o644


class PendingDependency(Exception):
    """A Secret or ConfigMap (or one of its keys) the pod needs does not exist yet."""


def _read(rest: KubeRest, namespace: str, plural: str, name: str) -> JsonObj | None:
    return rest.get(f"/api/v1/namespaces/{namespace}/{plural}/{name}")


def _decoded(obj: JsonObj, *, secret: bool) -> dict[str, bytes]:
    if secret:
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return data


def _pick(
    data: dict[str, bytes], items: list[JsonObj] | None, *, what: str, optional: bool
) -> dict[str, bytes]:
    if not items:
        return data
    picked: dict[str, bytes] = {}
    for item in items:
        if item["key"] in data:
            picked[item["path"]] = data[item["key"]]
        elif not optional:
            raise PendingDependency(f"{what} has no key {item['key']!r}")
    return picked


class PodVolumes:
    """The volumes of one pod under ``root``; ``dirs`` maps volume name → local directory."""

    def __init__(self, pod: JsonObj, *, rest: KubeRest, root: Path, owner: tuple[int, int] | None) -> None:
        self.pod = pod
        self.rest = rest
        self.root = root
        self.owner = owner
        self.namespace = pod["metadata"]["namespace"]
        self.dirs: dict[str, Path] = {}

    def materialise(self) -> dict[str, Path]:
        """Write every volume (emptyDirs once, the rest each time); return name → directory."""
        for volume in self.pod["spec"].get("volumes") or []:
            target = self.root / "volumes" / volume["name"]
            if "emptyDir" in volume:
                if not target.exists():
                    target.mkdir(parents=True, mode=0o777)
                    target.chmod(0o1777 if self.owner is None else 0o770)
                    self._own(target)
            else:
                self._write(target, self._files(volume), volume)
            self.dirs[volume["name"]] = target
        return self.dirs

    def refresh(self) -> None:
        """Rewrite the Secret, ConfigMap and projected volumes (a running pod sees updates)."""
        for volume in self.pod["spec"].get("volumes") or []:
            if "emptyDir" not in volume and volume["name"] in self.dirs:
                try:
                    self._write(self.dirs[volume["name"]], self._files(volume), volume)
                except PendingDependency:
                    continue  # a kubelet keeps the last content when a source disappears

    # --- sources

    def _files(self, volume: JsonObj) -> dict[str, tuple[bytes, int]]:
        if "secret" in volume:
            return self._secret(volume["secret"])
        if "configMap" in volume:
            return self._config_map(volume["configMap"])
        if "projected" in volume:
            files: dict[str, tuple[bytes, int]] = {}
            default = volume["projected"].get("defaultMode", DEFAULT_MODE)
            for source in volume["projected"].get("sources") or []:
                files.update(self._projection(source, default))
            return files
        if "downwardAPI" in volume:
            return self._downward(volume["downwardAPI"].get("items") or [],
                                  volume["downwardAPI"].get("defaultMode", DEFAULT_MODE))
        raise PendingDependency(f"volume {volume['name']!r}: this node supports secret, configMap, emptyDir, "
                                "projected and downwardAPI volumes only")

    def _secret(self, source: JsonObj, default: int | None = None) -> dict[str, tuple[bytes, int]]:
        name = source.get("secretName") or source.get("name")
        obj = _read(self.rest, self.namespace, "secrets", str(name))
        if obj is None:
            if source.get("optional"):
                return {}
            raise PendingDependency(f"secret {name!r} not found")
        mode = source.get("defaultMode", default if default is not None else DEFAULT_MODE)
        data = _pick(_decoded(obj, secret=True), source.get("items"), what=f"secret {name!r}",
                     optional=bool(source.get("optional")))
        return {path: (content, mode) for path, content in data.items()}

    def _config_map(self, source: JsonObj, default: int | None = None) -> dict[str, tuple[bytes, int]]:
        name = source["name"]
        obj = _read(self.rest, self.namespace, "configmaps", name)
        if obj is None:
            if source.get("optional"):
                return {}
            raise PendingDependency(f"configmap {name!r} not found")
        mode = source.get("defaultMode", default if default is not None else DEFAULT_MODE)
        data = _pick(_decoded(obj, secret=False), source.get("items"), what=f"configmap {name!r}",
                     optional=bool(source.get("optional")))
        return {path: (content, mode) for path, content in data.items()}

    def _projection(self, source: JsonObj, default: int) -> dict[str, tuple[bytes, int]]:
        if "serviceAccountToken" in source:
            spec = source["serviceAccountToken"]
            audience = spec.get("audience")
            token = self.rest.service_account_token(
                self.namespace, self.pod["spec"].get("serviceAccountName") or "default",
                audiences=[audience] if audience else None,
                expiration_seconds=int(spec.get("expirationSeconds", 3607)), bound_pod=self.pod)
            return {spec["path"]: (token.encode(), default)}
        if "configMap" in source:
            return self._config_map(source["configMap"], default)
        if "secret" in source:
            return self._secret(source["secret"], default)
        if "downwardAPI" in source:
            return self._downward(source["downwardAPI"].get("items") or [], default)
        return {}

    def _downward(self, items: list[JsonObj], default: int) -> dict[str, tuple[bytes, int]]:
        files: dict[str, tuple[bytes, int]] = {}
        for item in items:
            field = (item.get("fieldRef") or {}).get("fieldPath", "")
            files[item["path"]] = (field_value(self.pod, field).encode(), item.get("mode", default))
        return files

    # --- writing

    def _write(self, target: Path, files: dict[str, tuple[bytes, int]], volume: JsonObj) -> None:
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o755)
        wanted: set[Path] = set()
        for relative, (content, mode) in files.items():
            path = target / relative
            if target.resolve() not in path.resolve().parents:
                raise PendingDependency(f"volume {volume['name']!r}: path {relative!r} leaves the volume")
            path.parent.mkdir(parents=True, exist_ok=True)
            staging = path.with_name(f".{path.name}.tmp")
            staging.write_bytes(content)
            staging.chmod(mode)
            self._own(staging)
            staging.replace(path)  # atomic: a reader never sees half a token
            wanted.add(path)
        for existing in target.rglob("*"):
            if existing.is_file() and existing not in wanted:
                existing.unlink(missing_ok=True)
        self._own(target)

    def _own(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, *self.owner)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def field_value(pod: JsonObj, field_path: str) -> str:
    """The downward-API value of ``field_path`` (the fields a kubelet supports for env and volumes)."""
    meta = pod["metadata"]
    spec = pod["spec"]
    simple: dict[str, object] = {
        "metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"), "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1",
    }
    if field_path in simple:
        return str(simple[field_path] or "")
    for prefix, source in (("metadata.labels", meta.get("labels") or {}),
                           ("metadata.annotations", meta.get("annotations") or {})):
        if field_path.startswith(prefix + "['") and field_path.endswith("']"):
            return str(source.get(field_path[len(prefix) + 2:-2], ""))
        if field_path == prefix:
            return "\n".join(f'{k}="{v}"' for k, v in sorted(source.items()))
    return ""
