"""The local Kubernetes: the real control plane plus the node agent, started and stopped as one service.

``LocalKube`` is what ``spiris-local kube``, ``make run``/``demo``/``bench`` and the test fixtures start:
etcd, kube-apiserver and kube-controller-manager (``kube_plane``) with the CRDs installed and Established, and
one Ready node whose pods run as local processes (``node_agent``). ``bin/kubectl`` in its directory is the
same-version kubectl (the multi-call binary called by that name), and ``admin_kubeconfig`` the
``system:masters`` kubeconfig.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spiris_localstack.kube_client import KubeCredentials, KubeRest
from spiris_localstack.kube_plane import ControlPlane
from spiris_localstack.node_agent import NodeAgent
from spiris_localstack.processes import Service


class LocalKube(Service):
    """A control plane and its node; ``.plane``, ``.node``, ``.rest`` (admin), ``.kubectl``."""

    def __init__(self, *, binary: Path, crd_dir: Path | None, base_dir: Path | None = None,
                 enforce_security_context: bool = True, audit: bool = False) -> None:
        self.plane = ControlPlane(binary=binary, crd_dir=crd_dir, base_dir=base_dir, audit=audit)
        self.enforce_security_context = enforce_security_context
        self.node: NodeAgent | None = None
        self._rest: KubeRest | None = None

    def start(self) -> LocalKube:
        self.plane.start()
        try:
            pki = self.plane.pki
            assert pki is not None and self.plane.base_dir is not None
            self.node = NodeAgent(credentials=self.credentials, serving_cert=pki.kubelet_serving.cert,
                                  serving_key=pki.kubelet_serving.key,
                                  work_dir=self.plane.base_dir / "node",
                                  enforce_security_context=self.enforce_security_context).start()
            bin_dir = self.plane.base_dir / "bin"
            bin_dir.mkdir(exist_ok=True)
            link = bin_dir / "kubectl"
            if not link.exists():
                link.symlink_to(self.plane.binary)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._rest is not None:
            self._rest.close()
            self._rest = None
        if self.node is not None:
            self.node.stop()
            self.node = None
        self.plane.stop()

    @property
    def credentials(self) -> KubeCredentials:
        pki = self.plane.pki
        assert pki is not None
        return KubeCredentials(server=self.plane.server, ca_file=pki.ca.cert, cert_file=pki.admin.cert,
                               key_file=pki.admin.key)

    @property
    def rest(self) -> KubeRest:
        if self._rest is None:
            self._rest = KubeRest(self.credentials)
        return self._rest

    @property
    def admin_kubeconfig(self) -> str:
        return self.plane.admin_kubeconfig

    @property
    def kubectl(self) -> Path:
        assert self.plane.base_dir is not None
        return self.plane.base_dir / "bin" / "kubectl"

    def create_namespace(self, name: str, *, labels: dict[str, str] | None = None) -> None:
        self.plane.create_namespace(name, labels=labels)

    def json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One admin call that must succeed; its decoded body."""
        result = self.rest.call(method, path, body=body)
        assert result is not None
        return result
