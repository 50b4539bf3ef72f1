"""Where the repository's parts are, and the least chart values that render (tests only apply its RBAC)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "spiris-operator"
CRDS = REPO / "crds"
KUBEPLANE_SOURCE = REPO / "dev" / "kubeplane"
IMAGE_BUILD = REPO / "dev" / "image" / "build.sh"
EXAMPLES = REPO / "examples"

CHART_VALUES: dict[str, Any] = {
    "publicUrl": "https://consent.example.com",
    "spiris": {"oauthClient": {"existingSecret": "spiris-oauth-client"}},
    "linkSigningKey": {"existingSecret": "spiris-link-signing-key"},
    "database": {"existingSecret": "spiris-database"},
    "s3": {"endpoint": "127.0.0.1:9000", "secure": False, "existingSecret": "spiris-s3"},
}
