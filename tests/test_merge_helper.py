"""The helper process runs any top-level function given to it; large files are prepared in it, and
the database that leads to is the one an in-process merge makes, repeats across batches included."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from surveyor.ingest import large_files
from surveyor.ingest.helper import Helper, HelperFailed
from surveyor.ingest.large_files import merge_helper
from surveyor.ingest.merge import MergeOptions, _SeenIds, merge_sources
from surveyor.store import open_store

import helper_jobs as jobs
from helpers import journal_sample, write_big_gnettrack, write_journal


def test_seen_ids_agree_with_a_set():
    rng = np.random.default_rng(3)
    seen, truth = _SeenIds(), set()
    for size in [1, 5, 1000, 3, 20_000, 7, 64, 50_000, 2]:
        ids = rng.integers(-2**62, 2**62, size) if size % 2 else rng.integers(0, 40_000, size)
        known = seen.known(ids)
        assert known.tolist() == [int(i) in truth for i in ids]
        fresh = np.unique(ids[~known])
        seen.add(fresh)
        truth.update(int(i) for i in fresh)
    assert len(seen.runs) <= 4  # runs are merged as they grow


def _content(db: str) -> tuple:
    con = sqlite3.connect(db)
    try:
        ids = [r[0] for r in con.execute("SELECT sample_id FROM samples ORDER BY sample_id")]
        sessions = con.execute('SELECT session, samples, placed, "first", "last", operators FROM sessions '
                               "ORDER BY session").fetchall()
        rtree = con.execute("SELECT rtreecheck('rtree_samples_geom')").fetchone()[0]
        entries = con.execute("SELECT count(*) FROM rtree_samples_geom").fetchone()[0]
        placed = con.execute("SELECT count(*) FROM samples WHERE geom IS NOT NULL").fetchone()[0]
    finally:
        con.close()
    return ids, sessions, rtree, entries == placed


def test_helper_and_in_process_merges_store_the_same(tmp_path, monkeypatch):
    src = write_big_gnettrack(tmp_path / "big.csv", 150_000)
    # The first 2,000 rows again at the end: repeats that arrive in a later batch than the original.
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    with open(src, "a", encoding="utf-8") as fh:
        fh.writelines(lines[1:2001])
    results = {}
    for mode in ("helper", "in-process"):
        monkeypatch.setattr(large_files, "PARALLEL_MIN_BYTES", 0 if mode == "helper" else 1 << 60)
        monkeypatch.delenv("SURVEYOR_NO_WORKER", raising=False)
        db = str(tmp_path / f"{mode}.gpkg")
        helper = merge_helper()
        try:
            with open_store(db, create=True) as store:
                summary = merge_sources(store, [str(src)], MergeOptions(), helper=helper)
            used = helper.jobs_run > 0
        finally:
            helper.stop()
        assert used == (mode == "helper")
        assert summary.read == 152_000 and summary.added == 150_000 and summary.duplicates == 2_000
        results[mode] = _content(db)
    assert results["helper"] == results["in-process"]
    ids, sessions, rtree, complete = results["helper"]
    assert len(ids) == 150_000 and rtree == "ok" and complete
    assert sessions[0][1] == 150_000


def test_overlapping_merges_keep_session_counts_exact(tmp_path):
    a = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(200)])
    c = write_journal(tmp_path / "c.jsonl", [journal_sample(i) for i in range(100, 400)])  # overlaps a
    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        first = merge_sources(store, [str(a)])
        second = merge_sources(store, [str(c)])
        sessions = store.read_layer("sessions")
    assert first.added == 200 and second.added == 200 and second.duplicates == 100
    row = sessions.set_index("session").loc["s-1"]
    assert row["samples"] == 400 and row["placed"] == 400
    assert str(row["first"]).startswith("2026-07-14 01:00:00") and str(row["last"]).startswith("2026-07-14 01:13:18")


def test_helper_runs_any_top_level_function_item_by_item():
    import os

    helper = Helper()
    try:
        assert list(helper.run(jobs.squares, (5,), died=RuntimeError)) == [0, 1, 4, 9, 16]
        assert list(helper.run(jobs.squares, (0,), died=RuntimeError)) == []
        child, = helper.run(jobs.pid, (), died=RuntimeError)
        assert child != os.getpid() and helper.jobs_run == 3
    finally:
        helper.stop()


def test_helper_relays_exceptions_and_describes_unpicklable_ones():
    helper = Helper()
    try:
        got = []
        with pytest.raises(ValueError, match="stopped after 2"):
            for item in helper.run(jobs.fails_after, (2,), died=RuntimeError):
                got.append(item)
        assert got == [0, 1]
        with pytest.raises(HelperFailed, match="Unpicklable: holds a lock"):
            list(helper.run(jobs.fails_unpicklably, (), died=RuntimeError))
        assert list(helper.run(jobs.squares, (3,), died=RuntimeError)) == [0, 1, 4]  # still usable
    finally:
        helper.stop()


def test_helper_imports_what_the_caller_names_and_nothing_of_the_merge_itself():
    names = ("surveyor.ingest.merge", "pandas")
    warmed, plain = Helper(warm=names[:1]), Helper()
    try:
        loaded, = warmed.run(jobs.modules_loaded, (names,), died=RuntimeError)
        assert loaded == {"surveyor.ingest.merge": True, "pandas": True}
        loaded, = plain.run(jobs.modules_loaded, (names,), died=RuntimeError)
        assert loaded == {"surveyor.ingest.merge": False, "pandas": False}
    finally:
        warmed.stop()
        plain.stop()


def test_a_helper_that_dies_is_reported_by_the_callers_error():
    helper = Helper()
    try:
        with pytest.raises(LookupError, match="exit 3"):
            list(helper.run(jobs.exits, (3,), died=lambda code: LookupError(f"exit {code}")))
    finally:
        helper.stop()
