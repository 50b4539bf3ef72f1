"""Running the built product image with podman as the tests need it: the machine's flags, read-only root."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from spiris_localstack.pod_container import GLOBAL_FLAGS, RUN_FLAGS

READ_ONLY = ("--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,mode=1777")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *GLOBAL_FLAGS, *args], capture_output=True, text=True, timeout=timeout,
                          check=check)


def run_in_image(image: str, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 extra: Sequence[str] = (), timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``argv`` in a throwaway container of ``image`` as the chart runs it: image user, read-only root."""
    env_flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return podman("run", "--rm", *RUN_FLAGS, *READ_ONLY, "--cap-drop=ALL", "--security-opt",
                  "no-new-privileges", *env_flags, *extra, image, *argv, timeout=timeout, check=False)
