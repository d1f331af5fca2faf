"""`surveyor merge` on a folder of mixed app exports, tracks and tower lists, in one call."""

from __future__ import annotations

import json
import shutil

import pytest

from surveyor.ingest.merge import MergeOptions, merge_sources
from surveyor.store import open_store

from .common import FIXTURES

BUCKETS = ("added", "duplicates", "quarantined", "neighbours", "track_points", "towers")
MIXED = {
    "towercollector.csv": "towercollector",
    "ookla_wrapped.csv": "ookla",
    "generic_excel.csv": "generic",
    "walk.gpx": "gpx",
    "phone_b_signal.csv": "generic",
    "gnss.nmea": "nmea",
    "opencellid_noheader.csv": "opencellid",
}


def _adds_up(summary):
    assert summary["read"] == sum(summary[k] for k in BUCKETS)
    for f in summary["per_file"]:
        assert f["read"] == sum(f[k] for k in BUCKETS), f


def test_a_folder_of_mixed_formats_in_one_call(tmp_path, invoke):
    folder = tmp_path / "dari_relawan"
    folder.mkdir()
    for name in MIXED:
        shutil.copy(FIXTURES / name, folder / name)
    db = str(tmp_path / "survey.gpkg")
    r = invoke("merge", str(folder), "--db", db, "--operator", "Telkomsel", "--tz", "Asia/Jakarta", "--json",
               "--date-order", "dmy")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    _adds_up(s)
    per = {f["file"].rsplit("/", 1)[-1]: f for f in s["per_file"]}
    assert {k: v["format"] for k, v in per.items()} == MIXED
    assert per["towercollector.csv"]["added"] == 6 and per["towercollector.csv"]["neighbours"] == 2
    assert per["towercollector.csv"]["by_reason"] == {"orphan_neighbour": 1}
    assert per["ookla_wrapped.csv"]["added"] == 5
    assert per["ookla_wrapped.csv"]["by_reason"] == {"wifi": 1, "latlon_swapped": 1, "bad_position": 1,
                                                     "truncated_record": 1}
    assert per["generic_excel.csv"]["added"] == 3 and per["generic_excel.csv"]["by_reason"] == {"bad_time": 1}
    assert per["walk.gpx"]["track_points"] == 61
    assert per["gnss.nmea"]["track_points"] == 4 and per["gnss.nmea"]["quarantined"] == 2
    assert per["opencellid_noheader.csv"]["towers"] == 3
    assert s["placed_from_tracks"]["placed"] == 3  # phone B's signal log, from the walk track
    with open_store(db) as store:
        st = store.status()
        samples = store.read_samples(["operator", "kind", "source_format"])
    assert st.towers == 3 and st.track_points == 65 and st.neighbours == 2
    assert set(samples[samples.source_format == "ookla"]["operator"]) == {"Telkomsel"}
    assert set(samples[samples.source_format == "ookla"]["kind"]) == {"speed"}


def test_a_file_in_no_known_format_is_reported_with_the_formats_and_options(tmp_path, invoke):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "notes.txt", folder / "notes.txt")
    shutil.copy(FIXTURES / "walk.gpx", folder / "walk.gpx")
    r = invoke("merge", str(folder), "--db", str(tmp_path / "s.gpkg"))
    assert r.exit_code == 1
    assert "notes.txt" in r.stderr and "--format" in r.stderr and "--map" in r.stderr
    assert "towercollector" in r.stderr and "Traceback" not in r.output


def test_the_same_export_on_two_computers_adds_nothing(tmp_path):
    for pc in ("laptop_kades", "pc_kantor"):
        (tmp_path / pc).mkdir()
        shutil.copy(FIXTURES / "towercollector.csv", tmp_path / pc / "towercollector.csv")
    # The same walk exported again with other line ends: another file, the same samples.
    (tmp_path / "reexport").mkdir()
    (tmp_path / "reexport" / "tc.csv").write_bytes(
        (FIXTURES / "towercollector.csv").read_bytes().replace(b"\r\n", b"\n"))
    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        first = merge_sources(store, [str(tmp_path / "laptop_kades")], MergeOptions())
        second = merge_sources(store, [str(tmp_path / "pc_kantor")], MergeOptions())
        third = merge_sources(store, [str(tmp_path / "reexport")], MergeOptions())
        assert store.status().samples == 6
    assert first.added == 6
    assert second.added == 0 and second.per_file[0].skipped
    assert third.added == 0 and third.duplicates == 6
    _adds_up(third.to_dict())


def test_two_phones_that_walked_together_are_two_devices_and_both_kept(tmp_path):
    text = (FIXTURES / "towercollector.csv").read_text()
    (tmp_path / "phone_a.csv").write_text(text)
    # Phone B: the same place, time and even the same readings, but another phone.
    (tmp_path / "phone_b.csv").write_text(text.replace("Samsung SM-A125F", "OPPO A15"))
    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        s = merge_sources(store, [str(tmp_path)], MergeOptions())
        st = store.status()
    assert s.added == 12 and s.duplicates == 0
    assert st.devices == 2


def test_two_phones_of_the_same_model_need_device(tmp_path):
    text = (FIXTURES / "ookla_wrapped.csv").read_text()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "ookla.csv").write_text(text)
    (tmp_path / "b" / "ookla.csv").write_text(text.replace("114.5.1.1", "114.5.1.2"))
    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        a = merge_sources(store, [str(tmp_path / "a")], MergeOptions(device="hp-sari", operator="Telkomsel"))
        b = merge_sources(store, [str(tmp_path / "b")], MergeOptions(device="hp-budi", operator="Telkomsel"))
    assert a.added == 5 and b.added == 5


@pytest.mark.realdata
def test_real_files_merge_in_one_call(tmp_path, shared_data, invoke):
    folder = tmp_path / "real"
    for sub in ("gpx", "nmea", "opencellid", "ookla"):
        shutil.copytree(shared_data / sub, folder / sub)
    db = str(tmp_path / "s.gpkg")
    r = invoke("merge", str(folder), "--db", db, "--operator", "Telkomsel", "--tz", "America/New_York", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    _adds_up(s)
    assert s["towers"] == 2326 and s["track_points"] == 513 + 9 + 68 + 30 + 24
    assert s["by_reason"] == {"no_time": 358, "no_fix": 6, "wifi": 5}
    assert s["added"] == 3
