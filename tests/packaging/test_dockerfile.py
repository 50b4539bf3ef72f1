"""The Dockerfile is honest although no Docker engine runs here to build it.

Every path it copies exists in the repository and is not excluded by .dockerignore; every command it names,
and every command the chart's containers and the operator's Jobs run, is a console script declared in
pyproject.toml whose target function exists; the runtime stage runs as the numeric non-root user the chart
expects, keeps the root filesystem read-only friendly, and carries the OCI labels.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from testkit.chart_render import containers, load_values, manifests, pod_specs, value_set_names
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Instruction:
    stage: str
    keyword: str
    arguments: str


def _instructions() -> list[Instruction]:
    """Dockerfile instructions, continuations joined and comments dropped, each tagged with its stage."""
    logical: list[str] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert pending == "", "the Dockerfile ends inside a continued line"
    parsed: list[Instruction] = []
    stage = ""
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.search(r"\bAS\s+(\S+)$", arguments, re.IGNORECASE)
            stage = match.group(1) if match else arguments
        parsed.append(Instruction(stage, keyword, arguments.strip()))
    return parsed


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _console_scripts() -> dict[str, str]:
    scripts: dict[str, str] = _pyproject()["project"]["scripts"]
    return scripts


def _ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(p.startswith("!") for p in patterns), "negations are not understood by this check"
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(Path(prefix).name, pattern[3:])
            ):
                return True
    return False


def _exec_form(arguments: str) -> list[str]:
    command = json.loads(arguments)
    assert isinstance(command, list) and all(isinstance(part, str) for part in command), arguments
    return command


def test_every_copied_path_exists_and_reaches_the_build_context() -> None:
    stages = {i.stage for i in _instructions() if i.keyword == "FROM"}
    copies = [i for i in _instructions() if i.keyword in {"COPY", "ADD"}]
    assert copies
    local_sources = []
    for copy in copies:
        assert copy.keyword == "COPY", "ADD fetches and unpacks; the image copies plain files only"
        words = copy.arguments.split()
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        sources, _destination = paths[:-1], paths[-1]
        from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        if from_stage is not None:
            assert from_stage in stages, f"COPY --from={from_stage} names no stage"
            continue
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
            assert not _ignored(source), f"COPY {source}: excluded by .dockerignore"
            local_sources.append(source.rstrip("/"))
    # `pip install .` needs the project file, its readme and every package root setuptools searches.
    project = _pyproject()
    needed = {
        "pyproject.toml",
        project["project"]["readme"],
        *project["tool"]["setuptools"]["packages"]["find"]["where"],
    }
    assert needed <= set(local_sources)


def test_the_package_installs_regularly_in_a_builder_stage_and_only_the_venv_reaches_the_runtime() -> None:
    instructions = _instructions()
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert len(froms) == 2, "multi-stage: builder and runtime"
    builder, runtime = froms[0].stage, froms[1].stage
    runs = [i.arguments for i in instructions if i.keyword == "RUN" and i.stage == builder]
    assert any(re.search(r"pip install \.(\s|$)", run) for run in runs)
    assert not any("-e " in run or "--editable" in run for run in runs)
    runtime_copies = [i.arguments for i in instructions if i.stage == runtime and i.keyword == "COPY"]
    assert runtime_copies == [f"--from={builder} /opt/spiris /opt/spiris"]
    defaults = dict(
        i.arguments.split("=", 1) for i in instructions if i.keyword == "ARG" and "=" in i.arguments
    )
    assert re.match(r"python:3\.11-slim", defaults["PYTHON_IMAGE"])
    assert _pyproject()["project"]["requires-python"] == ">=3.11"


def test_runtime_is_non_root_and_read_only_friendly() -> None:
    instructions = _instructions()
    runtime = [i for i in instructions if i.stage == instructions[-1].stage]
    [user] = [i.arguments for i in runtime if i.keyword == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) == 10001, "numeric uid matching the chart's runAsUser"
    assert gid.isdigit() and int(gid) == 10001
    env = " ".join(i.arguments for i in runtime if i.keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env and "TMPDIR=/tmp" in env
    # USER comes after every RUN of the runtime stage, so nothing runs as root at container start.
    keywords = [i.keyword for i in runtime]
    assert keywords.index("USER") > max(n for n, k in enumerate(keywords) if k == "RUN")
    exposed = {int(p) for i in runtime if i.keyword == "EXPOSE" for p in i.arguments.split()}
    values = load_values("required-values")
    assert exposed == {8080, 9090}
    assert values.get("web", {}).get("port", 8080) in exposed


def test_every_variable_used_in_a_stage_is_declared_in_it() -> None:
    """Docker expands only ARGs declared in the stage (or before the first FROM, for FROM lines) and ENVs."""
    global_args: set[str] = set()
    declared: dict[str, set[str]] = {}
    for instruction in _instructions():
        used = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", instruction.arguments))
        if instruction.keyword == "ARG":
            name = instruction.arguments.split("=", 1)[0]
            (declared.setdefault(instruction.stage, set()) if instruction.stage else global_args).add(name)
            continue
        if instruction.keyword == "FROM":
            assert used <= global_args, instruction
            declared.setdefault(instruction.stage, set())
            continue
        if instruction.keyword == "RUN":
            continue  # the shell expands these at build time
        known = declared[instruction.stage] | {"PATH"}
        assert used <= known, f"{instruction.keyword} {instruction.arguments}: {used - known} undeclared here"
        if instruction.keyword == "ENV":
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", instruction.arguments)
            declared[instruction.stage] |= set(names)


def test_oci_labels() -> None:
    labels = " ".join(i.arguments for i in _instructions() if i.keyword == "LABEL")
    for key in ("title", "description", "version", "vendor", "licenses", "base.name"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerfile_commands_are_console_scripts() -> None:
    scripts = _console_scripts()
    commands = [_exec_form(i.arguments) for i in _instructions() if i.keyword in {"CMD", "ENTRYPOINT"}]
    assert commands == [["spiris-operator"]]
    for command in commands:
        assert command[0] in scripts


@pytest.mark.parametrize("value_set", value_set_names())
def test_chart_commands_are_console_scripts(value_set: str) -> None:
    scripts = _console_scripts()
    used = set()
    for _, pod in pod_specs(manifests(load_values(value_set))):
        for container in containers(pod):
            assert container["command"][0] in scripts, f"{container['name']}: {container['command']}"
            assert "args" not in container or all(isinstance(a, str) for a in container["args"])
            used.add(container["command"][0])
    assert {"spiris-operator", "spiris-web"} <= used


def test_the_operators_jobs_run_a_console_script() -> None:
    from spiris_operator import sync_jobs
    from spiris_operator.settings import JobSettings

    fys = {"metadata": {"name": "acme-2025", "namespace": "clients", "uid": "u-1"}, "spec": {}}
    connection = {"metadata": {"name": "acme", "namespace": "clients", "uid": "c-1"}}
    job = sync_jobs.build_job(
        fys=fys,
        connection=connection,
        run=1,
        fiscal_year=2025,
        fiscal_year_id="7c2e1a7e-4b1d-4f61-9d55-2a4e0f3c9b10",
        settings=JobSettings(),
        trigger="test",
    )
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][0] in _console_scripts()


@pytest.mark.parametrize("script", ["spiris-operator", "spiris-web", "spiris-sync"])
def test_console_scripts_in_the_image_resolve_to_functions(script: str) -> None:
    module_name, _, function = _console_scripts()[script].partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, function))


# Files in the source tree that a regular install leaves out on purpose.
NOT_INSTALLED = {
    "spiris_store/migrations/script.py.mako": "alembic's template for new revisions; upgrades never read it",
}


def _glob_matches(path: str, pattern: str) -> bool:
    """setuptools' package-data glob: `*` stays within one directory level."""
    parts, pattern_parts = path.split("/"), pattern.split("/")
    return len(parts) == len(pattern_parts) and all(map(fnmatch.fnmatchcase, parts, pattern_parts))


def test_the_regular_install_carries_every_data_file_the_packages_ship() -> None:
    """The image installs with `pip install .` (not editable), so data files reach it only through
    package-data; a template or stylesheet missing there works in the venv here and breaks in the image."""
    setuptools = _pyproject()["tool"]["setuptools"]
    patterns = [p for key, globs in setuptools["package-data"].items() if key == "*" for p in globs]
    missing = []
    for root in setuptools["packages"]["find"]["where"]:
        for package in sorted((REPO / root).iterdir()):
            if not (package / "__init__.py").is_file():
                continue
            for path in sorted(package.rglob("*")):
                if not path.is_file() or path.suffix in {".py", ".pyc"} or "__pycache__" in path.parts:
                    continue
                inner = path.relative_to(package)
                owner = next(p for p in [path.parent, *path.parents] if (p / "__init__.py").is_file())
                relative_to_owner = path.relative_to(owner).as_posix()
                if any(_glob_matches(relative_to_owner, p) for p in patterns):
                    continue
                name = f"{package.name}/{inner.as_posix()}"
                if name not in NOT_INSTALLED:
                    missing.append(name)
    assert missing == [], "add these to [tool.setuptools.package-data] in pyproject.toml"
