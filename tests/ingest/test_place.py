"""Placing samples without a position by time from GPS tracks."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from surveyor.ingest.merge import MergeOptions, merge_sources
from surveyor.ingest.place import place
from surveyor.store import open_store

from .common import FIXTURES

T0 = pd.Timestamp("2024-05-01T02:00:00Z")


def _track(seconds, lats, lons, device=None, source="a.gpx", acc=None):
    return pd.DataFrame({"time": [T0 + pd.Timedelta(seconds=s) for s in seconds], "lat": lats, "lon": lons,
                         "accuracy_m": acc if acc is not None else [np.nan] * len(seconds),
                         "device": [device] * len(seconds), "source_file": [source] * len(seconds)})


def _samples(seconds, device="phone-b"):
    return pd.DataFrame({"sample_id": np.arange(len(seconds)) + 1,
                         "time": [T0 + pd.Timedelta(seconds=s) if s is not None else pd.NaT for s in seconds],
                         "device": [device] * len(seconds)})


def test_linear_interpolation_accuracy_and_reasons():
    tracks = _track([0, 10, 20, 100], [-7.0, -7.001, -7.002, -7.01], [109.0, 109.0, 109.0, 109.0],
                    acc=[4.0, 6.0, 5.0, 5.0])
    placed, reasons = place(_samples([5, 10, 50, -5, 200, None]), tracks, max_gap_s=30)
    p = placed.set_index("sample_id")
    assert list(p.index) == [1, 2]
    assert p.loc[1, "lat"] == pytest.approx(-7.0005) and p.loc[1, "lon"] == pytest.approx(109.0)
    # Larger accuracy of the two points + distance to the nearer one (55.6 m: 0.0005 degrees of latitude).
    assert p.loc[1, "accuracy_m"] == pytest.approx(6.0 + 55.6, abs=0.2)
    assert p.loc[2, "lat"] == pytest.approx(-7.001) and p.loc[2, "accuracy_m"] == pytest.approx(6.0)
    assert set(p["placed_by"]) == {"track"} and p["h3_10"].notna().all()
    assert list(reasons) == [None, None, "gap_too_long", "no_track_at_time", "no_track_at_time", "no_time"]


def test_own_device_track_is_preferred_else_any_track_covering_the_time():
    mine = _track([0, 10], [-7.0, -7.0], [109.0, 109.0], device="phone-b")
    other = _track([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20], [-8.0] * 11, [110.0] * 11, device="phone-a")
    placed, _ = place(_samples([5, 15]), pd.concat([mine, other], ignore_index=True), max_gap_s=30)
    p = placed.set_index("sample_id")
    assert p.loc[1, "lat"] == pytest.approx(-7.0)  # own track, though the other has a shorter gap
    assert p.loc[2, "lat"] == pytest.approx(-8.0)  # own track ends at 10 s: the companion's track


def test_tracks_without_device_are_one_track_per_file():
    a = _track([0, 10], [-7.0, -7.0], [109.0, 109.0], source="a.gpx")
    b = _track([5, 6], [-8.0, -8.0], [110.0, 110.0], source="b.gpx")
    placed, _ = place(_samples([3, 5.5]), pd.concat([a, b], ignore_index=True), max_gap_s=30)
    p = placed.set_index("sample_id")
    # Sample 2 is inside both tracks: the one whose points are closer in time wins, and the two
    # files are never interpolated with each other.
    assert p.loc[1, "lat"] == pytest.approx(-7.0)
    assert p.loc[2, "lat"] == pytest.approx(-8.0)


def test_no_tracks_at_all():
    placed, reasons = place(_samples([1, 2]), pd.DataFrame(), max_gap_s=30)
    assert len(placed) == 0 and list(reasons) == ["no_tracks", "no_tracks"]


def _merge(tmp_path, *names, **opts):
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(FIXTURES / n, folder / n)
    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        summary = merge_sources(store, [str(folder)], MergeOptions(tz="Asia/Jakarta", **opts))
    return db, summary


def test_signal_log_without_gps_is_placed_from_the_walk_track(tmp_path):
    db, s = _merge(tmp_path, "walk.gpx", "phone_b_signal.csv")
    assert s.track_points == 61 and s.added == 4
    placing = s.placed_from_tracks
    assert placing.placed == 3 and placing.unplaced == 1
    assert placing.reasons == {"no_track_at_time": 1}
    with open_store(db) as store:
        df = store.read_samples(["time", "lat", "lon", "accuracy_m", "placed_by", "h3_10", "no_fix"])
        tracks = store.read_layer("tracks")
    df = df.sort_values("time").reset_index(drop=True)
    # The track: point i at T0 + 5 i s, at (-7.44 + 0.0001 i, 109.85 + 0.0001 i).
    for row, i in zip(df.itertuples(), (7 / 5, 150 / 5, 299 / 5)):
        assert row.lat == pytest.approx(-7.44 + 0.0001 * i, abs=1e-9)
        assert row.lon == pytest.approx(109.85 + 0.0001 * i, abs=1e-9)
        assert row.placed_by == "track" and row.no_fix
        assert not pd.isna(row.h3_10)
    # On the line between two track points, never off the track's bounding box.
    assert df["lat"].iloc[:3].between(tracks["lat"].min(), tracks["lat"].max()).all()
    assert df["accuracy_m"].iloc[1] == pytest.approx(0.0)  # exactly on a track point
    last = df.iloc[3]
    assert pd.isna(last["lat"]) and pd.isna(last["placed_by"])
    with open_store(db) as store:
        assert store.status().unplaced == 1


def test_track_with_a_bogus_date_places_nothing_and_says_why(tmp_path):
    _db, s = _merge(tmp_path, "walk_bogus_date.gpx", "phone_b_signal.csv")
    assert s.track_points == 61 and s.added == 4
    placing = s.placed_from_tracks
    assert placing.placed == 0 and placing.reasons == {"no_track_at_time": 4}
    assert any("1980-01-06" in m and "2024-05-01" in m for m in placing.messages)


def test_track_and_samples_from_different_days_place_nothing(tmp_path):
    _db, s = _merge(tmp_path, "walk.gpx", "phone_b_other_day.csv")
    placing = s.placed_from_tracks
    assert placing.placed == 0 and placing.unplaced == 2
    assert placing.reasons == {"no_track_at_time": 2}
    assert any("2024-05-02" in m for m in placing.messages)


def test_a_speed_test_with_empty_position_is_placed_by_a_later_track(tmp_path):
    # The Ookla no-position test (09:55 WIB) and a track covering it merged in a second call.
    db, s = _merge(tmp_path, "ookla_wrapped.csv", operator="Telkomsel")
    assert s.placed_from_tracks.reasons == {"no_tracks": 1}
    track = tmp_path / "later.gpx"
    track.write_text(
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        '<trkpt lat="-7.4300" lon="109.8500"><time>2024-05-01T02:54:50Z</time></trkpt>'
        '<trkpt lat="-7.4302" lon="109.8502"><time>2024-05-01T02:55:10Z</time></trkpt>'
        '</trkseg></trk></gpx>')
    with open_store(db) as store:
        s2 = merge_sources(store, [str(track)], MergeOptions(tz="Asia/Jakarta"))
        placed = store.read_samples(["lat", "lon", "placed_by", "kind"], where="placed_by = 'track'")
    assert s2.placed_from_tracks.placed == 1
    assert placed["lat"].iloc[0] == pytest.approx(-7.4301) and placed["kind"].iloc[0] == "speed"
