"""A throwaway PostgreSQL 15 cluster from Debian's binaries, for tests and the local run.

`initdb` refuses to run as root, so the cluster lives in a temp dir owned by the `postgres` OS user; `initdb`
runs through `runuser -u postgres --` and the server itself runs as that user but as our direct child (not
daemonised by `pg_ctl`), so it is stopped and reaped by its PID. It listens on 127.0.0.1 on a free port (and a
private Unix socket dir); the superuser is reachable only over that socket, while clients get
password-authenticated roles over TCP so their DSNs look exactly like production ones. The roles are the
production ones (README, "Database roles"): the app role owns the databases and runs the migrations, the
worker's login is a member of `spiris_writer` and the read API's of `spiris_reader`, created before any
schema so every migration grants them their privileges.
"""

from __future__ import annotations

import os
import pwd
import secrets
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from spiris_localstack.processes import (
    ChildService,
    ServiceStartError,
    free_port,
    kill_group,
    require_binary,
    start_process,
    wait_until_ready,
)

DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = "the Debian package postgresql-15 (apt-get install postgresql-15)"
RUNUSER_HINT = "the Debian package util-linux (runuser)"
OS_USER = "postgres"
#: The group roles the migrations grant to (0005: rows of schema spiris; 0002: SELECT).
WRITER_GROUP = "spiris_writer"
READER_GROUP = "spiris_reader"


@dataclass(frozen=True)
class LoginRole:
    """A password login that is a member of one group role."""

    name: str
    group: str
    password: str


@dataclass(frozen=True)
class RoleDsns:
    """One database's DSN per role: `owner` migrates, `worker` syncs, `reader` serves the read API."""

    owner: str
    worker: str
    reader: str


class PostgresServer(ChildService):
    """One private PostgreSQL cluster; `.dsn` points at its default database with the app role."""

    first_signal = signal.SIGINT  # fast shutdown, sent to the postmaster alone
    signal_whole_group = False

    def __init__(
        self,
        *,
        bin_dir: str | Path = DEFAULT_BIN_DIR,
        role: str = "spiris",
        database: str = "spiris",
        start_timeout: float = 30.0,
        durable_commits: bool = False,
        max_connections: int = 200,
    ) -> None:
        self.bin_dir = Path(bin_dir)
        self.role = role
        self.password = secrets.token_urlsafe(16)
        self.database = database
        # A benchmark running hundreds of syncs as threads of one process holds a few connections for each.
        self.max_connections = max_connections
        self.worker = LoginRole("spiris_worker", WRITER_GROUP, secrets.token_urlsafe(16))
        self.reader = LoginRole("spiris_api", READER_GROUP, secrets.token_urlsafe(16))
        self._postgres = self.bin_dir / "postgres"
        #: `synchronous_commit=on`: a commit survives a SIGKILL of the server (fsync stays off: an OS crash is
        #: not simulated). Off by default, the fastest for tests that never kill the server.
        self.durable_commits = durable_commits
        super().__init__(start_timeout=start_timeout)

    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._base()

    @property
    def log_path(self) -> Path:
        return self._base() / "postgres.log"

    @property
    def dsn(self) -> str:
        """The DSN of the default database, as the app role over TCP with its password."""
        return self.dsn_for(self.database)

    @property
    def dsns(self) -> RoleDsns:
        """The default database's DSN per role."""
        return self.role_dsns(self.database)

    def dsn_for(self, database: str) -> str:
        """The DSN of `database` as the app role (its owner: migrations, DDL, tests' own checks)."""
        return f"postgresql://{self.role}:{self.password}@{self.host}:{self.port}/{database}"

    def role_dsns(self, database: str) -> RoleDsns:
        """The DSNs of `database` as the owner, the worker's login and the read API's login."""

        def login(role: LoginRole) -> str:
            return f"postgresql://{role.name}:{role.password}@{self.host}:{self.port}/{database}"

        return RoleDsns(owner=self.dsn_for(database), worker=login(self.worker), reader=login(self.reader))

    def start(self) -> PostgresServer:
        initdb = require_binary(self.bin_dir / "initdb", install_hint=INSTALL_HINT)
        postgres = require_binary(self.bin_dir / "postgres", install_hint=INSTALL_HINT)
        runuser = require_binary("runuser", install_hint=RUNUSER_HINT)
        try:
            owner = pwd.getpwnam(OS_USER)
        except KeyError as exc:
            raise ServiceStartError(f"OS user {OS_USER!r} missing: install {INSTALL_HINT}") from exc
        self.base_dir = Path(tempfile.mkdtemp(prefix="spiris-pg-"))
        os.chown(self.base_dir, owner.pw_uid, owner.pw_gid)
        try:
            self._run_as_postgres(
                runuser,
                [str(initdb), "-D", str(self.data_dir), "-U", OS_USER, "--auth-local=trust",
                 "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            )
            self.port = free_port()
            self._postgres = postgres
            self._launch()
            self._bootstrap_role()
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """Crash the cluster: SIGKILL to the postmaster and its backends (one process group), data kept."""
        if self.process is not None:
            kill_group(self.process)

    def restart(self) -> PostgresServer:
        """Start the cluster again in place (same data dir, port, role and password) after `kill()`; a
        running cluster is killed first. PostgreSQL recovers from its WAL as after a power cut."""
        self._base()
        self.kill()
        self._launch()
        return self

    def _launch(self) -> None:
        self.process = start_process(
            [str(self._postgres), "-D", str(self.data_dir), "-c", f"listen_addresses={self.host}",
             "-p", str(self.port), "-k", str(self.socket_dir), "-c", "fsync=off",
             "-c", f"synchronous_commit={'on' if self.durable_commits else 'off'}",
             "-c", "full_page_writes=off", "-c", f"max_connections={self.max_connections}"],
            cwd=self._base(),
            log_path=self.log_path,
            user=OS_USER,
        )
        wait_until_ready(
            self._accepts_connections, timeout=self.start_timeout, what="PostgreSQL", process=self.process
        )

    def create_database(self, name: str) -> str:
        """Create database `name` owned by the app role and return its DSN."""
        with self.superuser_connection() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(self.role))
            )
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        with self.superuser_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def superuser_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection as the cluster superuser over the private Unix socket."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=OS_USER, dbname="postgres", autocommit=True
        )

    def _run_as_postgres(self, runuser: Path, argv: list[str]) -> None:
        result = subprocess.run(
            [str(runuser), "-u", OS_USER, "--", *argv],
            cwd=self._base(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.start_timeout + 30,
            check=False,
        )
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise ServiceStartError(
                f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}\n{log}"
            )

    def _accepts_connections(self) -> bool:
        with self.superuser_connection() as conn:
            conn.execute("SELECT 1")
        return True

    def _bootstrap_role(self) -> None:
        with self.superuser_connection() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(self.role), sql.Literal(self.password)
                )
            )
            # What a DBA does once, before the first migration (the owner cannot: no CREATEROLE).
            for login in (self.worker, self.reader):
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(login.group)))
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                        sql.Identifier(login.name), sql.Literal(login.password), sql.Identifier(login.group)
                    )
                )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(self.database), sql.Identifier(self.role)
                )
            )
