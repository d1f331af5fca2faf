"""A real PostgreSQL 15 + PostGIS 3 throwaway cluster, and stores of both kinds for the same tests.

The cluster is made once per test session (initdb + pg_ctl as user ``postgres`` when run as root,
in a temporary folder, on a free port of 127.0.0.1) and stopped afterwards. Each test gets its own
database cloned from a template that already has PostGIS. When the binaries are missing the tests
skip, except under ``CI=true``, where they fail: CI must run them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PASSWORD = "s3cret-Pa55"  # the password of the test role; tests check it never appears in messages
ROLE = "team"


def _bindir() -> str | None:
    env = os.environ.get("SURVEYOR_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("pg_ctl"):
        candidates.append(os.path.dirname(shutil.which("pg_ctl")))
    for c in candidates:
        if c and os.path.exists(os.path.join(c, "initdb")) and os.path.exists(os.path.join(c, "pg_ctl")):
            return c
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running throwaway cluster: superuser ``postgres`` over the socket, ``team`` over TCP."""

    def __init__(self, bindir: str, root: Path, port: int, as_postgres: bool):
        self.bindir, self.root, self.port, self.as_postgres = bindir, root, port, as_postgres
        self.datadir = root / "data"
        self.socket_dir = root

    def run(self, tool: str, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        cmd = [os.path.join(self.bindir, tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)

    def psql(self, sql: str, db: str = "postgres", check: bool = True) -> str:
        user = "postgres"
        r = self.run("psql", "-h", str(self.socket_dir), "-p", str(self.port), "-U", user, "-d", db,
                     "-v", "ON_ERROR_STOP=1", "-At", "-c", sql, check=False)
        if check and r.returncode:
            raise RuntimeError(r.stderr)
        return r.stdout.strip()

    def url(self, db: str, password: str | None = PASSWORD, user: str = ROLE) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def new_db(self, postgis: bool = True) -> str:
        name = "t_" + uuid.uuid4().hex[:10]
        template = "tmpl_postgis" if postgis else "template0"
        self.psql(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE {template}")
        return name

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.datadir), "-w", "-t", "60", "-l", str(self.root / "log"),
                 "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100",
                 "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.datadir), "-w", "-m", "fast", "stop", check=False)


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = _bindir()
    reason = "PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql-15-postgis-3"
    if bindir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: PostGIS tests must run)")
        pytest.skip(reason)
    if not glob.glob("/usr/share/postgresql/*/extension/postgis.control") and \
            not os.environ.get("SURVEYOR_PG_BINDIR"):
        msg = "PostGIS extension not installed; install postgresql-15-postgis-3"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="surveyor-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if as_postgres:
        shutil.chown(pwfile, "postgres", "postgres")
    cluster = Cluster(bindir, root, _free_port(), as_postgres)
    cluster.run("initdb", "-D", str(cluster.datadir), "-U", "postgres", "--auth-local=trust",
                "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8")
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        pytest.fail(f"cannot start the test cluster: {exc.stderr}\n{log}")
    try:
        cluster.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        cluster.psql(f"CREATE DATABASE tmpl_postgis OWNER {ROLE}")
        cluster.psql("CREATE EXTENSION postgis", db="tmpl_postgis")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster):
    """The URL of a fresh PostGIS database of its own (password in the URL)."""
    return pg_cluster.url(pg_cluster.new_db())


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    """A new empty store of each kind: the same behavioural tests run against both."""
    from surveyor.store import open_store

    if request.param == "gpkg":
        db = str(tmp_path / "survey.gpkg")
    else:
        db = request.getfixturevalue("pg_url")
    s = open_store(db, create=True)
    yield s
    s.close()


@pytest.fixture(params=["gpkg", "postgis"])
def db_url(request, tmp_path):
    """A database location of each kind (nothing created yet), for command-level tests."""
    if request.param == "gpkg":
        return str(tmp_path / "survey.gpkg")
    return request.getfixturevalue("pg_url")
