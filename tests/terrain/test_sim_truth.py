"""Terrain analysis against the simulated village whose truth is known exactly (targets of the issue):
verdicts agree with the truth for at least 90% of dead zones; predicted RSRP on held-out sessions
within 8 dB RMSE; antenna bearings within 2 degrees and minimum mast heights within 2 m."""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.analyse.terrain import apply
from surveyor.store import open_store

from .conftest import add_samples, make_survey, settings_of


def _apply(root):
    settings = settings_of(root)
    with open_store(str(root / "survey.gpkg")) as store:
        cells, zones = store.read_layer("cells"), store.read_layer("dead_zones")
        cells2, zones2 = apply(store, settings, cells, zones)
        summary = store.get_meta("terrain_summary")
    return cells, zones, cells2, zones2, summary


def _zone_truth(village, zone) -> str:
    from surveyor.geo import cells as grid

    cells = grid.from_hex(str(zone["h3_cells"]).split(","))
    lat, lon = grid.cell_centres(cells)
    cause = village.truth_cause(zone["operator"], lon, lat)
    if (cause == "no_tower").all():
        return "no_tower"
    dead = cause[cause != "covered"]
    if len(dead) == 0:  # dead by shadowing and noise where the median is usable: not the terrain's doing
        return "not_terrain"
    return "terrain" if (dead == "terrain").mean() >= 0.5 else "not_terrain"


def test_verdicts_agree_with_truth(village, village_survey):
    _, zones, _, zones2, _ = _apply(village_survey)
    assert len(zones2) == len(zones) >= 5
    truth = np.array([_zone_truth(village, z) for _, z in zones2.iterrows()])
    got = zones2["terrain_verdict"].to_numpy(dtype=object)
    # Each kind of cause is present, so agreement cannot come from one constant answer.
    assert {"terrain", "not_terrain", "no_tower"} <= set(truth)
    agree = (truth == got).mean()
    assert agree >= 0.9, pd.DataFrame({"zone": zones2["zone_id"], "truth": truth, "got": got})
    # Weighted by cells too, so the large shadowed zone cannot hide behind many one-cell zones.
    size = zones2["cells"].to_numpy(float)
    assert (size * (truth == got)).sum() / size.sum() >= 0.9
    # Every zone carries its sentence; shadowed ones name a ridge and the tower.
    for z in zones2.itertuples(index=False):
        assert isinstance(z.terrain_reason, str) and z.terrain_reason
        if z.terrain_verdict == "terrain":
            assert z.terrain_reason.startswith("shadowed by a ridge") and "Telkomsel tower at (" in z.terrain_reason
        elif z.terrain_verdict == "no_tower":
            assert z.terrain_reason == "no known tower of XL within 15 km"
        else:
            assert "in line of sight of the" in z.terrain_reason and "the cause is not terrain" in z.terrain_reason


def test_ridge_position_and_height(village, village_survey):
    from surveyor.testing.terrain_sim import RIDGE_X_M, elevation_m, ridge_m

    _, _, _, zones2, _ = _apply(village_survey)
    shadowed = zones2[zones2["terrain_verdict"] == "terrain"]
    assert len(shadowed)
    for z in shadowed.itertuples(index=False):
        x, y = village.to_xy(z.ridge_lon, z.ridge_lat)
        assert abs(float(x) - RIDGE_X_M) < 300  # on the crest line
        assert abs(z.ridge_height_m - float(elevation_m(x, y))) < 5  # the terrain's height there
        assert float(ridge_m(x, y)) > 30  # the ridge itself, not the ground around it
        tower = village.tower("TSEL-west")
        assert abs(z.ridge_from_tower_m - np.hypot(float(x) - tower.east_m, float(y) - tower.north_m)) < 60
        assert z.diffraction_db > 20


def test_prediction_stored_apart_from_evidence(village_survey):
    cells, _, cells2, _, summary = _apply(village_survey)
    assert (cells2["status"].to_numpy() == cells["status"].to_numpy()).all()  # evidence untouched
    judged = cells2["status"].isin(["dead", "marginal", "covered"])
    assert not cells2.loc[judged, "prediction_shown"].any()
    shown = cells2["prediction_shown"]
    assert (cells2.loc[shown, "predicted_status"].notna()).all()
    tsel = cells2[(cells2["operator"] == "Telkomsel") & cells2["predicted_rsrp_dbm"].notna()]
    assert set(tsel["predicted_status"]) <= {"dead", "marginal", "covered"}
    assert cells2.loc[cells2["operator"] == "XL", "predicted_rsrp_dbm"].isna().all()  # no tower in reach
    assert summary["calibration"]["Telkomsel"]["status"] == "fitted"
    # The true EIRP is 14 dB above the default: the fitted offset finds most of it.
    assert summary["calibration"]["Telkomsel"]["offset_db"] > 5


def _heldout_medians(samples: pd.DataFrame, resolution: int = 10) -> pd.DataFrame:
    from surveyor.geo import cells as grid

    s = samples.copy()
    s["cell"] = grid.assign_cells(s["lat"].to_numpy(), s["lon"].to_numpy(), resolution)
    s["value"] = np.where(s["tech"] == "LTE", s["rsrp_dbm"], -np.inf)
    g = s.groupby(["operator", "session", "cell"])["value"]
    out = pd.DataFrame({"n": g.size(), "median": g.median()}).reset_index()
    out = out[(out["n"] >= 3) & np.isfinite(out["median"])]
    out["h3"] = grid.to_hex(out["cell"].to_numpy(dtype=np.uint64))
    return out


def test_heldout_sessions_rmse_under_8_db(village, tmp_path):
    """Fit on six walks, predict two walks the model never saw: RMSE under 8 dB per operator."""
    from surveyor.analyse import analyze
    from surveyor.analyse.terrain.towers import add_tower
    from surveyor.ingest.dem import import_dem
    from surveyor.store.dem import write_geotiff

    held = {"sim-03", "sim-06"}
    train = village.samples[~village.samples["session"].isin(held)]
    test = village.samples[village.samples["session"].isin(held)]
    root = make_survey(tmp_path / "train", village.boundary)
    settings = settings_of(root)
    write_geotiff(tmp_path / "dem.tif", village.dem.elevation_m, village.dem)
    with open_store(str(root / "survey.gpkg")) as store:
        add_samples(store, train)
        import_dem(store, settings, [tmp_path / "dem.tif"])
        for t in village.towers_frame().itertuples(index=False):
            add_tower(store, settings, operator=t.operator, lat=t.lat, lon=t.lon, height_m=t.height_m)
        analyze(store, settings)
        cells, _zones = apply(store, settings, store.read_layer("cells"), store.read_layer("dead_zones"))
        summary = store.get_meta("terrain_summary")
    truth = _heldout_medians(test)
    merged = truth.merge(cells[["h3", "operator", "predicted_rsrp_dbm"]], on=["h3", "operator"])
    for op in ("Telkomsel", "Indosat"):
        m = merged[(merged["operator"] == op) & merged["predicted_rsrp_dbm"].notna()]
        assert len(m) > 50
        err = m["predicted_rsrp_dbm"] - m["median"]
        rmse = float(np.sqrt((err ** 2).mean()))
        assert rmse < 8.0, (op, rmse)
        # The survey's own leave-one-session-out figure says the same.
        cv = summary["cross_validation"][op]
        assert cv["sessions"] == 6 and cv["pairs"] > 100 and cv["rmse_db"] < 8.0
    # Without calibration the default EIRP misses Telkomsel's by 14 dB: calibration is what gets it under 8.
    assert summary["calibration"]["Telkomsel"]["cells"] >= 10


def test_antenna_bearing_and_mast_match_geometry(village, village_survey):
    from pyproj import Geod

    from surveyor.analyse.terrain.antenna import antenna_advice
    from surveyor.analyse.terrain.context import load_context
    from surveyor.testing.terrain_sim import min_mast_m

    settings = settings_of(village_survey)
    rng = np.random.default_rng(5)
    xs = np.concatenate([rng.uniform(-950, 950, 14), [-500, 0, 400, 800]])
    ys = np.concatenate([rng.uniform(-750, 750, 14), [-60, -20, 10, 40]])  # the ridge's end: masts of metres
    lon, lat = village.to_lonlat(xs, ys)
    places = pd.DataFrame({"place": [f"p{i}" for i in range(len(xs))], "lat": lat, "lon": lon})
    with open_store(str(village_survey / "survey.gpkg")) as store:
        ctx = load_context(store, settings)
    advice = antenna_advice(ctx, places, ["Telkomsel", "Indosat"], mast_m=6.0)
    geod = Geod(ellps="WGS84")
    checked = nonzero = 0
    for r in advice.itertuples(index=False):
        tower = village.tower("TSEL-west" if r.operator == "Telkomsel" else "ISAT-east")
        tlon, tlat = village.to_lonlat(tower.east_m, tower.north_m)
        az, _, dist = geod.inv(r.lon, r.lat, float(tlon), float(tlat))
        diff = (r.bearing_deg - az % 360 + 180) % 360 - 180
        assert abs(diff) < 2.0, r
        assert abs(r.distance_m - dist) < 0.01 * dist + 30
        x, y = village.to_xy(r.lon, r.lat)
        truth = min_mast_m(tower, float(x), float(y))
        if truth <= 40.0:  # a mast a household or a village can build
            assert abs(r.mast_needed_m - truth) < 2.0, (r.place, r.operator, r.mast_needed_m, truth)
            checked += 1
            nonzero += truth > 1.0
            assert r.fresnel_clear == (truth <= 6.0) or abs(truth - 6.0) < 1.0
    assert checked >= 15 and nonzero >= 3
