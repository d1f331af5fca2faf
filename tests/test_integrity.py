"""Evidence integrity: merge never inflates, invents or loses evidence, outputs keep to the survey's
scope and its exclusion zones, and nothing ends in a traceback. One test per reported case; each
asserts the message and the exit code users see."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveyor.store import open_store

from helpers import journal_sample, walk_rows, write_gnettrack, write_journal

BUCKETS = ("added", "duplicates", "quarantined", "neighbours", "track_points", "towers")


def merge_json(invoke, *args):
    r = invoke("merge", *args, "--json")
    assert r.stdout.strip().startswith("{"), r.output
    s = json.loads(r.stdout)
    assert s["read"] == sum(s[k] for k in BUCKETS)
    return r, s


def survey(tmp_path: Path, zones: list[tuple[float, float, float]] = (), name: str = "lipursari") -> Path:
    """A survey folder made by `surveyor init`, with exclusion zones appended to its survey.toml."""
    root = tmp_path / name
    subprocess.run([sys.executable, "-m", "surveyor", "init", str(root)], check=True, capture_output=True)
    with open(root / "survey.toml", "a", encoding="utf-8") as fh:
        for lat, lon, r in zones:
            fh.write(f"\n[[exclusion_zones]]\nlat = {lat}\nlon = {lon}\nradius_m = {r}\nlabel = \"home\"\n")
    return root


# -- merge: what comes in ----------------------------------------------------------------------------

def test_a_journal_whose_samples_all_lack_a_fix_merges(tmp_path, invoke):
    j = tmp_path / "nofix.jsonl"
    rows = [{k: v for k, v in journal_sample(i).items() if k not in ("lat", "lon")} | {"no_fix": True}
            for i in range(5)]
    write_journal(j, rows)
    r, s = merge_json(invoke, str(j), "--db", str(tmp_path / "s.gpkg"))
    assert r.exit_code == 0 and "Traceback" not in r.stderr
    assert s["added"] == 5 and s["placed_from_tracks"]["unplaced"] == 5
    r = invoke("merge", str(write_journal(tmp_path / "more.jsonl", [rows[0] | {"device": "dev-Z"}])),
               "--db", str(tmp_path / "s.gpkg"))
    # The text says why samples have no position (the JSON always did).
    assert "6 samples have no position yet (6 with no GPS track); no map shows them." in r.stderr
    assert "merge the GPX or NMEA track recorded on the same walk" in r.stderr


def _resaved(text: str) -> str:
    """What Excel in an Indonesian locale writes: semicolons, decimal commas, CRLF."""
    out = []
    for line in text.splitlines():
        cells = line.split(",")
        out.append(";".join(c.replace(".", ",") if c.replace(".", "").replace("-", "").isdigit() else c
                            for c in cells))
    return "\r\n".join(out) + "\r\n"


def test_transformed_copies_of_a_merged_walk_add_nothing(tmp_path, invoke):
    walk = write_gnettrack(tmp_path / "walk.csv", walk_rows(400))
    db = str(tmp_path / "s.gpkg")
    _, first = merge_json(invoke, str(walk), "--db", db)
    assert first["added"] == 400
    text = walk.read_text()
    (tmp_path / "resaved.csv").write_text(_resaved(text), encoding="utf-8")
    lines = text.splitlines()
    (tmp_path / "cut.csv").write_text("\n".join(lines[:251]) + "\n" + lines[251][:40], encoding="utf-8")
    (tmp_path / "tabs.txt").write_text(text.replace(",", "\t"), encoding="utf-8")
    r, s = merge_json(invoke, str(tmp_path / "resaved.csv"), str(tmp_path / "cut.csv"), str(tmp_path / "tabs.txt"),
                      "--db", db)
    assert r.exit_code == 0
    per = {Path(f["file"]).name: f for f in s["per_file"]}
    assert per["resaved.csv"]["format"] == "gnettrack" and per["resaved.csv"]["added"] == 0
    assert per["resaved.csv"]["duplicates"] == per["resaved.csv"]["already_stored"] == 400
    assert per["cut.csv"]["added"] == 0 and per["cut.csv"]["duplicates"] == 250
    assert per["tabs.txt"]["format"] == "gnettrack" and per["tabs.txt"]["added"] == 0
    # surveyor's own export (it carries sample_id) is recognised too.
    export = tmp_path / "samples.csv"
    r = invoke("export", "--db", db, "--layer", "samples", "--out", str(export))
    assert r.exit_code == 0, r.output
    r, s = merge_json(invoke, str(export), "--db", db)
    assert r.exit_code == 0 and s["added"] == 0 and s["duplicates"] == 400, s
    with open_store(db) as store:
        assert store.status().samples == 400
    r = invoke("merge", str(tmp_path / "resaved.csv"), "--db", db, "--replace")
    assert "400 of its samples were in the database already" in r.stderr


def test_a_table_copied_with_other_delimiters_and_quotes_adds_nothing(tmp_path, invoke):
    rows = [f"2026-07-14T08:{i // 60:02d}:{i % 60:02d}+07:00,{-7.437 + i * 1e-5:.6f},{109.858 + i * 1e-5:.6f},"
            f"Telkomsel,LTE,{-90 - i % 30}.5" for i in range(120)]
    header = "time,lat,lon,operator,tech,rsrp_dbm"
    (tmp_path / "t.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    db = str(tmp_path / "s.gpkg")
    assert merge_json(invoke, str(tmp_path / "t.csv"), "--db", db)[1]["added"] == 120
    semi = [";".join(c.replace(".", ",") for c in r.split(",")) for r in rows]
    (tmp_path / "semi.csv").write_text("\ufeff" + header.replace(",", ";") + "\r\n" + "\r\n".join(semi) + "\r\n")
    (tmp_path / "tabs.tsv").write_text(header.replace(",", "\t") + "\n"
                                       + "\n".join('"' + r.replace(",", '"\t"') + '"' for r in rows) + "\n")
    _, s = merge_json(invoke, str(tmp_path / "semi.csv"), str(tmp_path / "tabs.tsv"), "--db", db)
    assert s["added"] == 0 and s["duplicates"] == 240, s


def test_merge_dot_passes_over_surveyors_own_outputs(tmp_path, invoke, monkeypatch):
    root = survey(tmp_path)
    write_gnettrack(root / "samples" / "walk.csv", walk_rows(50))
    monkeypatch.chdir(root)
    assert invoke("merge", "samples").exit_code == 0
    assert invoke("export", "--layer", "samples", "--out", "maps/samples.csv").exit_code == 0
    (root / "reports" / "old.csv").write_text((root / "maps" / "samples.csv").read_text())
    r = invoke("revisit", "--format", "gpx")
    (root / "revisit.gpx").write_text(r.stdout or '<gpx creator="surveyor"></gpx>')
    r, s = merge_json(invoke, ".")
    assert r.exit_code == 0
    skipped = {Path(p["path"]).name: p["reason"] for p in s["passed_over"]}
    assert {"maps", "reports"} <= set(skipped) and "backups" not in skipped
    assert "revisit.gpx" in skipped
    assert s["added"] == 0
    r = invoke("merge", ".")
    assert "Passed over maps: a folder surveyor writes its outputs into." in r.stderr


def test_a_sample_must_carry_evidence_and_columns_not_used_are_listed(tmp_path, invoke):
    table = tmp_path / "t.csv"
    table.write_text("time,lat,lon,operator,rsrp_dbm,Catatan\n"
                     "2026-07-14T08:00:00+07:00,-7.437,109.858,Telkomsel,n/a,x\n"
                     "2026-07-14T08:00:01+07:00,-7.437,109.858,Telkomsel,abc,x\n"
                     "2026-07-14T08:00:02+07:00,-7.437,109.858,Telkomsel,-99,x\n")
    db = str(tmp_path / "s.gpkg")
    r, s = merge_json(invoke, str(table), "--db", db)
    assert s["added"] == 1 and s["by_reason"] == {"no_measurement": 1, "bad_value": 1}
    assert s["per_file"][0]["unused_columns"] == ["Catatan"]
    with open_store(db) as store:
        q = store.read_layer("quarantine")
    msg = dict(zip(q["reason"], q["message"]))
    assert "rsrp_dbm holds text where a number belongs" in msg["bad_value"]
    assert "no measured value" in msg["no_measurement"]
    r = invoke("merge", str(table), "--db", str(tmp_path / "t2.gpkg"))
    assert "columns not used: Catatan" in r.stderr


def test_text_in_a_number_field_of_app_exports_is_bad_value(tmp_path, invoke):
    ookla = tmp_path / "ookla.csv"
    ookla.write_text('Date,ConnType,Lat,Lon,Download,Upload,Latency,ServerName,InternalIp,ExternalIp\n'
                     '"2026-07-14 08:00","Cell","-7.437","109.858","abc","","40","x","1","2"\n'
                     '"2026-07-14 08:05","Cell","-7.437","109.858","","","","x","1","2"\n')
    tc = tmp_path / "tc.csv"
    tc.write_text("mcc,mnc,lac,cell_id,psc,asu,dbm,ta,lat,lon,accuracy,speed,bearing,altitude,measured_at,net_type,"
                  "neighboring,device\n"
                  "510,10,1,2,3,40,sinyal,5,-7.437,109.858,4,1,90,800,2026-07-14T01:00:00.000Z,LTE,false,A\n"
                  "510,10,1,2,3,40,-99,5,-7.437,109.858,4,1,90,800,2026-07-14T01:00:05.000Z,LTE,false,A\n")
    _, s = merge_json(invoke, str(ookla), str(tc), "--db", str(tmp_path / "s.gpkg"), "--operator", "Telkomsel")
    per = {Path(f["file"]).name: f for f in s["per_file"]}
    # "abc" is not a failed test (an empty result is: the test did not run).
    assert per["ookla.csv"]["by_reason"] == {"bad_value": 1} and per["ookla.csv"]["added"] == 1
    assert per["tc.csv"]["by_reason"] == {"bad_value": 1} and per["tc.csv"]["added"] == 1


def test_date_and_time_columns_are_combined_and_day_order_is_never_guessed(tmp_path, invoke):
    t = tmp_path / "dt.csv"
    t.write_text("Date,Time,lat,lon,rsrp_dbm\n25/04/2024,10:47:00,-7.437,109.858,-99\n"
                 "03/05/2024,10:48:00,-7.437,109.858,-98\n")
    db = str(tmp_path / "s.gpkg")
    r, s = merge_json(invoke, str(t), "--db", db)
    assert r.exit_code == 0 and s["added"] == 2
    with open_store(db) as store:
        times = sorted(store.read_samples(["time"])["time"])
    assert times == [pd.Timestamp("2024-04-25T03:47:00Z"), pd.Timestamp("2024-05-03T03:48:00Z")]  # WIB -> UTC
    amb = tmp_path / "amb.csv"
    amb.write_text("Date,Time,lat,lon,rsrp_dbm\n04/05/2024,10:47:00,-7.437,109.858,-99\n")
    r = invoke("merge", str(amb), "--db", db)
    assert r.exit_code == 1
    assert "could be day-first or month-first" in r.stderr and "--date-order dmy" in r.stderr
    r, s = merge_json(invoke, str(amb), "--db", db, "--date-order", "mdy")
    with open_store(db) as store:
        assert pd.Timestamp("2024-04-05T03:47:00Z") in set(store.read_samples(["time"])["time"])
    # Explicit mapping, in either order of --map.
    other = tmp_path / "other.csv"
    other.write_text("Tgl Survei;Jam;lat;lon;rsrp_dbm\n2024-06-01;08:00:00;-7.437;109.858;-97\n")
    r, s = merge_json(invoke, str(other), "--db", db, "--map", "date=Tgl Survei", "--map", "Jam=time")
    assert s["added"] == 1
    # A time of day alone is not a timestamp: never today's date.
    alone = tmp_path / "alone.csv"
    alone.write_text("time,lat,lon,rsrp_dbm\n10:47:00,-7.437,109.858,-99\n")
    r, s = merge_json(invoke, str(alone), "--db", db)
    assert s["added"] == 0 and s["by_reason"] == {"bad_time": 1}


def test_far_and_old_samples_and_operator_misspellings_are_reported_and_kept_out_of_outputs(tmp_path, invoke):
    root = survey(tmp_path)
    db = str(root / "survey.gpkg")
    t = tmp_path / "mixed.csv"
    rows = ["time,lat,lon,operator,rsrp_dbm"]
    rows += [f"2026-07-14T08:00:{i:02d}+07:00,{-7.437 + i * 1e-4},109.858,Telkomsel,-99" for i in range(20)]
    rows += ["2026-07-14T09:00:00+01:00,53.35,-6.26,Telkomsel,-90",  # a log from Ireland
             "2013-04-27T08:00:00+07:00,-7.437,109.858,Telkomsel,-90",  # a 2013 export
             "2026-07-14T08:01:00+07:00,-7.437,109.858,Telkomsell,-91",
             "2026-07-14T08:02:00+07:00,-7.437,109.858,B,-91"]
    t.write_text("\n".join(rows) + "\n")
    r, s = merge_json(invoke, str(t), "--db", db)
    scope = s["per_file"][0]["out_of_scope"]
    assert scope == {"far_from_area": 1, "outside_period": 1, "other_operators": {"B": 1, "Telkomsell": 1},
                     "near_misses": {"Telkomsell": "Telkomsel"}}
    r = invoke("merge", str(t), "--db", db, "--replace")
    assert "1 sample lies far from the survey's area (e.g. at 53.35, -6.26)" in r.stderr
    assert "'Telkomsell': probably 'Telkomsel' misspelt" in r.stderr
    out = tmp_path / "s.csv"
    assert invoke("export", "--db", db, "--layer", "samples", "--out", str(out)).exit_code == 0
    exported = pd.read_csv(out)
    assert len(exported) == 20 and set(exported["operator"]) == {"Telkomsel"}
    assert exported["lat"].between(-8, -7).all()
    r = invoke("export", "--db", db, "--layer", "samples", "--out", str(tmp_path / "all.csv"), "--all-data")
    assert len(pd.read_csv(tmp_path / "all.csv")) == 24
    # The analysis and the report's period come from the samples in scope.
    r = invoke("analyze", "--db", db)
    assert r.exit_code == 0
    assert ("Left out as outside the survey's scope: 1 sample far from the area, 1 sample outside the period, "
            "2 samples of other operators (--all-data includes them).") in r.stderr
    r = invoke("report", "--db", db, "--out", str(tmp_path / "r.html"), "--lang", "en")
    assert r.exit_code == 0, r.output
    html = (tmp_path / "r.html").read_text()
    assert "2013" not in html and "Telkomsell" not in html
    r = invoke("revisit", "--db", db, "--format", "csv")
    import csv
    import io

    stops = list(csv.DictReader(io.StringIO(r.stdout)))
    assert stops and all(-8 < float(stop["lat"]) < -7 for stop in stops)


def test_anonymised_sample_export_with_unplaced_samples(tmp_path, invoke):
    j = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(5)]
                      + [{k: v for k, v in journal_sample(9).items() if k not in ("lat", "lon")} | {"no_fix": True}])
    db = str(tmp_path / "s.gpkg")
    merge_json(invoke, str(j), "--db", db)
    r = invoke("export", "--db", db, "--layer", "samples", "--anonymize", "--out", str(tmp_path / "a.csv"))
    assert r.exit_code == 0, r.output
    out = pd.read_csv(tmp_path / "a.csv")
    assert "device" not in out.columns and len(out) == 6 and out["lat"].isna().sum() == 1


# -- init, remove: nothing destroyed without a copy ------------------------------------------------

def test_a_boundary_with_swapped_coordinates_is_refused_at_init(tmp_path, invoke):
    ring = [[-7.43, 109.85], [-7.43, 109.87], [-7.45, 109.87], [-7.45, 109.85], [-7.43, 109.85]]  # lat, lon
    gj = tmp_path / "b.geojson"
    gj.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    r = invoke("init", str(tmp_path / "v"), "--area", str(gj), "--name", "V", "--code", "1")
    assert r.exit_code == 1
    assert "look swapped (GeoJSON writes [longitude, latitude])" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "v" / "survey.gpkg").exists()


def test_init_overwrite_keeps_a_backup_and_says_where(tmp_path, invoke):
    root = survey(tmp_path, zones=[(-7.437, 109.858, 100)])
    write_gnettrack(root / "samples" / "w.csv", walk_rows(30))
    assert invoke("merge", str(root / "samples"), "--db", str(root / "survey.gpkg")).exit_code == 0
    r = invoke("init", str(root), "--overwrite")
    assert r.exit_code == 0
    backups = list((root / "backups").iterdir())
    assert len(backups) == 1
    assert f"kept in {backups[0]}" in r.stderr
    assert "[[exclusion_zones]]" in (backups[0] / "survey.toml").read_text()
    with open_store(str(backups[0] / "survey.gpkg")) as old:
        assert old.status().samples == 30
    with open_store(str(root / "survey.gpkg")) as new:
        assert new.status().samples == 0


def test_remove_a_folder_answering_no_and_the_sources_list(tmp_path, invoke):
    walks = tmp_path / "walks"
    walks.mkdir()
    write_gnettrack(walks / "a.csv", walk_rows(10))
    write_journal(walks / "b.jsonl", [journal_sample(i) for i in range(4)])
    db = str(tmp_path / "s.gpkg")
    merge_json(invoke, str(walks), "--db", db)
    r = invoke("sources", "--db", db)
    assert r.exit_code == 0
    assert f"{walks / 'a.csv'} [gnettrack]" in r.stdout and f"remove: surveyor remove --source {walks / 'a.csv'}" \
        f" --db {db}" in r.stdout
    rows = json.loads(invoke("sources", "--db", db, "--json").stdout)
    assert [(Path(x["file"]).name, x["added"]) for x in rows] == [("a.csv", 10), ("b.jsonl", 4)]
    r = invoke("remove", "--db", db, "--source", str(walks), input="n\n")
    assert r.exit_code == 0 and "Nothing removed." in r.stderr
    r = invoke("remove", "--db", db, "--source", "nothing-like-this.csv", "--yes")
    assert r.exit_code == 1 and "surveyor sources" in r.stderr
    r = invoke("remove", "--db", db, "--source", str(walks), "--yes")
    assert r.exit_code == 0 and r.stdout.startswith(f"Removed source {walks} (2 merges)")
    with open_store(db) as store:
        assert store.status().samples == 0


# -- merge: messages -----------------------------------------------------------------------------

def test_merge_messages(tmp_path, invoke):
    db = str(tmp_path / "s.gpkg")
    r = invoke("merge", str(tmp_path / "nope.csv"), "--db", db)
    assert r.exit_code == 2 and f"no such file or folder: {tmp_path / 'nope.csv'}" in r.stderr
    a = write_journal(tmp_path / "a.jsonl", [journal_sample(i) for i in range(3)], tail="{cut")
    b = write_gnettrack(tmp_path / "b.csv", walk_rows(5))
    assert invoke("merge", str(a), str(b), "--db", db).exit_code == 0
    r = invoke("merge", str(a), str(b), "--db", db)
    assert r.exit_code == 0 and r.stdout == f"2 files merged before, nothing new -> {db}\n"
    assert "Quarantined" not in r.stderr
    ookla = tmp_path / "ookla.csv"
    ookla.write_text('Date,ConnType,Lat,Lon,Download,Upload,Latency,ServerName,InternalIp,ExternalIp\n'
                     '"2026-07-14 08:00","Cell","-7.437","109.858","12000","3000","40","x","1","2"\n')
    r = invoke("merge", str(ookla), "--db", db)
    assert r.exit_code == 0 and "Ookla exports do not name the operator" in r.stderr and "--operator" in r.stderr


@pytest.mark.parametrize("name,tool,option", [
    ("termux/termux-telephony-cellinfo.json", "termux-telephony-cellinfo", "--signal termux"),
    ("modemmanager/mmcli-signal-get.json", "mmcli", "--signal mmcli"),
])
def test_raw_device_readings_are_recognised(tmp_path, invoke, shared_data, name, tool, option):
    r = invoke("merge", str(shared_data / "formats" / name), "--db", str(tmp_path / "s.gpkg"))
    assert r.exit_code == 1
    assert f"this is the output of {tool}" in r.stderr and "a single reading, without time or position" in r.stderr
    assert f"surveyor log {option}" in r.stderr


def test_standard_input_is_bounded_and_leaves_no_temporary_file(tmp_path, invoke, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    line = json.dumps(journal_sample(1)) + "\n"
    r = invoke("merge", "-", "--db", str(tmp_path / "s.gpkg"), "--max-stdin-mb", "1",
               input=line * (2 * (1 << 20) // len(line)))
    assert r.exit_code == 1 and "standard input is larger than 1 MB" in r.stderr
    assert not list((tmp_path / "tmp").iterdir())


def test_sigterm_while_reading_standard_input_removes_its_temporary_file(tmp_path):
    import signal
    import time

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "surveyor", "merge", "-", "--db", str(tmp_path / "s.gpkg")],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, TMPDIR=str(tmp)))
    proc.stdin.write((json.dumps(journal_sample(1)) + "\n").encode() * 1000)
    proc.stdin.flush()
    deadline = time.time() + 30
    while time.time() < deadline and not list(tmp.glob("surveyor-stdin-*")):
        time.sleep(0.05)
    assert list(tmp.glob("surveyor-stdin-*"))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and b"Traceback" not in err
    assert b"stopped: nothing of - was kept" in err
    assert not list(tmp.glob("surveyor-stdin-*"))
    # kill -9 runs no code: the copy it leaves is removed by the next merge from standard input.
    proc = subprocess.Popen([sys.executable, "-m", "surveyor", "merge", "-", "--db", str(tmp_path / "s.gpkg")],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, TMPDIR=str(tmp)))
    proc.stdin.write(b"{}\n" * 1000)
    proc.stdin.flush()
    deadline = time.time() + 30
    while time.time() < deadline and not list(tmp.glob("surveyor-stdin-*")):
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=30)
    assert list(tmp.glob("surveyor-stdin-*"))
    line = (json.dumps(journal_sample(1)) + "\n").encode()
    done = subprocess.run([sys.executable, "-m", "surveyor", "merge", "-", "--db", str(tmp_path / "s.gpkg")],
                          input=line, capture_output=True, env=dict(os.environ, TMPDIR=str(tmp)))
    assert done.returncode == 0, done.stderr
    assert not list(tmp.glob("surveyor-stdin-*"))


def test_merge_with_only_the_loggers_dependencies_says_what_to_install(tmp_path):
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('numpy', 'pandas', 'pyarrow', 'shapely', 'geopandas', 'pyogrio'):\n"
               "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "from surveyor.cli import main\n"
               "main(sys.argv[1:])\n")
    j = write_journal(tmp_path / "a.jsonl", [journal_sample(0)])
    p = subprocess.run([sys.executable, "-c", blocker, "merge", str(j), "--db", str(tmp_path / "s.gpkg")],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "`surveyor merge` needs the full installation" in p.stderr


# -- the survey's settings and its exclusion zones, wherever the command runs --------------------

def test_exclusion_zones_hold_outside_the_survey_folder(tmp_path, invoke, monkeypatch):
    home = (-7.4370, 109.8580)
    root = survey(tmp_path, zones=[(home[0], home[1], 150)])
    write_gnettrack(root / "samples" / "w.csv", walk_rows(200, lat0=home[0] - 0.001, lon0=home[1] - 0.001))
    monkeypatch.chdir(root)
    assert invoke("merge", "samples").exit_code == 0
    monkeypatch.chdir(tmp_path)  # the parent folder: no survey.toml here
    db = str(root / "survey.gpkg")
    from surveyor.geo.distance import haversine_m

    def near_home(df) -> int:
        return int((haversine_m(df["lat"].to_numpy(float), df["lon"].to_numpy(float), *home, xp=np) <= 150).sum())

    r = invoke("export", "--db", db, "--layer", "samples", "--out", str(tmp_path / "x.csv"))
    assert r.exit_code == 0, r.output
    assert near_home(pd.read_csv(tmp_path / "x.csv")) == 0
    # The database carries its settings: a copy of it elsewhere keeps its zones.
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    shutil.copy(db, elsewhere / "survey.gpkg")
    r = invoke("export", "--db", str(elsewhere / "survey.gpkg"), "--layer", "samples", "--out", str(tmp_path / "y.csv"))
    assert r.exit_code == 0 and near_home(pd.read_csv(tmp_path / "y.csv")) == 0
    # A database without known settings is refused, nothing written.
    from surveyor.store import MergeRecord
    from surveyor.store._arrow import sample_table

    bare = str(tmp_path / "bare.gpkg")
    with open_store(bare, create=True) as store:
        df = pd.DataFrame({"time": pd.to_datetime(["2026-07-14T01:00:00Z"]), "lat": [home[0]], "lon": [home[1]],
                           "operator": ["Telkomsel"], "kind": ["signal"], "rsrp_dbm": [-99.0],
                           "sample_id": [1], "merge_id": [1]})
        store.append("samples", sample_table(df))
        store.commit_merge(MergeRecord(1, "x", "h", "journal", "2026-07-14T00:00:00Z", {"read": 1, "added": 1}))
    r = invoke("export", "--db", bare, "--layer", "samples", "--out", str(tmp_path / "z.csv"))
    assert r.exit_code == 1 and "cannot find the survey's settings" in r.stderr and "--config" in r.stderr
    assert not (tmp_path / "z.csv").exists()


def test_deadzones_and_revisit_leave_out_zones_added_after_the_analysis(tmp_path, invoke, village):
    from fixtures import copy_survey

    survey_copy = copy_survey(village, tmp_path / "village")
    db = survey_copy.db
    (survey_copy.folder / "survey.toml").unlink()  # its settings are the copy kept in the database
    before = json.loads(invoke("deadzones", "--db", str(db), "--format", "json").stdout)
    assert before
    z = before[0]
    lat, lon = z.get("lat", z.get("centroid_lat")), z.get("lon", z.get("centroid_lon"))
    toml = db.parent / "survey.toml"  # added after the analysis
    toml.write_text(f"[[exclusion_zones]]\nlat = {lat}\nlon = {lon}\nradius_m = 50\n")
    after = json.loads(invoke("deadzones", "--db", str(db), "--format", "json").stdout)
    assert z["zone_id"] not in {x["zone_id"] for x in after}
    # revisit: a walk of one session leaves every cell insufficient.
    walk_db = str(tmp_path / "walk" / "survey.gpkg")
    (tmp_path / "walk").mkdir()
    merge_json(invoke, str(write_gnettrack(tmp_path / "w.csv", walk_rows(300))), "--db", walk_db)
    assert invoke("analyze", "--db", walk_db).exit_code == 0
    cells = invoke("revisit", "--db", walk_db, "--format", "csv").stdout.splitlines()[1:]
    assert cells
    c = cells[0].split(",")
    (tmp_path / "walk" / "survey.toml").write_text(f"[[exclusion_zones]]\nlat = {c[2]}\nlon = {c[3]}\nradius_m = 30\n")
    later = invoke("revisit", "--db", walk_db, "--format", "csv").stdout.splitlines()[1:]
    assert cells[0] not in later and len(later) < len(cells)


def test_walks_are_cut_where_they_meet_a_zone():
    from surveyor.config import ExclusionZone, Settings
    from surveyor.geo.exclusion import cut_walks

    settings = Settings(exclusion_zones=(ExclusionZone(lat=-7.437, lon=109.858, radius_m=30),))
    t = pd.date_range("2026-07-14", periods=7, freq="10s", tz="UTC")
    lon = [109.857, 109.8575, 109.858, 109.8585, 109.859, 109.857, 109.859]
    df = pd.DataFrame({"time": t, "lat": -7.437, "lon": lon, "session": ["a"] * 5 + ["b"] * 2})
    out = cut_walks(df, settings)
    assert len(out) == 6  # the sample inside is gone
    # Walk a: cut where it went through the zone; walk b: its one step jumps across it.
    assert out.groupby("session").size().to_dict() == {"a": 2, "a~1": 2, "b": 1, "b~1": 1}


def test_the_maps_site_popups_name_no_excluded_zone(tmp_path, village):
    from surveyor.config import ExclusionZone, Settings
    from surveyor.render.html_map import render_map

    from fixtures import copy_survey

    store = open_store(str(copy_survey(village, tmp_path / "village").db))
    try:
        sites = store.read_layer("sites")
        zones = store.read_layer("dead_zones").set_index("zone_id")
        named = [z.strip() for v in sites["zone_ids"].dropna() for z in str(v).split(",") if z.strip()]
        assert named, "the fixture's sites serve no dead zone"
        target = named[0]
        c = zones.loc[target].geometry.representative_point()
        settings = Settings(exclusion_zones=(ExclusionZone(lat=c.y, lon=c.x, radius_m=30),))
        out = render_map(store, settings, tmp_path / "m.html", lang="en")
        html = Path(out).read_text(encoding="utf-8")
        assert target not in html
        plain = render_map(store, Settings(), tmp_path / "plain.html", lang="en")
        assert target in Path(plain).read_text(encoding="utf-8")
    finally:
        store.close()


def test_a_database_of_several_villages_applies_every_villages_zones(tmp_path):
    """A shared database keeps each village's settings; outputs hide the zones of all of them."""
    from surveyor.config import load_settings
    from surveyor.store.survey import remember, settings_of

    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('[area]\ncode = "33.07.05.2002"\n\n[[exclusion_zones]]\nlat = -7.43\nlon = 109.85\nradius_m = 80\n')
    b.write_text('[area]\ncode = "33.07.05.2003"\n\n[[exclusion_zones]]\nlat = -7.50\nlon = 109.90\nradius_m = 60\n')
    with open_store(str(tmp_path / "district.gpkg"), create=True) as store:
        remember(store, load_settings(a))
        remember(store, load_settings(b))
        got = settings_of(store)
    assert got.code == "33.07.05.2003"
    assert sorted((z.lat, z.radius_m) for z in got.exclusion_zones) == [(-7.5, 60.0), (-7.43, 80.0)]


def test_the_manual_logger_offers_the_survey_operators_as_a_numbered_list():
    from surveyor.acquire.signal import open_signal

    asked = []
    answers = iter(["2", "3", "Telkomsell", "n"])

    def ask(question: str, default: str) -> str:
        asked.append((question, default))
        return next(answers)

    signal = open_signal("manual", ask=ask, operators=("Telkomsel", "Indosat"))
    first = signal.read()
    second = signal.read()
    assert asked[0] == ("Operator (1 Telkomsel, 2 Indosat, or a name)", "")
    assert first[0]["operator"] == "Indosat" and first[0]["level"] == 3
    assert asked[2][1] == "2"  # the last pick is the default next time
    assert second[0]["operator"] == "Telkomsel" and second[0]["service"] == "no_service"  # a near miss
