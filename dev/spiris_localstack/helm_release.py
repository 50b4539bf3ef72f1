"""A Helm release on the local control plane: ``helm install``/``upgrade``/``uninstall`` through the Helm SDK.

No ``helm`` CLI exists on these machines; ``helm-python-sdk`` embeds Helm's own Go SDK, whose actions talk to
the API server through a kubeconfig exactly as the CLI does (release records in Secrets of the release
namespace, CRDs from the chart's ``crds/`` created when absent, the chart's NOTES rendered). ``HelmRelease``
wraps the three actions for one release so the in-cluster tests and the install guide run the same steps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HelmRelease:
    """Release ``name`` of ``chart`` in ``namespace`` on the cluster of ``kubeconfig``."""

    chart: Path
    name: str
    namespace: str
    kubeconfig: str

    def _config(self) -> Any:
        import helm_python as helm

        return helm.Config(kubeconfig_path=self.kubeconfig, namespace=self.namespace)

    def install(self, values: dict[str, Any], *, timeout: int = 120) -> dict[str, Any]:
        """``helm install`` (no ``--wait``: callers wait for what they need); the release summary."""
        with self._config() as config:
            release: dict[str, Any] = config.install(str(self.chart), self.name, _plain(values),
                                                     namespace=self.namespace, timeout=timeout)
        return release

    def upgrade(self, values: dict[str, Any], *, timeout: int = 120) -> dict[str, Any]:
        """``helm upgrade`` with exactly ``values`` (not reusing the previous ones)."""
        with self._config() as config:
            release: dict[str, Any] = config.upgrade(str(self.chart), self.name, _plain(values),
                                                     namespace=self.namespace, timeout=timeout,
                                                     reset_values=True)
        return release

    def uninstall(self, *, timeout: int = 120) -> dict[str, Any]:
        """``helm uninstall`` (waits for the release's objects to be deleted)."""
        with self._config() as config:
            result: dict[str, Any] = config.uninstall(self.name, timeout=timeout, wait="watcher")
        return result

    def history(self) -> list[dict[str, Any]]:
        with self._config() as config:
            revisions: list[dict[str, Any]] = list(config.history(self.name))
        return revisions


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON types only (Paths and tuples would not cross into the Go SDK)."""
    plain: dict[str, Any] = json.loads(json.dumps(values, default=str))
    return plain
