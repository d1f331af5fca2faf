"""The Store contract, run against the GeoPackage and the PostGIS store alike (so they cannot drift)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from surveyor.store import open_store
from surveyor.store._arrow import sample_table

from .frames import quarantine_frame, record, samples_frame, samples_table, tracks_frame

pytestmark = pytest.mark.postgis


def _merge(store, n=10, start_id=1, **kw):
    with store.writer_lock():
        store.cleanup_unfinished()
        mid = store.new_merge_id()
        df = samples_frame(n, mid, start_id=start_id, **kw)
        new = ~store.existing_sample_ids(df["sample_id"].to_numpy())
        store.append("samples", sample_table(df[new]))
        store.append("quarantine", quarantine_frame(mid))
        store.append("tracks", tracks_frame(mid))
        store.commit_merge(record(mid, content_hash=f"h{mid}", added=int(new.sum())))
    return mid


def test_rows_are_invisible_until_the_merge_is_committed(store):
    mid = store.new_merge_id()
    store.append("samples", samples_table(5, mid))
    store.append("quarantine", quarantine_frame(mid))
    assert len(store.read_samples()) == 0
    assert store.status().samples == 0
    assert store.status().quarantined == 0
    assert store.merges() == []
    store.commit_merge(record(mid, added=5))
    got = store.read_samples()
    assert len(got) == 5
    assert store.status().quarantined == 2
    assert [m.merge_id for m in store.merges()] == [mid]
    assert store.find_merges("h1")[0].counts["added"] == 5
    assert store.find_merges("other") == []


def test_values_round_trip_with_their_types(store):
    _merge(store, n=4)
    df = store.read_samples().sort_values("sample_id").reset_index(drop=True)
    want = samples_frame(4, 1)
    assert list(df.columns) == list(__import__("surveyor.model", fromlist=["ALL_FIELDS"]).ALL_FIELDS)
    assert df["sample_id"].tolist() == want["sample_id"].tolist()
    assert df["time"].dt.tz is not None
    assert (df["time"] == want["time"]).all()
    assert np.allclose(df["lat"], want["lat"]) and np.allclose(df["rsrp_dbm"], want["rsrp_dbm"])
    assert df["note"].iloc[0] == want["note"].iloc[0]  # commas, quotes and a newline survive
    assert pd.isna(df["note"].iloc[1])
    assert df["h3_10"].tolist() == want["h3_10"].tolist()
    assert df["mcc"].tolist() == [510] * 4


def test_new_merge_ids_are_fresh(store):
    a = store.new_merge_id()
    store.append("samples", samples_table(2, a))
    store.commit_merge(record(a))
    b = store.new_merge_id()
    assert b > a


def test_existing_sample_ids_and_reappending_adds_nothing(store):
    _merge(store, n=10)
    ids = np.array([5, 10, 11, 999], dtype=np.int64)
    assert store.existing_sample_ids(ids).tolist() == [True, True, False, False]
    assert store.existing_sample_ids([]).tolist() == []
    _merge(store, n=15)  # overlaps 1..10
    assert len(store.read_samples(["sample_id"])) == 15
    assert store.status().merges == 2


def test_has_samples(store):
    assert not store.has_samples()
    _merge(store, n=2)
    assert store.has_samples()


def test_sample_staged_in_an_earlier_batch_counts_as_existing(store):
    mid = store.new_merge_id()
    store.append("samples", samples_table(3, mid))
    assert store.existing_sample_ids([1, 2, 3, 4]).tolist() == [True, True, True, False]
    store.commit_merge(record(mid))


def test_cleanup_unfinished_removes_an_abandoned_merge(store):
    mid = store.new_merge_id()
    store.append("samples", samples_table(5, mid))
    store.append("quarantine", quarantine_frame(mid))
    assert store.cleanup_unfinished() == 7
    assert store.cleanup_unfinished() == 0
    # the same samples merge again afterwards, in full
    _merge(store, n=5)
    assert len(store.read_samples()) == 5
    assert store.status().quarantined == 2


def test_a_merge_killed_midway_stays_invisible_to_the_next_writer(store):
    mid = store.new_merge_id()
    store.append("samples", samples_table(5, mid))
    url = store.url if not store.url.startswith("postgresql") else None
    # a second store object stands for the next process; the first one "dies" without committing
    # (on PostGIS the server then ends its connections, as it does when a client process is killed)
    if url is None:
        import psycopg

        with psycopg.connect(_real_url(store), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                          "'surveyor' AND datname = current_database() AND pid <> pg_backend_pid()")
    other = open_store(url or _real_url(store))
    try:
        assert len(other.read_samples()) == 0
        with other.writer_lock():
            other.cleanup_unfinished()
        _merge(other, n=5)
        assert len(other.read_samples()) == 5
    finally:
        other.close()
    store.close()


def _real_url(store):
    return store._t.url  # the PostGIS store keeps the unmasked URL only inside


def test_delete_merges_removes_every_row_they_wrote(store):
    a = _merge(store, n=5, session="s-1")
    b = _merge(store, n=5, start_id=100, session="s-2", source_file="b.jsonl")
    removed = store.delete_merges([a])
    assert removed["samples"] == 5 and removed["quarantine"] == 2 and removed["tracks"] == 3
    assert removed["merges"] == 1
    assert sorted(store.read_samples(["sample_id"])["sample_id"]) == list(range(100, 105))
    assert [m.merge_id for m in store.merges()] == [b]
    assert store.read_layer("sessions")["session"].tolist() == ["s-2"]
    assert store.delete_merges([]) == {}


def test_delete_samples_by_session_and_by_device(store):
    _merge(store, n=4, session="s-1", device="dev-A")
    _merge(store, n=4, start_id=100, session="s-2", device="dev-B")
    _merge(store, n=4, start_id=200, session="s-3", device="dev-B")
    assert store.delete_samples(session="s-1") == 4
    assert store.status().sessions == 2
    assert store.delete_samples(device="dev-B") == 8
    assert store.status().samples == 0
    assert store.status().sessions == 0
    with pytest.raises(ValueError):
        store.delete_samples()


def test_sessions_are_refreshed(store):
    _merge(store, n=6, session="s-1")
    s = store.read_layer("sessions")
    assert s["session"].tolist() == ["s-1"]
    assert int(s["samples"].iloc[0]) == 6 and int(s["placed"].iloc[0]) == 6
    assert s["operators"].iloc[0] == "Telkomsel"
    assert s["first"].iloc[0] == pd.Timestamp("2026-07-14T01:00:00Z")


def test_update_positions_places_samples(store):
    mid = store.new_merge_id()
    df = samples_frame(4, mid)
    df.loc[2:, ["lat", "lon", "h3_10", "placed_by"]] = None
    store.append("samples", sample_table(df))
    store.commit_merge(record(mid))
    unplaced = store.read_samples(["sample_id"], where="lat IS NULL OR lon IS NULL")
    assert sorted(unplaced["sample_id"]) == [3, 4]
    assert store.status().unplaced == 2
    fix = pd.DataFrame({"sample_id": [3, 4], "lat": [-7.43, -7.431], "lon": [109.85, 109.851],
                        "accuracy_m": [12.0, None], "placed_by": "track", "h3_10": [1, 2]})
    assert store.update_positions(fix) == 2
    got = store.read_samples(where="placed_by = 'track'").sort_values("sample_id")
    assert got["lat"].tolist() == [-7.43, -7.431]
    assert got["h3_10"].tolist() == [1, 2]
    assert store.status().unplaced == 0
    assert int(store.read_layer("sessions")["placed"].iloc[0]) == 4


def test_read_samples_with_where_and_columns(store):
    _merge(store, n=5, operator="Telkomsel")
    _merge(store, n=3, start_id=50, operator="Indosat", session="s-2")
    got = store.read_samples(["sample_id", "operator"], where="operator = 'Indosat'")
    assert sorted(got.columns) == ["operator", "sample_id"]
    assert sorted(got["sample_id"]) == [50, 51, 52]
    assert len(store.read_samples(where="rsrp_dbm <= -102 AND operator = 'Telkomsel'")) == 3


def test_read_layer_of_merge_layers(store):
    _merge(store, n=3)
    q = store.read_layer("quarantine")
    assert q["reason"].tolist() == ["bad_json", "bad_json"] and q["raw"].iloc[0] == "{bad json"
    t = store.read_layer("tracks")
    assert isinstance(t, gpd.GeoDataFrame) and len(t) == 3
    assert t.geometry.iloc[0].equals(shapely.Point(109.86, -7.44))
    assert store.read_layer("cells").empty


def test_write_layer_and_read_layer_round_trip(store):
    cells = gpd.GeoDataFrame(
        {"h3": ["8a8c2a", "8a8c2b"], "resolution": [10, 10], "operator": ["Telkomsel", "Indosat"],
         "status": ["dead", "covered"], "share_negative": [0.9, 0.05], "weak_signal": [False, True],
         "area_code": ["33.07.05.2002", "33.07.05.2002"]},
        geometry=[shapely.box(109.85, -7.44, 109.86, -7.43), shapely.box(109.86, -7.44, 109.87, -7.43)],
        crs="EPSG:4326")
    store.write_layer("cells", cells)
    got = store.read_layer("cells")
    assert len(got) == 2
    assert got["status"].tolist() == ["dead", "covered"]
    assert got["resolution"].tolist() == [10, 10]
    assert got["share_negative"].tolist() == [0.9, 0.05]
    assert got.geometry.iloc[0].equals(cells.geometry.iloc[0])
    assert str(got.crs).endswith("4326")
    store.write_layer("cells", cells.iloc[:1])  # replaced, not appended
    assert len(store.read_layer("cells")) == 1
    with pytest.raises(Exception):
        store.write_layer("samples", cells)


def test_status_keys(store):
    _merge(store, n=5)
    s = store.status()
    for key in ("db", "samples", "by_operator", "by_kind", "by_source_format", "sessions", "devices", "days",
                "first", "last", "unplaced", "quarantined", "quarantine_by_reason", "merges", "neighbours",
                "track_points", "towers", "analysed_at"):
        assert key in s.to_dict(), key
    assert "area" not in s.to_dict()
    assert s.samples == 5 and s.by_operator == {"Telkomsel": 5} and s.by_kind == {"signal": 5}
    assert s.first.startswith("2026-07-14T01:00:00") and s.last.startswith("2026-07-14T01:00:40")
    assert s.quarantine_by_reason == {"bad_json": 2} and s.track_points == 3 and s.days == 1


def test_meta(store):
    assert store.get_meta("nothing", 7) == 7
    store.set_meta("analysis_rules", {"min_samples": 5, "names": ["a", "b"]})
    store.set_meta("analysis_rules", {"min_samples": 6})
    assert store.get_meta("analysis_rules") == {"min_samples": 6}
    assert store.get_meta("schema_version") >= 1


def test_writer_lock_is_reentrant(store):
    with store.writer_lock():
        with store.writer_lock():
            pass
    with store.writer_lock():
        pass


def test_area_selects_the_code_and_everything_inside_its_polygon(store):
    """One meaning on both backends: Store.area and read_samples(area=...)."""
    inside = gpd.GeoDataFrame(
        {"code": ["33.07.05.2002", "33.07.05.2002.01", "33.07.05.2003"], "name": ["Lipursari", "Krajan", "Other"],
         "level": ["desa", "dusun", "desa"], "parent_code": ["33.07.05", "33.07.05.2002", "33.07.05"]},
        geometry=[shapely.box(109.85, -7.44, 109.86, -7.43), shapely.box(109.85, -7.44, 109.855, -7.435),
                  shapely.box(109.86, -7.44, 109.87, -7.43)], crs="EPSG:4326")
    store.write_layer("areas", inside)
    with store.writer_lock():
        mid = store.new_merge_id()
        # 60 samples along a diagonal from (-7.437, 109.857): the first half in Lipursari, then in Other
        store.append("samples", samples_table(60, mid, lon0=109.85705))
        store.commit_merge(record(mid))
    village = store.area("33.07.05.2002")
    assert village.codes == ("33.07.05.2002", "33.07.05.2002.01") and village.name == "Lipursari"
    assert store.area("33.07.05").codes == ("33.07.05.2002", "33.07.05.2002.01", "33.07.05.2003")
    assert store.area("99") is None
    all_ = store.read_samples(["sample_id", "lat", "lon"])
    in_village = store.read_samples(["sample_id"], area="33.07.05.2002")
    expected = all_[shapely.intersects_xy(village.boundary, all_["lon"], all_["lat"])]["sample_id"]
    assert 0 < len(in_village) < len(all_)
    assert sorted(in_village["sample_id"]) == sorted(expected)
    assert list(in_village.columns) == ["sample_id"]
    assert len(store.read_samples(area="33.07.05")) == len(store.read_samples(area="33.07.05.2002")) + \
        len(store.read_samples(area="33.07.05.2003"))
    assert len(store.read_samples(area="99")) == 0


def test_areas_written_add_up_by_code(store):
    def one(code, name, x):
        return gpd.GeoDataFrame({"code": [code], "name": [name], "level": ["desa"], "parent_code": ["33.07.05"]},
                                geometry=[shapely.box(x, -7.44, x + 0.01, -7.43)], crs="EPSG:4326")

    store.write_layer("areas", one("33.07.05.2002", "Lipursari", 109.85))
    store.write_layer("areas", one("33.07.05.2003", "Other", 109.86))
    store.write_layer("areas", one("33.07.05.2002", "Lipursari (new)", 109.85))
    areas = store.read_layer("areas").sort_values("code")
    assert areas["code"].tolist() == ["33.07.05.2002", "33.07.05.2003"]
    assert areas["name"].tolist() == ["Lipursari (new)", "Other"]


def test_samples_are_appended_as_one_typed_table(store):
    mid = store.new_merge_id()
    with pytest.raises(TypeError):
        store.append("samples", samples_frame(2, mid))  # a DataFrame is not the samples' batch type
    wrong = samples_table(2, mid)
    wrong = wrong.set_column(wrong.schema.get_field_index("rsrp_dbm"), "rsrp_dbm",
                             wrong.column("rsrp_dbm").cast("string"))
    with pytest.raises(TypeError, match="rsrp_dbm"):
        store.append("samples", wrong)
    with pytest.raises(TypeError, match="merge_id"):
        store.append("samples", samples_table(2, mid).drop_columns(["merge_id"]))
