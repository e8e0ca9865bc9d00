"""Find or start a real PostgreSQL server for the test suite.

Resolution order of :func:`ensure_postgres`:

1. ``LEDGER_TEST_DATABASE_URL`` if set (it must accept connections).
2. A developer server on 127.0.0.1:5432, database ``test``, user ``postgres`` then ``root``.
3. A throwaway cluster started from the local PostgreSQL binaries (initdb/pg_ctl), owned by
   the ``postgres`` OS user when running as root, stopped and removed at interpreter exit.

Set ``LEDGER_TEST_FORCE_THROWAWAY=1`` to skip steps 1 and 2.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ENV_URL = "LEDGER_TEST_DATABASE_URL"
ENV_FORCE_THROWAWAY = "LEDGER_TEST_FORCE_THROWAWAY"
ENV_BINDIR = "LEDGER_TEST_PG_BINDIR"
DEV_HOST = "127.0.0.1"
DEV_PORT = 5432
DEV_DBNAME = "test"
DEV_USERS = ("postgres", "root")
START_TIMEOUT_S = 30.0
_OS_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _connect_error(url: str, timeout: int = 2) -> str | None:
    """Return None if ``select 1`` works on ``url``, else the error text."""
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip()}"
    return None


# --------------------------------------------------------------------------- throwaway cluster


@dataclass
class ThrowawayCluster:
    """A PostgreSQL cluster in a private temp dir; :meth:`stop` kills it and removes the dir."""

    root: Path
    port: int
    bindir: Path
    run_as: str | None
    user: str = "postgres"
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{DEV_HOST}:{self.port}/postgres"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its directory. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            pg_ctl = str(self.bindir / "pg_ctl")
            proc = _run(
                [pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "15", "stop"],
                run_as=self.run_as,
                cwd=self.root,
                check=False,
            )
            if proc.returncode != 0:
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                os.kill(pid, 0)  # raises ProcessLookupError (an OSError) once gone
                time.sleep(0.1)


def _run(
    argv: Sequence[str], *, run_as: str | None, cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``, as OS user ``run_as`` if given; capture output."""
    cmd = list(argv)
    if run_as is not None:
        if shutil.which("runuser"):
            cmd = ["runuser", "-u", run_as, "--", *cmd]
        else:
            cmd = ["su", run_as, "-s", "/bin/sh", "-c", shlex.join(cmd)]
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=START_TIMEOUT_S + 30, check=False
    )
    if check and proc.returncode != 0:
        raise PostgresUnavailable(
            f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
            f"{proc.stdout.strip()}\n{proc.stderr.strip()}".rstrip()
        )
    return proc


def find_pg_bindir() -> Path:
    """Locate a directory holding initdb, pg_ctl and postgres."""
    needed = ("initdb", "pg_ctl", "postgres")

    def complete(d: Path) -> bool:
        return all(os.access(d / n, os.X_OK) for n in needed)

    candidates: list[Path] = []
    if os.environ.get(ENV_BINDIR):
        candidates.append(Path(os.environ[ENV_BINDIR]))
    on_path = shutil.which("initdb")
    if on_path:
        # Follow symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb.
        candidates += [Path(os.path.realpath(on_path)).parent, Path(on_path).parent]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))

    def version_key(p: str) -> tuple[int, str]:
        ver = Path(p).parent.name
        return (int(ver) if ver.isdigit() else -1, ver)

    candidates += [
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    ]
    for cand in candidates:
        if complete(cand):
            return cand
    searched = ", ".join(str(c) for c in candidates) or "(nothing found)"
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; searched: "
        f"{searched}. Install the PostgreSQL server package or set {ENV_BINDIR}."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((DEV_HOST, 0))
        return int(s.getsockname()[1])


def _os_user_for_server() -> tuple[str | None, pwd.struct_passwd | None]:
    if os.geteuid() != 0:
        return None, None
    try:
        entry = pwd.getpwnam(_OS_USER)
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and initdb refuses to run as root, but there is no "
            f"'{_OS_USER}' OS user to run the throwaway cluster as (none is created "
            f"automatically). Create one, run as a non-root user, or set {ENV_URL}."
        ) from None
    return _OS_USER, entry


def start_throwaway_cluster() -> ThrowawayCluster:
    """initdb + start a private cluster on 127.0.0.1:<free port>; caller must ``stop()`` it."""
    bindir = find_pg_bindir()
    run_as, entry = _os_user_for_server()
    # Unix socket paths are limited to ~107 bytes, so keep the directory short.
    base = tempfile.gettempdir()
    if (run_as is not None or len(base) > 60) and os.path.isdir("/tmp"):
        base = "/tmp"
    root = Path(tempfile.mkdtemp(prefix="ledger-pg-", dir=base))
    cluster = ThrowawayCluster(root=root, port=0, bindir=bindir, run_as=run_as)
    try:
        if entry is not None:
            os.chown(root, entry.pw_uid, entry.pw_gid)
        initdb = [str(bindir / "initdb"), "-D", str(cluster.data_dir), "-U", cluster.user]
        _run(
            [*initdb, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
            run_as=run_as,
            cwd=root,
        )
        last_error = ""
        for _attempt in range(3):  # retry in case another process grabbed the port
            cluster.port = _free_port()
            _write_config(cluster)
            pg_ctl = [str(bindir / "pg_ctl"), "-D", str(cluster.data_dir)]
            proc = _run(
                [
                    *pg_ctl,
                    "-l",
                    str(cluster.log_file),
                    "-w",
                    "-t",
                    str(int(START_TIMEOUT_S)),
                    "start",
                ],
                run_as=run_as,
                cwd=root,
                check=False,
            )
            if proc.returncode == 0:
                error = _wait_until_connectable(cluster.url, START_TIMEOUT_S)
                if error is None:
                    return cluster
                last_error = f"server started but refuses connections: {error}"
                break
            last_error = f"pg_ctl start failed (exit {proc.returncode}): {proc.stderr.strip()}"
            if "already in use" not in cluster.log_tail():
                break
        raise PostgresUnavailable(
            f"could not start a throwaway PostgreSQL cluster in {root} with {bindir}: "
            f"{last_error}\n--- server log tail ---\n{cluster.log_tail()}"
        )
    except BaseException:
        cluster.stop()
        raise


def _write_config(cluster: ThrowawayCluster) -> None:
    settings = {
        "listen_addresses": f"'{DEV_HOST}'",
        "port": str(cluster.port),
        "unix_socket_directories": f"'{cluster.root}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "shared_buffers": "'32MB'",
    }
    conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
    # postgresql.auto.conf overrides postgresql.conf and is rewritten whole on each attempt.
    (cluster.data_dir / "postgresql.auto.conf").write_text(conf)


def _wait_until_connectable(url: str, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        error = _connect_error(url)
        if error is None or time.monotonic() > deadline:
            return error
        time.sleep(0.2)


# --------------------------------------------------------------------------- public entry points


class _State:
    """Per-process cache of the resolved server (and the cluster we started, if any)."""

    lock = threading.Lock()
    url: str | None = None
    cluster: ThrowawayCluster | None = None


def _stop_cached_cluster() -> None:
    with _State.lock:
        if _State.cluster is not None:
            _State.cluster.stop()
            _State.cluster = None
            _State.url = None


def ensure_postgres() -> str:
    """Return a libpq URL of a PostgreSQL server accepting connections (cached per process)."""
    with _State.lock:
        if _State.url is None:
            _State.url = _resolve()
        return _State.url


def _resolve() -> str:
    reasons: list[str] = []
    if not os.environ.get(ENV_FORCE_THROWAWAY):
        env_url = os.environ.get(ENV_URL)
        if env_url:
            error = _connect_error(env_url, timeout=5)
            if error is not None:
                raise PostgresUnavailable(f"{ENV_URL} is set but cannot connect: {error}")
            return env_url
        for user in DEV_USERS:
            url = f"postgresql://{user}@{DEV_HOST}:{DEV_PORT}/{DEV_DBNAME}"
            error = _connect_error(url)
            if error is None:
                return url
            reasons.append(f"{url}: {error}")
    try:
        cluster = start_throwaway_cluster()
    except PostgresUnavailable as exc:
        reasons.append(f"throwaway cluster: {exc.reason}")
        raise PostgresUnavailable(
            "no PostgreSQL server available:\n  " + "\n  ".join(reasons)
        ) from exc
    _State.cluster = cluster
    atexit.register(_stop_cached_cluster)
    return cluster.url


def _with_dbname(url: str, dbname: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + dbname))
    return make_conninfo(url, dbname=dbname)


def fresh_database(base_url: str, name_prefix: str = "ledger_test") -> str:
    """Create a uniquely named empty database on ``base_url``'s server and return its URL."""
    name = f"{name_prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_dbname(base_url, name)


def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (terminating its sessions); missing is fine."""
    name = conninfo_to_dict(url).get("dbname")
    if not isinstance(name, str) or not name:
        raise ValueError(f"no database name in {url!r}")
    errors: list[str] = []
    for maintenance_db in ("postgres", "template1"):
        if maintenance_db == name:
            continue
        try:
            with psycopg.connect(
                _with_dbname(url, maintenance_db), autocommit=True, connect_timeout=10
            ) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            return
        except psycopg.OperationalError as exc:
            errors.append(f"{maintenance_db}: {exc}")
    raise PostgresUnavailable(f"could not drop database {name!r}: {'; '.join(errors)}")
