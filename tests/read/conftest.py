"""The read side's tests share one synced copy behind one running API per module (`read_stack`): syncing
two years with the real worker is the slow part, and every test here only reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.s3 import S3Server
from testkit.read_stack import ReadStack, build_read_stack


@pytest.fixture(scope="session")
def read_stack(
    kube_cluster: LocalKube,
    pg_server: PostgresServer,
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ReadStack]:
    stack = build_read_stack(
        kube=kube_cluster, pg=pg_server, s3=s3_server, work=tmp_path_factory.mktemp("read-stack")
    )
    yield stack
    stack.stop()
