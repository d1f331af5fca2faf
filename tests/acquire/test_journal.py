"""The journal writer: format of docs/journal.md, resume after a cut line, disk full, kill -9."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from surveyor.acquire import journal
from surveyor.acquire.journal import JournalError, JournalWriter, make_sample
from surveyor.model import SAMPLE_FIELDS

from .conftest import REPO, read_journal


def test_make_sample_orders_fields_drops_unknown_and_uses_utc_z():
    import datetime as dt

    when = dt.datetime(2024, 5, 1, 10, 15, 2, 123456, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    s = make_sample(time=when, kind="signal", operator="Telkomsel", rsrp_dbm=-101.0, lat=None,
                    no_fix=True, sinr_db=float("nan"))
    assert s["v"] == 1 and next(iter(s)) == "v"
    assert s["time"] == "2024-05-01T03:15:02.123Z"  # WIB 10:15 is 03:15 UTC
    assert "lat" not in s and "sinr_db" not in s
    assert list(s) == [k for k in SAMPLE_FIELDS if k in s]
    with pytest.raises(KeyError):
        make_sample(time=when, rsrp=-100)


def test_writer_appends_lines_and_new_run_starts_after_a_cut_line(tmp_path):
    path = tmp_path / "walk.jsonl"
    with JournalWriter(path) as w:
        w.write(make_sample(time="2024-05-01T03:15:02Z", kind="signal", note="line\nbreak ünï"))
    # A crash cut the next line halfway.
    with open(path, "ab") as f:
        f.write(b'{"v":1,"time":"2024-05-01T03:15:03Z","kin')
    with JournalWriter(path) as w:
        w.write(make_sample(time="2024-05-01T03:15:04Z", kind="signal"))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = []
    for line in lines[:-1]:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            parsed.append(None)
    assert parsed[0]["note"] == "line\nbreak ünï"
    assert parsed[1] is None  # only the cut line is broken
    assert parsed[2]["time"] == "2024-05-01T03:15:04Z"


def test_disk_full_dev_full_gives_a_clear_error():
    w = JournalWriter("/dev/full")
    try:
        with pytest.raises(JournalError) as exc:
            w.write(make_sample(time="2024-05-01T03:15:02Z", kind="signal"))
        assert "disk is full" in str(exc.value)
    finally:
        w.close()


def test_disk_full_midway_keeps_what_was_written_valid(tmp_path, monkeypatch):
    path = tmp_path / "walk.jsonl"
    w = JournalWriter(path)
    w.write(make_sample(time="2024-05-01T03:15:02Z", kind="signal", rsrp_dbm=-90.0))
    real_write = os.write

    def half_then_enospc(fd, data):
        # The device takes a few bytes of the line, then reports ENOSPC.
        if fd == w._fd and len(data) > 10:
            real_write(fd, bytes(data[:10]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(journal.os, "write", half_then_enospc)
    with pytest.raises(JournalError) as exc:
        w.write(make_sample(time="2024-05-01T03:15:03Z", kind="signal", rsrp_dbm=-91.0))
    monkeypatch.undo()
    w.close()
    assert "No space left" in str(exc.value) and "1 samples of this run are safe" in str(exc.value)
    rows = read_journal(path)  # every line parses
    assert [r["rsrp_dbm"] for r in rows] == [-90.0]


def test_device_id_is_stable_and_stored(tmp_path):
    a = journal.device_id(tmp_path)
    b = journal.device_id(tmp_path)
    assert a == b and (tmp_path / "device-id").read_text().strip() == a
    assert journal.device_id(tmp_path / "other") != a


def test_session_ids_differ_per_run():
    assert journal.new_session_id() != journal.new_session_id()


def test_kill_9_mid_run_leaves_a_journal_that_parses_line_by_line(tmp_path, fake_bin):
    path = tmp_path / "walk.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "surveyor", "log", "--out", str(path), "--gps", "fixed:-7.437,109.858",
           "--signal", "termux", "--interval", "0.02", "-q"]
    for run in range(2):  # kill, then append to the same journal and kill again
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 6000 * (run + 1)):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    raw = path.read_bytes().split(b"\n")
    bad = []
    rows = []
    for i, line in enumerate(raw):
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            bad.append(i)
    # At most the line being written when each kill came is lost, and it stays on its own line.
    assert len(bad) <= 2
    assert len(rows) > 20
    assert len({r["session"] for r in rows}) == 2
    assert all(r["operator"] in ("Telkomsel", "Indosat") for r in rows)
