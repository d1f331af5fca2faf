"""Merges that are killed midway or run at the same time: nothing half-written, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import pytest

from surveyor.store import open_store

from helpers import journal_sample, walk_rows, write_big_gnettrack, write_gnettrack, write_journal

pytestmark = pytest.mark.slow


def _surveyor(*args: str) -> list[str]:
    return [sys.executable, "-m", "surveyor", *args]


def _raw_sample_rows(db: str) -> int:
    con = sqlite3.connect(db, timeout=60)
    try:
        return con.execute("SELECT count(*) FROM samples").fetchone()[0]
    finally:
        con.close()


def _workers_of(pid: int) -> list[int]:
    """Processes started by ``pid`` that are still alive (they are re-parented when it dies)."""
    import psutil

    return [p.pid for p in psutil.process_iter(["cmdline", "environ"])
            if "spawn_main" in " ".join(p.info["cmdline"] or []) and _started_by(p, pid)]


def _started_by(p, pid: int) -> bool:
    try:
        return p.parent() is None or p.parent().pid in (pid, 1) or p.ppid() == pid
    except Exception:
        return False


def test_kill_9_midway_leaves_nothing_and_a_rerun_completes(tmp_path):
    big = write_big_gnettrack(tmp_path / "big.csv", 400_000)
    small = write_journal(tmp_path / "small.jsonl", [journal_sample(i) for i in range(20)])
    db = str(tmp_path / "s.gpkg")
    subprocess.run(_surveyor("merge", str(small), "--db", db), check=True, capture_output=True)
    proc = subprocess.Popen(_surveyor("merge", str(big), "--db", db), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    written = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            written = _raw_sample_rows(db)
        except sqlite3.OperationalError:
            written = 0
        if written > 20:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the merge finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # The worker process that read the file for it does not outlive it.
    deadline = time.time() + 30
    while time.time() < deadline and _workers_of(proc.pid):
        time.sleep(0.2)
    assert not _workers_of(proc.pid)
    assert 20 < _raw_sample_rows(db) < 400_020  # part of the big file was on disk
    with open_store(db) as store:
        st = store.status()
        assert st.samples == 20 and st.merges == 1  # ...but none of it is visible
    done = subprocess.run(_surveyor("merge", str(big), "--db", db, "--json"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open_store(db) as store:
        assert store.status().samples == 400_020
    assert _raw_sample_rows(db) == 400_020  # the leftovers were cleaned up, nothing doubled
    con = sqlite3.connect(db)
    try:  # the spatial index was repaired and packed: valid, one entry per sample, triggers back
        assert con.execute("SELECT rtreecheck('rtree_samples_geom')").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM rtree_samples_geom").fetchone()[0] == 400_020
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                           "AND name LIKE 'rtree_samples_geom_%'").fetchone()[0] >= 6
    finally:
        con.close()


def test_two_merges_at_once_of_overlapping_files(tmp_path):
    a = write_gnettrack(tmp_path / "a.csv", walk_rows(300))
    b = write_journal(tmp_path / "b.jsonl", [journal_sample(i) for i in range(200)])
    c = write_journal(tmp_path / "c.jsonl", [journal_sample(i) for i in range(100, 400)])  # overlaps b
    db = str(tmp_path / "s.gpkg")
    p1 = subprocess.Popen(_surveyor("merge", str(a), str(b), "--db", db), stderr=subprocess.PIPE)
    p2 = subprocess.Popen(_surveyor("merge", str(c), str(b), str(a), "--db", db), stderr=subprocess.PIPE)
    assert p1.wait(timeout=300) == 0, p1.stderr.read()
    assert p2.wait(timeout=300) == 0, p2.stderr.read()
    with open_store(db) as store:
        st = store.status()
        ids = store.read_samples(["sample_id"])["sample_id"]
    assert st.samples == 300 + 400  # a's 300, and the 400 distinct journal samples of b and c
    assert ids.is_unique
    assert st.merges == 3
    assert store.get_meta("writer_lock") is None  # the lock goes with the last writer


def test_three_merges_with_different_tmpdirs_and_paths_into_one_geopackage_count_exactly(tmp_path):
    """The lock lives with the database: neither TMPDIR nor the path (a symbolic or a hard link)
    used to open it lets two writers in at once, and merge ids are never shared."""
    files = [write_gnettrack(tmp_path / f"walk{k}.csv", walk_rows(3000, start=datetime(2026, 7, 14 + k, 8)))
             for k in range(3)]
    overlap = write_journal(tmp_path / "shared.jsonl", [journal_sample(i) for i in range(500)])
    db = tmp_path / "survey.gpkg"
    subprocess.run(_surveyor("init", str(tmp_path / "proj")), check=True, capture_output=True)
    (tmp_path / "proj" / "survey.gpkg").rename(db)
    (tmp_path / "link").mkdir()
    os.symlink(db, tmp_path / "link" / "via-symlink.gpkg")
    os.link(db, tmp_path / "link" / "via-hardlink.gpkg")
    paths = [str(db), str(tmp_path / "link" / "via-symlink.gpkg"), str(tmp_path / "link" / "via-hardlink.gpkg")]
    procs = []
    for k, (f, path) in enumerate(zip(files, paths)):
        tmpdir = tmp_path / f"tmp{k}"
        tmpdir.mkdir()
        env = dict(os.environ, TMPDIR=str(tmpdir))
        procs.append(subprocess.Popen(_surveyor("merge", str(f), str(overlap), "--db", path, "--json"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    assert all("Traceback" not in e for _, e in outs)
    added = sum(json.loads(o)["added"] for o, _ in outs)
    with open_store(str(db)) as store:
        st = store.status()
        samples = store.read_samples(["sample_id", "merge_id", "source_file"])
        merges = store.merges()
    assert added == st.samples == 3 * 3000 + 500
    assert samples["sample_id"].is_unique
    assert len(merges) == 4 and len({m.merge_id for m in merges}) == 4  # 3 walks + the shared journal once
    by_merge = {m.merge_id: m.source_file for m in merges}
    # Every sample carries the merge id of the file it came from.
    assert (samples["merge_id"].map(by_merge) == samples["source_file"]).all()


def test_ctrl_c_stops_at_once_and_leaves_nothing(tmp_path):
    big = write_big_gnettrack(tmp_path / "big.csv", 400_000)  # over 32 MB: read by the helper process
    db = str(tmp_path / "s.gpkg")
    proc = subprocess.Popen(_surveyor("merge", str(big), "--db", db), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if _raw_sample_rows(db) > 0:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the merge finished before it could be interrupted; make the file bigger"
    proc.send_signal(signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=60)
    # The helper is mid-file: it is stopped at once, not waited for.
    assert time.time() - t0 < 3, err
    assert proc.returncode == 1 and "Traceback" not in err
    assert f"stopped: nothing of {big} was kept; run the same command again" in err
    deadline = time.time() + 30
    while time.time() < deadline and _workers_of(proc.pid):
        time.sleep(0.2)
    assert not _workers_of(proc.pid)
    with open_store(db) as store:
        assert store.status().samples == 0
    done = subprocess.run(_surveyor("merge", str(big), "--db", db), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open_store(db) as store:
        assert store.status().samples == 400_000
