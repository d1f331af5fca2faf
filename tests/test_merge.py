"""surveyor merge: counts that add up, idempotency, quarantine reasons, replace and remove."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from surveyor.store import open_store

from helpers import GNETTRACK_HEADER, gnettrack_row, journal_sample, walk_rows, write_gnettrack, write_journal

BUCKETS = ("added", "duplicates", "quarantined", "neighbours", "track_points", "towers")


def merge_json(invoke, *args):
    r = invoke("merge", *args, "--json")
    return r, (json.loads(r.stdout) if r.stdout.strip().startswith("{") else None)


def assert_adds_up(summary):
    assert summary["read"] == sum(summary[k] for k in BUCKETS)
    for f in summary["per_file"]:
        assert f["read"] == sum(f[k] for k in BUCKETS), f


def test_journal_and_gnettrack_merge_then_nothing_added_again(tmp_path, invoke):
    j = write_journal(tmp_path / "walk.jsonl", [journal_sample(i) for i in range(30)])
    g = write_gnettrack(tmp_path / "g.csv", walk_rows(40))
    db = str(tmp_path / "s.gpkg")
    r, s = merge_json(invoke, str(j), str(g), "--db", db)
    assert r.exit_code == 0, r.output
    assert s["files"] == 2 and s["read"] == 70 and s["added"] == 70
    assert {f["format"] for f in s["per_file"]} == {"journal", "gnettrack"}
    assert_adds_up(s)
    r2, s2 = merge_json(invoke, str(tmp_path), "--db", db)
    assert r2.exit_code == 0
    assert s2["added"] == 0 and s2["duplicates"] == 70
    assert_adds_up(s2)
    with open_store(db) as store:
        st = store.status()
        assert st.samples == 70
        assert st.by_operator == {"Telkomsel": 70}
        df = store.read_samples(["time", "source_format", "source_file", "sample_id", "h3_10", "rsrp_dbm"])
    assert df["sample_id"].is_unique
    assert df["h3_10"].notna().all()
    # G-NetTrack local times (WIB, UTC+7) are stored as UTC.
    g_first = df[df.source_format == "gnettrack"]["time"].min()
    assert g_first == datetime(2026, 7, 14, 1, 0, 0, tzinfo=g_first.tzinfo)


def test_copy_of_a_file_on_another_computer_adds_nothing(tmp_path, invoke):
    (tmp_path / "a").mkdir()
    a = write_journal(tmp_path / "a" / "walk.jsonl", [journal_sample(i) for i in range(10)])
    b = tmp_path / "b.jsonl"
    # The same walk, appended to later on the phone: old lines are duplicates, the new ones are added.
    write_journal(b, [journal_sample(i) for i in range(15)])
    db = str(tmp_path / "s.gpkg")
    merge_json(invoke, str(a), "--db", db)
    _, s = merge_json(invoke, str(b), "--db", db)
    assert s["added"] == 5 and s["duplicates"] == 10


def test_two_devices_walking_together_are_both_kept(tmp_path, invoke):
    a = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(10)])
    b = write_journal(tmp_path / "b.jsonl", [journal_sample(i, device="dev-B") for i in range(10)])
    _, s = merge_json(invoke, str(a), str(b), "--db", str(tmp_path / "s.gpkg"))
    assert s["added"] == 20


def test_same_second_different_values_are_two_samples(tmp_path, invoke):
    t = datetime(2026, 7, 14, 8, 0, 0)
    g = write_gnettrack(tmp_path / "g.csv", [gnettrack_row(t, -7.437, 109.858, -90),
                                             gnettrack_row(t, -7.437, 109.858, -91),
                                             gnettrack_row(t, -7.437, 109.858, -91)])
    _, s = merge_json(invoke, str(g), "--db", str(tmp_path / "s.gpkg"))
    assert s["added"] == 2 and s["duplicates"] == 1


@pytest.mark.parametrize("row, reason", [
    (gnettrack_row(datetime(2026, 7, 14, 8), 95.0, 109.858), "lat_out_of_range"),
    (gnettrack_row(datetime(2026, 7, 14, 8), -7.437, 200.0), "lon_out_of_range"),
    (gnettrack_row(datetime(2026, 7, 14, 8), 0.0, 0.0), "null_island"),
    (gnettrack_row(datetime(1901, 1, 1, 8), -7.437, 109.858), "time_out_of_range"),
    (gnettrack_row(datetime.now() + timedelta(days=30), -7.437, 109.858), "time_out_of_range"),
    (gnettrack_row(datetime(2026, 7, 14, 8), -7.437, 109.858, rsrp=20), "value_out_of_range"),
    (gnettrack_row(datetime(2026, 7, 14, 8), -7.437, 109.858, rsrp="strong"), "bad_value"),
    ("2026.07.14_08.00.01,109.858,-7.437,3,IND", "malformed_row"),
])
def test_bad_rows_are_quarantined_with_reason_and_raw_text(tmp_path, invoke, row, reason):
    good = walk_rows(3)
    g = write_gnettrack(tmp_path / "g.csv", [good[0], row, good[1], good[2]])
    db = str(tmp_path / "s.gpkg")
    r, s = merge_json(invoke, str(g), "--db", db)
    assert r.exit_code == 0, r.output
    assert s["added"] == 3 and s["quarantined"] == 1 and s["by_reason"] == {reason: 1}
    assert_adds_up(s)
    with open_store(db) as store:
        q = store.read_layer("quarantine")
    assert q.iloc[0]["line"] == 3  # header is line 1
    assert q.iloc[0]["raw"] == row
    assert q.iloc[0]["reason"] == reason and q.iloc[0]["message"]
    assert q.iloc[0]["source_file"] == str(g)


def test_journal_truncated_last_line_and_non_utf8_lines(tmp_path, invoke):
    j = tmp_path / "walk.jsonl"
    lines = [json.dumps(journal_sample(i)) + "\n" for i in range(5)]
    data = "".join(lines).encode() + b'{"v": 1, "time": "2026-07-14T01:00:50Z", "note": "caf\xe9"}\n' + \
        lines[0][:40].replace("01:00:00", "01:09:00").encode()
    j.write_bytes(data)
    r, s = merge_json(invoke, str(j), "--db", str(tmp_path / "s.gpkg"))
    assert r.exit_code == 0
    assert s["added"] == 5
    assert s["by_reason"] == {"bad_encoding": 1, "truncated": 1}
    assert_adds_up(s)


def test_no_signal_and_no_fix_samples_are_kept(tmp_path, invoke):
    samples = [journal_sample(0, service="no_service", tech="NONE", rsrp_dbm=None),
               journal_sample(1, no_fix=True, lat=None, lon=None),
               journal_sample(2, kind="speed", test="failed", test_error="timeout", rsrp_dbm=None)]
    j = write_journal(tmp_path / "w.jsonl", samples)
    db = str(tmp_path / "s.gpkg")
    _, s = merge_json(invoke, str(j), "--db", db)
    assert s["added"] == 3
    with open_store(db) as store:
        st = store.status()
    assert st.unplaced == 1 and st.by_kind == {"signal": 2, "speed": 1}


@pytest.mark.parametrize("content, expect", [
    (b"", "empty"),
    ((GNETTRACK_HEADER + "\n").encode(), "no data rows"),
    (b"when,where,bars\n2026-07-14,Lipursari,3\n", "Known formats"),
])
def test_unusable_files_are_reported_and_others_still_merge(tmp_path, invoke, content, expect):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    good = write_journal(tmp_path / "good.jsonl", [journal_sample(i) for i in range(3)])
    r, s = merge_json(invoke, str(bad), str(good), "--db", str(tmp_path / "s.gpkg"))
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    err = [f for f in s["per_file"] if f.get("error")]
    assert len(err) == 1 and expect in err[0]["error"] and "bad.csv" in err[0]["error"]
    assert s["added"] == 3


def test_wrong_delimiter_loses_nothing(tmp_path, invoke):
    bad = tmp_path / "pipes.csv"
    bad.write_text(GNETTRACK_HEADER.replace(",", "|") + "\n"
                   + "\n".join(r.replace(",", "|") for r in walk_rows(4)) + "\n")
    r, s = merge_json(invoke, str(bad), "--db", str(tmp_path / "s.gpkg"))
    assert "Traceback" not in r.output
    f = s["per_file"][0]
    # Either the file is refused with the list of formats, or every row is accounted for.
    if f.get("error"):
        assert r.exit_code == 1 and "--format" in f["error"]
    else:
        assert f["read"] == 4 and f["read"] == sum(f[k] for k in BUCKETS)
        assert f["quarantined"] == 0 or sum(f["by_reason"].values()) == f["quarantined"]


def test_gnettrack_resaved_by_a_spreadsheet_with_semicolons_and_decimal_commas(tmp_path, invoke):
    rows = [r.replace(",", ";") for r in walk_rows(5)]
    rows = [";".join(f.replace(".", ",") if i in (1, 2, 9) else f for i, f in enumerate(r.split(";"))) for r in rows]
    g = tmp_path / "g.csv"
    g.write_text(GNETTRACK_HEADER.replace(",", ";") + "\n" + "\n".join(rows) + "\n")
    db = str(tmp_path / "s.gpkg")
    _, s = merge_json(invoke, str(g), "--db", db)
    assert s["per_file"][0]["format"] == "gnettrack" and s["added"] == 5
    with open_store(db) as store:
        df = store.read_samples(["lat", "lon", "sinr_db"])
    assert df["lat"].between(-7.44, -7.43).all() and df["lon"].between(109.85, 109.86).all()
    assert (df["sinr_db"] == 5.0).all()


def test_unknown_format_message_names_the_fix(tmp_path, invoke):
    bad = tmp_path / "app.csv"
    bad.write_text("when,where,bars\n2026-07-14,Lipursari,3\n")
    r = invoke("merge", str(bad), "--db", str(tmp_path / "s.gpkg"))
    assert r.exit_code == 1
    assert "app.csv" in r.stderr and "--format" in r.stderr and "gnettrack" in r.stderr and "--map" in r.stderr


def test_replace_with_corrected_time_zone(tmp_path, invoke):
    g = write_gnettrack(tmp_path / "g.csv", walk_rows(10))
    db = str(tmp_path / "s.gpkg")
    merge_json(invoke, str(g), "--db", db, "--tz", "UTC")
    _, again = merge_json(invoke, str(g), "--db", db, "--tz", "Asia/Jakarta")
    assert again["added"] == 0  # merged before: skipped without --replace
    _, fixed = merge_json(invoke, str(g), "--db", db, "--tz", "Asia/Jakarta", "--replace")
    assert fixed["added"] == 10
    with open_store(db) as store:
        df = store.read_samples(["time"])
        assert len(df) == 10 and len(store.merges()) == 1
    assert df["time"].min().hour == 1  # 08:00 WIB is 01:00 UTC


def test_remove_source_session_device(tmp_path, invoke):
    a = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(10)])
    b = write_journal(tmp_path / "b.jsonl", [journal_sample(i, device="dev-B", session="s-2") for i in range(6)])
    db = str(tmp_path / "s.gpkg")
    merge_json(invoke, str(a), str(b), "--db", db)
    r = invoke("remove", "--db", db, "--session", "s-2", "--yes", "--json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    backup = out.pop("backup")
    assert out == {"samples": 6}
    assert backup.startswith(str(tmp_path / "backups")) and Path(backup).is_file()
    assert f"A copy of the database as it was is kept in {backup}." in r.stderr
    with open_store(backup) as copy:  # the backup holds what was removed
        assert copy.status().samples == 16
    r = invoke("remove", "--db", db, "--source", str(a), "--yes")
    assert r.exit_code == 0
    assert r.stdout == f"Removed source {a} (1 merge) from {db}: 10 samples.\n"
    with open_store(db) as store:
        assert store.status().samples == 0
    r = invoke("remove", "--db", db, "--device", "nobody", "--yes")
    assert r.exit_code == 1 and "No samples" in r.stderr
    r = invoke("remove", "--db", db, "--yes")
    assert r.exit_code == 2
    # A removed source merges again.
    _, s = merge_json(invoke, str(a), "--db", db)
    assert s["added"] == 10


def test_stdin_and_folders(tmp_path, invoke):
    sub = tmp_path / "walks" / "day1"
    sub.mkdir(parents=True)
    write_journal(sub / "a.jsonl", [journal_sample(i) for i in range(4)])
    (tmp_path / "walks" / "notes.md").write_text("not data")
    db = str(tmp_path / "s.gpkg")
    _, s = merge_json(invoke, str(tmp_path / "walks"), "--db", db)
    assert s["files"] == 1 and s["added"] == 4
    data = "".join(json.dumps(journal_sample(i, device="dev-C")) + "\n" for i in range(3))
    r = invoke("merge", "-", "--db", db, "--json", input=data)
    assert json.loads(r.stdout)["added"] == 3


def test_status_json_and_text(tmp_path, invoke):
    j = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(5)])
    db = str(tmp_path / "s.gpkg")
    merge_json(invoke, str(j), "--db", db)
    r = invoke("status", "--db", db, "--json")
    st = json.loads(r.stdout)
    for key in ("samples", "by_operator", "by_kind", "sessions", "first", "last", "quarantined"):
        assert key in st
    assert st["samples"] == 5 and st["sessions"] == 1 and st["first"].startswith("2026-07-14T01:00:00")
    assert "volunteer" not in json.dumps(st["per_session"])
    r = invoke("status", "--db", db)
    assert "5 samples in 1 session, 1 device named" in r.stdout and "Telkomsel" in r.stdout


def test_merge_json_keys_and_text_are_those_of_the_readme(tmp_path, invoke):
    j = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(5)], tail="{cut")
    (tmp_path / "notes.txt").write_text("not survey data\n")
    db = str(tmp_path / "s.gpkg")
    r, s = merge_json(invoke, str(j), str(tmp_path / "notes.txt"), "--db", db)
    assert r.exit_code == 1  # one file in no known format
    assert list(s) == ["files", "read", "added", "duplicates", "quarantined", "neighbours", "track_points", "towers",
                       "by_reason", "placed_from_tracks", "failed_files", "passed_over", "per_file"]
    assert (s["files"], s["read"], s["added"], s["quarantined"], s["failed_files"]) == (2, 6, 5, 1, 1)
    assert s["by_reason"] == {"truncated": 1}
    assert s["placed_from_tracks"] == {"placed": 0, "unplaced": 0, "reasons": {}, "messages": []}
    journal, notes = s["per_file"]
    assert list(journal) == ["file", "format", "read", "added", "duplicates", "quarantined", "neighbours",
                             "track_points", "towers", "by_reason", "unused_columns", "already_stored", "out_of_scope"]
    assert journal["format"] == "journal" and "error" in notes and notes["format"] is None
    r = invoke("merge", str(j), "--db", db)
    assert r.exit_code == 0
    # Merged before: one line, and no quarantine summary of the old merge.
    assert r.stdout == f"1 file merged before, nothing new -> {db}\n"
    assert "Quarantined" not in r.stderr
    r = invoke("merge", str(j), "--db", db, "--replace")
    assert f"{j} [journal]: 6 rows, 5 added, 1 quarantined" in r.stderr
    r = invoke("status", "--db", db)
    assert r.stdout.startswith(f"{db}: 5 samples in 1 session, 1 device named, on 1 day")
    assert "quarantined rows: 1 (truncated 1)" in r.stdout


def test_status_without_database_says_merge_first(tmp_path, invoke):
    r = invoke("status", "--db", str(tmp_path / "none.gpkg"))
    assert r.exit_code == 1 and "surveyor merge" in r.stderr and "Traceback" not in r.output


def test_bad_time_zone_is_a_usage_error(tmp_path, invoke):
    j = write_journal(tmp_path / "a.jsonl", [journal_sample(0)])
    r = invoke("merge", str(j), "--db", str(tmp_path / "s.gpkg"), "--tz", "Mars/Olympus")
    assert r.exit_code == 2 and "Asia/Jakarta" in r.stderr


@pytest.mark.realdata
def test_real_gnettrack_logs(shared_data, tmp_path, invoke):
    files = sorted((shared_data / "gnettrack").glob("*.csv"))
    assert len(files) == 3
    db = str(tmp_path / "s.gpkg")
    r, s = merge_json(invoke, *map(str, files), "--db", db, "--tz", "Europe/Dublin")
    assert r.exit_code == 0, r.output
    assert_adds_up(s)
    lines = sum(sum(1 for _ in open(f)) - 1 for f in files)
    assert s["read"] == lines
    assert s["added"] >= lines - 10  # repeated identical rows are the only duplicates
    with open_store(db) as store:
        df = store.read_samples(["tech", "rsrp_dbm", "rscp_dbm", "nr_rsrp_dbm", "throughput_dl_kbps", "kind"])
    assert set(df["tech"].dropna()) == {"LTE", "NR", "UMTS", "GSM"}
    assert df.loc[df.tech == "UMTS", "rsrp_dbm"].isna().all()  # 3G values are RSCP, not RSRP
    assert df.loc[df.tech == "UMTS", "rscp_dbm"].notna().any()
    assert df.loc[df.tech == "NR", "nr_rsrp_dbm"].notna().any()
    assert (df["kind"] == "signal").all() and df["throughput_dl_kbps"].max() > 1000
    _, again = merge_json(invoke, *map(str, files), "--db", db, "--tz", "Europe/Dublin")
    assert again["added"] == 0 and again["read"] == s["read"]
    assert_adds_up(again)


def test_map_columns_of_an_unknown_table_without_format(tmp_path, invoke):
    t = tmp_path / "sheet.csv"
    t.write_text("Waktu;Lintang;Bujur;Sinyal\n2026-07-14T08:00:00+07:00;-7,437;109,858;-101\n"
                 "2026-07-14T08:00:10+07:00;-7,438;109,859;-118\n")
    r, s = merge_json(invoke, str(t), "--db", str(tmp_path / "s.gpkg"), "--map", "Waktu=time", "--map", "Lintang=lat",
                      "--map", "Bujur=lon", "--map", "Sinyal=rsrp_dbm", "--operator", "Telkomsel")
    assert r.exit_code == 0, r.output
    assert s["per_file"][0]["format"] == "generic" and s["added"] == 2
    r = invoke("merge", str(t), "--db", str(tmp_path / "s.gpkg"), "--map", "Sinyal=rsrp_watts")
    assert r.exit_code == 2 and "rsrp_dbm" in r.stderr
