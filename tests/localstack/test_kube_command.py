"""`spiris-local kube --dir DIR`: the control plane alone, as a person starts it, until SIGINT.

It must print `kubeconfig: <path>` and then `ready`, leave a kubeconfig that the built kubectl uses against
the real API server, and stop every process it started when interrupted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.processes import pid_alive
from testkit.paths import CRDS, KUBEPLANE_SOURCE

pytestmark = pytest.mark.timeout(180)


def test_kube_command_serves_until_interrupted(tmp_path: Path) -> None:
    binary = kubeplane_binary(source_dir=KUBEPLANE_SOURCE)
    command = [str(Path(sys.executable).parent / "spiris-local"), "kube", "--dir", str(tmp_path / "kube"),
               "--crds", str(CRDS), "--kubeplane", str(binary)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        while "ready" not in lines and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, f"spiris-local kube ended early: {lines}"
            lines.append(line.strip())
        kubeconfig = next(line.split(": ", 1)[1] for line in lines if line.startswith("kubeconfig: "))
        assert kubeconfig == str(tmp_path / "kube" / "kubeconfig")
        shown = subprocess.run([str(tmp_path / "kube" / "bin" / "kubectl"), "--kubeconfig", kubeconfig,
                                "get", "crd", "-o", "name"], capture_output=True, text=True, timeout=30)
        assert shown.returncode == 0, shown.stderr
        assert "spirisconnections.spiris.senseworks.io" in shown.stdout
        found = subprocess.run(["pgrep", "-f", str(tmp_path / "kube")], capture_output=True, text=True)
        children = [int(p) for p in found.stdout.split() if int(p) != process.pid]
        assert children, "no control-plane process found"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert not [pid for pid in children if pid_alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
