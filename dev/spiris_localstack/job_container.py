"""A Job's first container as a local process: its argv, environment, working dir and Secret volumes.

This is the kubelet's share of the local Job runner. Values come from the emulator through `read(plural,
name)` (an object in the Job's namespace, or None): env from literals, `secretKeyRef`, `configMapKeyRef`,
`fieldRef` and `envFrom`, honouring `optional`. Secret volumes are written into the run's private dir
(dirs 0700, files 0600, replaced atomically so a reader never sees half a token) and any env value or arg that
starts with a volume's `mountPath` is rewritten to that dir. A missing non-optional dependency raises
`PendingDependencyError`: the Job waits for it, as a Pod would.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

JsonObj = dict[str, Any]
Reader = Callable[[str, str], JsonObj | None]


class PendingDependencyError(Exception):
    """A Secret/ConfigMap (or key) the container needs does not exist yet."""


class JobContainer:
    """Resolves one Job's container against the emulator; `files` holds the Secret files last written."""

    def __init__(self, job: JsonObj, *, namespace: str, name: str, work_dir: Path, read: Reader,
                 kubeconfig: str) -> None:
        pod_spec = (job.get("spec") or {}).get("template", {}).get("spec", {})
        containers = pod_spec.get("containers") or []
        if not containers:
            raise ValueError("the Job has no container")
        self.container: JsonObj = containers[0]
        self.volumes: dict[str, JsonObj] = {v["name"]: v for v in pod_spec.get("volumes") or []}
        self.namespace = namespace
        self.name = name
        self.work_dir = work_dir
        self.read = read
        self.kubeconfig = kubeconfig
        self.files: dict[Path, bytes] = {}
        self.pod_name = name

    def prepare(self, *, pod_name: str) -> tuple[list[str], dict[str, str], str]:
        """Write the volumes and return (argv, env, cwd) for one attempt (`pod_name` is its fieldRef name)."""
        self.pod_name = pod_name
        mounts = self.materialise_volumes()
        container = self.container
        argv = [rewrite(str(part), mounts) for part in
                [*(container.get("command") or []), *(container.get("args") or [])]]
        if not argv:
            raise ValueError("the container has no command (image entrypoints do not exist here)")
        venv_bin = str(Path(sys.executable).parent)
        env = {
            "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
            "HOME": str(self.work_dir),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "TMPDIR": str(self.work_dir),
            "KUBECONFIG": self.kubeconfig,
            "PYTHONUNBUFFERED": "1",
        }
        for source in container.get("envFrom") or []:
            env.update(self._env_from(source))
        for item in container.get("env") or []:
            value = self._env_value(item)
            if value is not None:
                env[item["name"]] = rewrite(value, mounts)
        working_dir = container.get("workingDir")
        cwd = working_dir if working_dir and Path(working_dir).is_dir() else str(self.work_dir)
        return argv, env, cwd

    def materialise_volumes(self) -> dict[str, Path]:
        """(Re)write every mounted Secret volume; return mountPath → local dir. Stale files are removed."""
        mounts: dict[str, Path] = {}
        files: dict[Path, bytes] = {}
        for mount in self.container.get("volumeMounts") or []:
            volume = self.volumes.get(mount["name"]) or {}
            local = self.work_dir / "volumes" / mount["name"]
            mounts[mount["mountPath"]] = local
            if "secret" in volume:
                files.update(self._secret_files(volume["secret"], local))
            elif "emptyDir" in volume:
                local.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_files(files)
        for stale in set(self.files) - set(files):
            stale.unlink(missing_ok=True)
        self.files = files
        return mounts

    def _env_value(self, item: JsonObj) -> str | None:
        if "value" in item:
            return str(item["value"])
        source = item.get("valueFrom") or {}
        if "secretKeyRef" in source:
            return self._key_ref("secrets", source["secretKeyRef"], decode=True)
        if "configMapKeyRef" in source:
            return self._key_ref("configmaps", source["configMapKeyRef"], decode=False)
        if "fieldRef" in source:
            path = source["fieldRef"].get("fieldPath")
            return {"metadata.namespace": self.namespace, "metadata.name": self.pod_name}.get(path, "")
        return ""

    def _key_ref(self, plural: str, ref: JsonObj, *, decode: bool) -> str | None:
        obj = self.read(plural, ref["name"])
        data = (obj or {}).get("data") or {}
        if ref["key"] not in data:
            if ref.get("optional"):
                return None
            raise PendingDependencyError(f"{plural[:-1]} {ref['name']!r} key {ref['key']!r} not found")
        value = data[ref["key"]]
        return base64.b64decode(value).decode() if decode else str(value)

    def _env_from(self, source: JsonObj) -> dict[str, str]:
        prefix = source.get("prefix", "")
        for plural, key, decode in (("secrets", "secretRef", True), ("configmaps", "configMapRef", False)):
            if key in source:
                obj = self.read(plural, source[key]["name"])
                if obj is None:
                    if source[key].get("optional"):
                        return {}
                    raise PendingDependencyError(f"{plural[:-1]} {source[key]['name']!r} not found")
                return {prefix + k: base64.b64decode(v).decode() if decode else str(v)
                        for k, v in (obj.get("data") or {}).items()}
        return {}

    def _secret_files(self, source: JsonObj, local: Path) -> dict[Path, bytes]:
        secret = self.read("secrets", source["secretName"])
        if secret is None:
            if source.get("optional"):
                local.mkdir(parents=True, exist_ok=True, mode=0o700)
                return {}
            raise PendingDependencyError(f"secret {source['secretName']!r} not found")
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        items = source.get("items")
        if items:
            return {local / item["path"]: data[item["key"]] for item in items if item["key"] in data}
        return {local / key: value for key, value in data.items()}


def rewrite(value: str, mounts: dict[str, Path]) -> str:
    """Point a value that starts with a mountPath at the local dir (longest mountPath wins)."""
    for mount_path, local in sorted(mounts.items(), key=lambda item: -len(item[0])):
        prefix = mount_path.rstrip("/")
        if value == prefix or value.startswith(prefix + "/"):
            return str(local) + value[len(prefix):]
    return value


def write_files(files: dict[Path, bytes]) -> None:
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for parent in (path.parent, path.parent.parent):
            parent.chmod(0o700)
        staging = path.with_name(f".{path.name}.tmp")
        staging.write_bytes(content)
        staging.chmod(0o600)
        staging.replace(path)  # atomic: a reader never sees half a token
