"""Bad input and faults of the shared store: each gets a message that names the fix, never the password."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import psycopg
import pytest

from surveyor.errors import NothingToDo, StoreError
from surveyor.store import open_store
from surveyor.store import postgis as pgmod
from tests.helpers import journal_sample, write_journal

from .conftest import PASSWORD
from .frames import record, samples_table

pytestmark = pytest.mark.postgis


def test_wrong_password_says_so_and_never_prints_it(pg_cluster, invoke):
    db = pg_cluster.new_db()
    url = pg_cluster.url(db, password="Wr0ng-Secret")
    with pytest.raises(StoreError) as err:
        open_store(url)
    msg = str(err.value)
    assert "password" in msg and "PGPASSWORD" in msg and "Wr0ng-Secret" not in msg
    r = invoke("status", "--db", url)
    assert r.exit_code == 1 and "refused the password" in r.output and "Wr0ng-Secret" not in r.output


def test_password_from_pgpassword_and_masked_in_status(pg_cluster, monkeypatch):
    db = pg_cluster.new_db()
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with open_store(pg_cluster.url(db, password=None), create=True) as s:
        assert s.status().samples == 0
    with open_store(pg_cluster.url(db), create=True) as s:
        assert PASSWORD not in s.status().db and PASSWORD not in s.url and ":***@" in s.url


def test_unreachable_server_names_host_port_and_the_fix():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError) as err:
        open_store(f"postgresql://team:{PASSWORD}@127.0.0.1:{port}/survey")
    msg = str(err.value)
    assert f"127.0.0.1:{port}" in msg and "Check that the server runs" in msg and PASSWORD not in msg


def test_database_without_postgis_says_create_extension(pg_cluster):
    db = pg_cluster.new_db(postgis=False)
    with pytest.raises(StoreError) as err:
        open_store(pg_cluster.url(db), create=True)
    assert "CREATE EXTENSION postgis" in str(err.value) and PASSWORD not in str(err.value)


def test_missing_database_and_empty_database(pg_cluster):
    with pytest.raises(StoreError) as err:
        open_store(pg_cluster.url("nosuchdb"))
    assert "does not exist" in str(err.value) and "createdb nosuchdb" in str(err.value)
    with pytest.raises(NothingToDo) as err:
        open_store(pg_cluster.url(pg_cluster.new_db()))
    assert "surveyor merge" in str(err.value)


def test_older_schema_is_migrated_and_newer_refused(pg_cluster, monkeypatch):
    url = pg_cluster.url(pg_cluster.new_db())
    # a database made by a surveyor that knew only schema 1 (no samples.area_code)
    monkeypatch.setattr(pgmod, "MIGRATIONS", {1: pgmod.MIGRATIONS[1]})
    monkeypatch.setattr(pgmod, "POSTGIS_SCHEMA_VERSION", 1)
    with open_store(url, create=True):
        pass
    monkeypatch.undo()
    with psycopg.connect(url, autocommit=True) as conn:
        cols = [r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                           "WHERE table_name = 'samples'")]
        assert "area_code" not in cols
        conn.execute("INSERT INTO areas (code, geom) VALUES ('33.07.05.2002', "
                     "ST_MakeEnvelope(109.8, -7.5, 109.9, -7.4, 4326))")
        conn.execute("INSERT INTO samples (sample_id, lat, lon, merge_id, geom) VALUES "
                     "(1, -7.437, 109.858, 1, ST_SetSRID(ST_MakePoint(109.858, -7.437), 4326))")
        conn.execute("INSERT INTO merges (merge_id, source_file) VALUES (1, 'old.jsonl')")
    with open_store(url) as new:  # migrated on open
        assert new.get_meta("schema_version") == pgmod.POSTGIS_SCHEMA_VERSION
        assert new.read_samples(["sample_id", "area_code"])["area_code"].tolist() == ["33.07.05.2002"]
    with psycopg.connect(url, autocommit=True) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM surveyor_schema ORDER BY 1")]
        assert versions == sorted(pgmod.MIGRATIONS)
        conn.execute("INSERT INTO surveyor_schema (version, description) VALUES (99, 'from the future')")
    with pytest.raises(StoreError) as err:
        open_store(url)
    assert "newer surveyor" in str(err.value) and "pip install -U surveyor" in str(err.value)


def test_connection_killed_between_append_and_commit(pg_url):
    store = open_store(pg_url, create=True)
    with store.writer_lock():
        mid = store.new_merge_id()
        store.append("samples", samples_table(50, mid))
        with psycopg.connect(pg_url, autocommit=True) as admin:  # the server ends every surveyor connection
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                          "'surveyor' AND datname = current_database() AND pid <> pg_backend_pid()")
        with pytest.raises(StoreError) as err:
            store.commit_merge(record(mid))
    msg = str(err.value)
    assert ("Lost the connection" in msg or "was lost" in msg) and PASSWORD not in msg
    store.close()
    with open_store(pg_url) as again:
        assert again.status().samples == 0 and again.merges() == []  # nothing half-written
        with again.writer_lock():
            mid = again.new_merge_id()
            again.append("samples", samples_table(50, mid))
            again.commit_merge(record(mid))
        assert again.status().samples == 50


def _surveyor_backends(url):
    with psycopg.connect(url, autocommit=True) as admin:
        return [r[0] for r in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'surveyor' AND datname = current_database() "
            "AND state = 'active' AND pid <> pg_backend_pid() AND (query ILIKE 'COPY%%' OR query ILIKE 'INSERT%%' "
            "OR query ILIKE 'SELECT sample_id%%')")]


def test_server_going_away_mid_merge_then_rerun_completes(tmp_path, pg_url, invoke):
    n = 60_000
    big = write_journal(tmp_path / "big.jsonl", [journal_sample(i) for i in range(n)])
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    killed = False
    for _attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "surveyor", "merge", str(big), "--db", pg_url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            pids = _surveyor_backends(pg_url)
            if pids:
                with psycopg.connect(pg_url, autocommit=True) as admin:
                    for pid in pids:
                        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                killed = True
                break
            time.sleep(0.02)
        out, err = proc.communicate(timeout=240)
        if killed:
            break
    if not killed:
        pytest.skip("the merge finished before a backend could be terminated")
    assert proc.returncode == 1, (out, err)
    assert "PostgreSQL" in err and "run the same command again" in err and PASSWORD not in err + out
    with open_store(pg_url, create=True) as s:
        # nothing of the interrupted file is visible
        assert s.status().samples in (0,) and s.merges() == []
    r = invoke("merge", str(big), "--db", pg_url, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == n
    with open_store(pg_url) as s:
        assert s.status().samples == n and len(s.merges()) == 1


def test_merge_output_never_shows_the_password(tmp_path, pg_url, invoke):
    j = write_journal(tmp_path / "w.jsonl", [journal_sample(i) for i in range(3)])
    r = invoke("merge", str(j), "--db", pg_url)
    assert r.exit_code == 0 and PASSWORD not in r.output
