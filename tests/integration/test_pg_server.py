"""The test-database helpers themselves work against a real PostgreSQL server."""

from __future__ import annotations

import psycopg
import pytest

from support.pg_server import (
    drop_database,
    ensure_postgres,
    fresh_database,
    start_throwaway_cluster,
)

pytestmark = pytest.mark.postgres


def test_ensure_postgres_returns_connectable_url() -> None:
    url = ensure_postgres()
    assert url == ensure_postgres()  # cached for the process
    with psycopg.connect(url) as conn:
        row = conn.execute("select 1").fetchone()
    assert row == (1,)


def test_fresh_database_is_isolated_and_droppable() -> None:
    base = ensure_postgres()
    first = fresh_database(base)
    second = fresh_database(base)
    try:
        assert first != second
        with psycopg.connect(first) as conn:
            conn.execute("create table t (x int)")
            conn.execute("insert into t values (42)")
            conn.commit()
            assert conn.execute("select x from t").fetchall() == [(42,)]
        with psycopg.connect(second) as conn:
            exists = conn.execute("select to_regclass('public.t') is not null").fetchone()
        assert exists == (False,)
    finally:
        drop_database(first)
        drop_database(second)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(first, connect_timeout=5).close()


def test_drop_database_terminates_open_sessions() -> None:
    url = fresh_database(ensure_postgres())
    with psycopg.connect(url) as conn:
        drop_database(url)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("select 1")


def test_throwaway_cluster_starts_serves_and_is_removed() -> None:
    cluster = start_throwaway_cluster()
    try:
        assert cluster.data_dir.is_dir()
        with psycopg.connect(cluster.url, connect_timeout=5) as conn:
            row = conn.execute("select current_setting('fsync'), 6 * 7").fetchone()
        assert row == ("off", 42)
        db = fresh_database(cluster.url)
        with psycopg.connect(db) as conn:
            conn.execute("create table t (x int)")
        drop_database(db)
    finally:
        cluster.stop()
    assert not cluster.data_dir.exists()
    assert not cluster.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url, connect_timeout=2).close()
