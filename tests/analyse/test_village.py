"""End to end on a seeded simulated village whose dead areas are known (surveyor.testing.simulate).

Truth per cell: the simulator's noise-free median RSRP at the cell's sample positions (what walkers
could have measured there), judged with the same 4G rule (< -115 dBm). Measurements carry about
3 dB of per-sample noise plus per-session offsets, so a cell whose truth lies within 3 dB of the
threshold cannot be decided by any finite walk and is left out of both precision and recall (a
guard band). Recall is over the cells with enough evidence to be judged; cells without enough
evidence are 'insufficient' by design and are checked separately.
"""

import numpy as np
import pandas as pd
import pytest
import shapely

from surveyor.testing import simulate

GUARD_DB = 3.0


@pytest.fixture(scope="module")
def village():
    from surveyor.analyse import compute
    from surveyor.config import Settings

    # "After merging a month of walks": eight volunteers over four weeks.
    survey = simulate.simulate_survey(seed=2, n_volunteers=8, days=28)
    settings = Settings()
    return survey, settings, compute(pd.DataFrame(survey.samples), settings, survey.boundary)


def test_precision_and_recall_of_dead_cells(village):
    from surveyor.geo.cells import from_hex

    survey, settings, result = village
    sig = result.evidence.signal_frame()
    tp = fp = fn = 0
    for op in settings.operators:
        e = sig[sig["operator"] == op]
        truth = pd.Series(survey.truth_rsrp_dbm(e["lat"].to_numpy(), e["lon"].to_numpy(), op)).groupby(
            e["cell"].to_numpy()).median()
        judged = result.cells[(result.cells["operator"] == op)
                              & result.cells["status"].isin(["dead", "covered", "marginal"])]
        t = truth.reindex(from_hex(judged["h3"])).to_numpy()
        dead = (judged["status"] == "dead").to_numpy()
        truly_dead = t < settings.rsrp_negative_below_dbm - GUARD_DB
        truly_alive = t > settings.rsrp_negative_below_dbm + GUARD_DB
        tp += int((dead & truly_dead).sum())
        fp += int((dead & truly_alive).sum())
        fn += int((~dead & truly_dead).sum())
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert tp >= 8
    assert precision >= 0.95, (tp, fp, fn)
    assert recall >= 0.75, (tp, fp, fn)


def test_area_walked_once_is_insufficient_never_judged(village):
    survey, _settings, result = village
    if survey.walked_once is None or survey.walked_once.is_empty:
        pytest.skip("the simulation walked no area only once")
    c = result.cells
    inside = shapely.contains_xy(survey.walked_once, c["lon"].to_numpy(), c["lat"].to_numpy())
    once = c[inside & (c["samples_raw"] > 0) & (c["sessions"] <= 1)]
    assert len(once) >= 1
    assert set(once["status"]) == {"insufficient"}
    assert once["needs"].str.contains("another session").all()


def test_unvisited_area_is_not_surveyed(village):
    survey, settings, result = village
    assert survey.never_walked is not None
    c = result.cells
    inside = shapely.contains_xy(survey.never_walked, c["lon"].to_numpy(), c["lat"].to_numpy())
    assert inside.sum() >= 2 * 5
    assert set(c[inside]["status"]) == {"not_surveyed"}
    assert set(c[inside]["operator"]) == set(settings.operators)


def test_dead_zone_ids_are_stable_and_ordered(village):
    _survey, _settings, result = village
    z = result.dead_zones
    assert len(z) >= 2
    for _op, g in z.groupby("operator"):
        assert list(g["zone_id"]) == sorted(g["zone_id"])
        lat = g.sort_values("zone_id")["centroid_lat"].to_numpy()
        assert (np.diff(lat) >= 0).all()  # numbered south to north
    assert (z["lower_95"] > 0.5).all() or (z["speed_failed"] > 0).any()
    assert z["nearest_signal_direction"].notna().all()
