"""The resource kinds the Kubernetes emulator serves: built-ins the product needs, plus CRDs from YAML.

A `ResourceSpec` is what discovery advertises and what the emulator needs to store objects: group, served
versions, plural, kind, scope and whether `status` is a subresource (which isolates status writes).
CustomResourceDefinitions are read from a directory of YAML files (default: the repository's `crds/`) and
from CRD objects created through the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceSpec:
    """One served resource (all of its versions share one storage)."""

    group: str
    versions: tuple[str, ...]
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    status_subresource: bool = False
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    extra_subresources: tuple[str, ...] = field(default=())
    printer_columns: tuple[dict[str, Any], ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def preferred_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        chosen = version or self.preferred_version
        return f"{self.group}/{chosen}" if self.group else chosen

    @property
    def subresources(self) -> tuple[str, ...]:
        return (("status",) if self.status_subresource else ()) + self.extra_subresources


def _core(plural: str, kind: str, *, namespaced: bool = True, status: bool = False,
          short: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> ResourceSpec:
    return ResourceSpec(group="", versions=("v1",), plural=plural, kind=kind, namespaced=namespaced,
                        singular=kind.lower(), status_subresource=status, short_names=short,
                        categories=categories)


BUILTIN_RESOURCES: tuple[ResourceSpec, ...] = (
    _core("namespaces", "Namespace", namespaced=False, status=True, short=("ns",)),
    _core("secrets", "Secret"),
    _core("configmaps", "ConfigMap", short=("cm",)),
    _core("events", "Event", short=("ev",)),
    _core("serviceaccounts", "ServiceAccount", short=("sa",)),
    _core("pods", "Pod", status=True, short=("po",), categories=("all",)),
    ResourceSpec(group="batch", versions=("v1",), plural="jobs", kind="Job", namespaced=True,
                 singular="job", status_subresource=True, categories=("all",)),
    ResourceSpec(group="coordination.k8s.io", versions=("v1",), plural="leases", kind="Lease",
                 namespaced=True, singular="lease"),
    ResourceSpec(group="events.k8s.io", versions=("v1",), plural="events", kind="Event", namespaced=True,
                 singular="event", short_names=("ev",)),
    ResourceSpec(group="apiextensions.k8s.io", versions=("v1",), plural="customresourcedefinitions",
                 kind="CustomResourceDefinition", namespaced=False, singular="customresourcedefinition",
                 status_subresource=True, short_names=("crd", "crds")),
)


def spec_from_crd(crd: Mapping[str, Any]) -> ResourceSpec:
    """The served resource of one CustomResourceDefinition object (storage version preferred)."""
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec.get("versions", []) if v.get("served", True)]
    served.sort(key=lambda v: not v.get("storage", False))
    return ResourceSpec(
        group=spec["group"],
        versions=tuple(v["name"] for v in served),
        plural=names["plural"],
        kind=names["kind"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        singular=names.get("singular", names["kind"].lower()),
        status_subresource=any("status" in (v.get("subresources") or {}) for v in served),
        short_names=tuple(names.get("shortNames", ())),
        categories=tuple(names.get("categories", ())),
        printer_columns=tuple(served[0].get("additionalPrinterColumns") or ()) if served else (),
    )


def load_crd_documents(directories: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in the `*.yaml`/`*.yml` files of `directories`."""
    documents: list[dict[str, Any]] = []
    for directory in directories:
        folder = Path(directory)
        if not folder.is_dir():
            continue
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            for document in yaml.safe_load_all(path.read_text()):
                if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                    documents.append(document)
    return documents


def default_crd_dir() -> Path:
    """The repository's `crds/` (this file lives in operator/spiris_localstack/)."""
    return Path(__file__).resolve().parents[2] / "crds"
