"""Where the product image comes from: ``dev/image/build.sh`` builds the Dockerfile with podman.

The script makes the base from Debian's packages when it is missing and reuses both the base and the image
while their inputs are unchanged (a warm call only re-tags, well under a second), so tests and the local stack
call it instead of assuming ``make image`` ran. ``SPIRIS_IMAGE`` names an image that already exists instead.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from spiris_localstack.pod_container import GLOBAL_FLAGS
from spiris_localstack.processes import MissingBinaryError

ENV = "SPIRIS_IMAGE"
HINT = "podman, runc and debootstrap (`make system-deps`), then `make image`, or set SPIRIS_IMAGE"


def product_image(*, build_script: str | Path) -> str:
    """The image reference (``localhost/spiris-operator:dev`` unless ``$SPIRIS_IMAGE`` names another)."""
    given = os.environ.get(ENV)
    if given:
        return given
    # stderr stays the caller's: a cold build shows its progress there.
    result = subprocess.run(["bash", str(build_script)], stdout=subprocess.PIPE, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise MissingBinaryError(binary="localhost/spiris-operator:dev",
                                 install_hint=f"{HINT} (the build failed)")
    return lines[-1]


def image_size(image: str, *, podman: str = "podman") -> int:
    """The image's size in bytes as podman reports it."""
    out = subprocess.run([podman, *GLOBAL_FLAGS, "image", "inspect", "--format", "{{.Size}}", image],
                         capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout.strip())
