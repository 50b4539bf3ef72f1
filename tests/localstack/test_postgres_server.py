"""The throwaway PostgreSQL cluster: password-authenticated DSNs, per-test databases, a real round trip."""

from __future__ import annotations

import psycopg
import pytest
from spiris_localstack.postgres import PostgresServer


def test_round_trip_in_fresh_database(fresh_database: str) -> None:
    with psycopg.connect(fresh_database) as conn:
        conn.execute("CREATE TABLE voucher (id int PRIMARY KEY, text text NOT NULL)")
        conn.execute("INSERT INTO voucher VALUES (1, 'Hyra januari'), (2, 'Kaffe')")
        conn.commit()
    with psycopg.connect(fresh_database) as conn:
        rows = conn.execute("SELECT id, text FROM voucher ORDER BY id").fetchall()
        user, host = conn.execute("SELECT current_user, inet_server_addr()::text").fetchone() or ("", "")
    assert rows == [(1, "Hyra januari"), (2, "Kaffe")]
    assert user == "spiris"
    assert host.startswith("127.0.0.1")


def test_fresh_databases_are_isolated(pg_server: PostgresServer, fresh_database: str) -> None:
    other = pg_server.create_database("isolation_probe")
    try:
        with psycopg.connect(fresh_database) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
            conn.commit()
        with psycopg.connect(other) as conn:
            found = conn.execute("SELECT to_regclass('only_here')").fetchone()
        assert found == (None,)
    finally:
        pg_server.drop_database("isolation_probe")


def test_wrong_password_is_rejected(pg_server: PostgresServer) -> None:
    bad = pg_server.dsn.replace(pg_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad, connect_timeout=5)


def test_listens_on_loopback_only(pg_server: PostgresServer) -> None:
    with psycopg.connect(pg_server.dsn) as conn:
        setting = conn.execute("SHOW listen_addresses").fetchone()
    assert setting == ("127.0.0.1",)


def test_restart_in_place_keeps_data_port_and_password() -> None:
    with PostgresServer(durable_commits=True) as server:
        with psycopg.connect(server.dsn) as conn:
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (42)")
            conn.commit()
        dsn, old_pid = server.dsn, server.pid
        server.kill()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn, connect_timeout=3)
        server.restart()
        assert server.pid != old_pid and server.dsn == dsn
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT x FROM kept").fetchall() == [(42,)]
