"""Resource URL parsing, including the Namespace paths kmock's own parser gets wrong."""

from __future__ import annotations

import pytest
from spiris_localstack.kube_routes import Route, parse_route


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/namespaces", Route("", "v1", "namespaces", None, None, None)),
    ("/api/v1/namespaces/ns1", Route("", "v1", "namespaces", None, "ns1", None)),
    ("/api/v1/namespaces/ns1/status", Route("", "v1", "namespaces", None, "ns1", "status")),
    ("/api/v1/namespaces/ns1/secrets", Route("", "v1", "secrets", "ns1", None, None)),
    ("/api/v1/namespaces/ns1/secrets/tok", Route("", "v1", "secrets", "ns1", "tok", None)),
    ("/api/v1/secrets", Route("", "v1", "secrets", None, None, None)),
    ("/apis/batch/v1/namespaces/ns1/jobs/j/status", Route("batch", "v1", "jobs", "ns1", "j", "status")),
    ("/apis/spiris.senseworks.io/v1alpha1/spirisconnections",
     Route("spiris.senseworks.io", "v1alpha1", "spirisconnections", None, None, None)),
])
def test_resource_paths(path: str, expected: Route) -> None:
    assert parse_route(path) == expected


@pytest.mark.parametrize("path", ["/", "/api", "/api/v1", "/apis", "/apis/batch", "/apis/batch/v1",
                                  "/version", "/openapi/v2"])
def test_discovery_paths_are_not_resources(path: str) -> None:
    assert parse_route(path) is None
