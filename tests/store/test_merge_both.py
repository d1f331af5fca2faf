"""``surveyor merge`` against both stores: idempotent, and concurrent merges double nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import journal_sample, walk_rows, write_gnettrack, write_journal

pytestmark = pytest.mark.postgis


def _merge(invoke, *args):
    r = invoke("merge", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _status(invoke, db):
    r = invoke("status", "--db", db, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_merging_twice_adds_nothing(tmp_path, invoke, db_url):
    j = write_journal(tmp_path / "walk.jsonl", [journal_sample(i) for i in range(30)], tail="{broken\n")
    g = write_gnettrack(tmp_path / "g.csv", walk_rows(20))
    first = _merge(invoke, str(j), str(g), "--db", db_url)
    assert first["added"] == 50 and first["quarantined"] == 1
    again = _merge(invoke, str(j), str(g), "--db", db_url)
    assert again["added"] == 0
    s = _status(invoke, db_url)
    assert s["samples"] == 50 and s["quarantined"] == 1 and s["merges"] == 2
    # the same walk copied under another name: every sample is a duplicate
    copy = write_journal(tmp_path / "copy.jsonl", [journal_sample(i) for i in range(30)])
    third = _merge(invoke, str(copy), "--db", db_url)
    assert third["added"] == 0 and third["duplicates"] == 30
    assert _status(invoke, db_url)["samples"] == 50


def _run_merge(path, db):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.Popen([sys.executable, "-m", "surveyor", "merge", str(path), "--db", db, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_concurrent_merges_of_overlapping_files_give_the_distinct_samples(tmp_path, invoke, db_url):
    # three files of one walk that overlap: 0-599, 300-899, 600-1199 -> 1200 distinct samples
    files = []
    for k, (a, b) in enumerate([(0, 600), (300, 900), (600, 1200)]):
        files.append(write_journal(tmp_path / f"part{k}.jsonl", [journal_sample(i) for i in range(a, b)]))
    procs = [_run_merge(f, db_url) for f in files + [files[0]]]  # and the first file twice at once
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    summaries = [json.loads(out) for out, _ in outs]
    assert sum(s["added"] for s in summaries) == 1200
    s = _status(invoke, db_url)
    assert s["samples"] == 1200
    assert s["merges"] == 3  # the second merge of the same file was skipped
    assert s["sessions"] == 1
