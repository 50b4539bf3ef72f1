"""Where the control plane's ``kubeplane`` binary comes from: a given path, or a build of ``dev/kubeplane``.

The binary is built once per machine and cached outside the checkout, keyed by its inputs, by
``dev/kubeplane/build.sh`` (a cold build takes a few minutes; its progress goes to the terminal). Callers name
the binary (``SPIRIS_KUBEPLANE``) or the Go module's folder; nothing here guesses where the checkout is.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from spiris_localstack.processes import MissingBinaryError

ENV = "SPIRIS_KUBEPLANE"
HINT = "Go 1.26 (the machines have it) and run `bash dev/kubeplane/build.sh`, or set SPIRIS_KUBEPLANE"


def kubeplane_binary(*, binary: str | Path | None = None, source_dir: str | Path | None = None) -> Path:
    """The kubeplane binary.

    ``binary``, else ``$SPIRIS_KUBEPLANE``, else built (or reused) from ``source_dir``.
    """
    given = binary or os.environ.get(ENV)
    if given:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        if source_dir is None:
            raise MissingBinaryError(binary=str(path), install_hint=HINT)
    if source_dir is None:
        raise MissingBinaryError(binary="kubeplane", install_hint=HINT)
    script = Path(source_dir) / "build.sh"
    # stderr stays the terminal's: a cold build shows its progress there.
    result = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise MissingBinaryError(binary="kubeplane", install_hint=f"{HINT} (the build failed)")
    return Path(lines[-1])
