"""Each rule of docs/method.md at its edges, on small synthetic walks (no database)."""

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from surveyor.analyse import compute
from surveyor.analyse.cells import compute_cells
from surveyor.analyse.effective import effective_mask
from surveyor.analyse.evidence import prepare_evidence
from surveyor.analyse.rollup import rollup
from surveyor.config import ExclusionZone, Settings

from .conftest import SPACING, T0, still, walk


def one_cell(df: pd.DataFrame, settings: Settings, operator: str = "Telkomsel") -> pd.Series:
    cells = compute_cells(df, settings)
    rows = cells[(cells["operator"] == operator) & ((cells["samples_raw"] > 0) | (cells["speed_tests"] > 0))]
    assert len(rows) == 1, rows[["h3", "samples_raw"]]
    return rows.iloc[0]


def visits(n_first: int, n_second: int, gap: timedelta, **values) -> pd.DataFrame:
    """Two sessions standing in one cell, samples 30 s apart and 25 m apart (a small loop)."""
    a = walk(n_first, session="a", device="d1", step_s=30, step_m=0.0, **values)
    b = walk(n_second, session="b", device="d2", step_s=30, step_m=0.0, start=T0 + gap, **values)
    df = pd.concat([a, b], ignore_index=True)
    # alternate between two points 25 m apart so every sample is 30 s and 25 m from the previous
    df["lat"] = df["lat"] + np.where(np.arange(len(df)) % 2 == 1, 25 / 111_195.0, 0.0)
    return df


# -- the rule functions (surveyor.analyse.rules) ----------------------------------------------------

def test_negative_reasons_each_reason_and_its_edge(settings):
    from surveyor.analyse.rules import negative_reasons

    df = pd.DataFrame({
        "kind": ["signal", "signal", "signal", "signal", "signal", "manual", "manual", "speed", None, "signal"],
        "service": ["no_service", "in_service", None, None, None, None, "no_service", "no_service", None, None],
        "tech": ["LTE", "NONE", "UMTS", "LTE", "LTE", None, None, "NONE", None, "NR"],
        "rsrp_dbm": [np.nan, np.nan, np.nan, -115.0, -115.1, np.nan, np.nan, np.nan, -130.0, -125.0],
        "nr_rsrp_dbm": [np.nan] * 9 + [-100.0],  # 5G NSA: the better of the two decides
        "level": [np.nan] * 5 + [settings.manual_max_level, np.nan, np.nan, np.nan, np.nan],
    })
    assert negative_reasons(df, settings).tolist() == [
        "no_service", "no_service", "2g3g_only", None, "weak_signal", "manual_no_signal", "no_service", None,
        "weak_signal", None]


def test_negative_reasons_follow_the_settings(settings):
    from surveyor.analyse.rules import negative_reasons

    df = pd.DataFrame({"kind": ["signal", "manual"], "tech": ["LTE", None], "rsrp_dbm": [-112.0, np.nan],
                       "level": [np.nan, 2]})
    assert negative_reasons(df, settings).tolist() == [None, None]
    stricter = replace(settings, rsrp_negative_below_dbm=-110.0, manual_max_level=2)
    assert negative_reasons(df, stricter).tolist() == ["weak_signal", "manual_no_signal"]


def test_negative_reasons_without_values_are_not_negative(settings):
    from surveyor.analyse.rules import negative_reasons

    # Columns a source does not have are unknown values: never evidence of no signal.
    assert negative_reasons(pd.DataFrame({"kind": ["signal", None]}), settings).isna().all()


def test_speed_failed_at_the_floor(settings):
    from surveyor.analyse.rules import speed_failed

    tests = pd.DataFrame({"test": ["ok", "ok", "ok", "failed", "ok", None],
                          "download_mbps": [5.0, 4.99, 20.0, np.nan, np.nan, np.nan],
                          "upload_mbps": [1.0, 3.0, 0.99, np.nan, np.nan, np.nan]})
    assert speed_failed(tests, settings).tolist() == [False, True, True, True, False, False]
    assert speed_failed(tests, replace(settings, download_min_mbps=4.0)).tolist() == \
        [False, False, True, True, False, False]


def test_rsrp_classes_use_the_configured_bounds(settings):
    from surveyor.analyse.rules import rsrp_classes

    values = [-85.0, -85.1, -95.0, -105.0, -115.0, -115.1, None, np.nan]
    assert rsrp_classes(values, settings).tolist() == [
        "excellent", "good", "good", "fair", "poor", "none", None, None]
    shifted = replace(settings, rsrp_excellent_dbm=-80.0, rsrp_good_dbm=-90.0, rsrp_fair_dbm=-100.0,
                               rsrp_poor_dbm=-110.0)
    assert rsrp_classes(values, shifted).tolist() == [
        "good", "good", "fair", "poor", "none", "none", None, None]


def test_the_phones_one_sample_rules_agree_with_the_analysis(settings):
    """The logger's live page (no numpy) judges one sample with surveyor.model; the analysis judges
    columns with surveyor.analyse.rules: same answers, at the default thresholds and on the edges."""
    from surveyor.analyse.rules import rsrp_classes, speed_failed
    from surveyor.model import rsrp_class
    from surveyor.model import speed_failed as speed_failed_one

    rsrp = [-140.0, -115.1, -115.0, -105.0, -104.9, -95.0, -85.0, -60.0, None, float("nan")]
    assert rsrp_classes(rsrp, settings).tolist() == [rsrp_class(v) for v in rsrp]
    tests = pd.DataFrame({"test": ["ok", "ok", "failed", None, "ok", "ok"],
                          "download_mbps": [5.0, 4.99, np.nan, np.nan, 30.0, np.nan],
                          "upload_mbps": [1.0, 2.0, np.nan, np.nan, 0.99, np.nan]})
    one = [speed_failed_one(t, None if d != d else d, None if u != u else u)
           for t, d, u in zip(tests["test"], tests["download_mbps"], tests["upload_mbps"])]
    assert speed_failed(tests, settings).tolist() == one


# -- effective samples ----------------------------------------------------------------------------

def test_effective_spacing_10_s_and_20_m_edges():
    g = np.zeros(3, dtype=np.int64)
    lat = np.array([0.0, 20.0001 / 111_195.0, 40.0002 / 111_195.0])
    # exactly 10 s and just over 20 m: both count
    assert effective_mask(g, np.array([0, 10_000, 20_000]), lat, np.zeros(3), **SPACING).tolist() == [True, True, True]
    # 9.999 s: the second does not count; the third is 20 s / 40 m from the first: counts
    assert effective_mask(g, np.array([0, 9_999, 20_000]), lat, np.zeros(3), **SPACING).tolist() == [True, False, True]
    # 19.9 m: the second does not count
    lat2 = np.array([0.0, 19.9 / 111_195.0, 40.0 / 111_195.0])
    mask = effective_mask(g, np.array([0, 10_000, 20_000]), lat2, np.zeros(3), **SPACING)
    assert mask.tolist() == [True, False, True]


def test_effective_counts_from_last_counted_not_last_sample():
    # 1 Hz walk at 1.5 m/s: a sample counts every 14 s (20 m at 1.5 m/s); 10 s alone is not enough
    n = 300
    t = np.arange(n) * 1000
    lat = np.arange(n) * 1.5 / 111_195.0
    eff = effective_mask(np.zeros(n, dtype=np.int64), t, lat, np.zeros(n), **SPACING)
    idx = np.flatnonzero(eff)
    assert idx[0] == 0
    assert set(np.diff(idx)) == {14}


def test_standing_still_is_one_observation(settings):
    df = still(600, step_s=1.0)  # ten minutes at one point, one sample a second
    row = one_cell(df, settings)
    assert row["samples_raw"] == 600
    assert row["samples_effective"] == 1


def test_effective_per_group_resets():
    g = np.array([0, 0, 1, 1])
    t = np.array([0, 1000, 0, 1000])
    eff = effective_mask(g, t, np.zeros(4), np.zeros(4), **SPACING)
    assert eff.tolist() == [True, False, True, False]


def test_effective_matches_a_plain_loop_on_random_walks():
    rng = np.random.default_rng(3)
    n = 3000
    g = np.sort(rng.integers(0, 7, n))
    t = np.concatenate([np.cumsum(rng.integers(0, 4000, (g == k).sum())) for k in range(7)]).astype(np.int64)
    lat = np.cumsum(rng.normal(0, 6, n)) / 111_195.0
    lon = np.cumsum(rng.normal(0, 6, n)) / 111_195.0
    from surveyor.geo.distance import haversine_m as distance_m

    expected = np.zeros(n, dtype=bool)
    last = None
    for i in range(n):
        if i == 0 or g[i] != g[i - 1]:
            last = i
            expected[i] = True
        elif t[i] - t[last] >= 10_000 and distance_m(lat[last], lon[last], lat[i], lon[i]) >= 20:
            last = i
            expected[i] = True
    assert (effective_mask(g, t, lat, lon, **SPACING) == expected).all()


# -- evidence thresholds --------------------------------------------------------------------------

def test_four_effective_samples_are_insufficient_five_are_enough(settings):
    dead = dict(rsrp_dbm=-125.0)
    four = one_cell(visits(2, 2, timedelta(hours=5), **dead), settings)
    five = one_cell(visits(3, 2, timedelta(hours=5), **dead), settings)
    assert four["samples_effective"] == 4 and four["status"] == "insufficient"
    assert "1 more sample" in four["needs"]
    assert five["samples_effective"] == 5 and five["status"] == "dead"
    assert five["lower_95"] == pytest.approx(0.549, abs=1e-3)


def test_sessions_3h59_apart_are_one_visit_4h_are_two(settings):
    dead = dict(rsrp_dbm=-125.0)
    close = one_cell(visits(5, 5, timedelta(hours=3, minutes=59), **dead), settings)
    apart = one_cell(visits(5, 5, timedelta(hours=4), **dead), settings)
    assert close["sessions"] == 2 and close["status"] == "insufficient"
    assert close["needs"] == "another session >= 4 h after 2026-07-14 08:00"
    assert apart["status"] == "dead" and apart["time_spread_h"] == pytest.approx(4.0)


def test_one_session_is_insufficient_never_dead(settings):
    row = one_cell(walk(40, step_m=0.0, rsrp_dbm=-130.0, step_s=30), settings)
    assert row["status"] == "insufficient"
    assert row["negatives_effective"] == row["samples_effective"]


def test_accuracy_50_m_kept_51_m_left_out(settings):
    df = visits(3, 3, timedelta(hours=5))
    df["accuracy_m"] = [50.0, 51.0, 50.0, 51.0, np.nan, 50.0]
    ev = prepare_evidence(df, settings)
    assert ev.left_out["accuracy"] == 2
    assert len(ev.signal) == 4
    row = one_cell(df, settings)
    assert row["unknown_accuracy_share"] == pytest.approx(0.25)


def test_indoor_unplaced_excluded_and_other_operators_left_out():
    s = Settings(exclusion_zones=(ExclusionZone(-7.437, 109.858, 30.0, "home"),))
    df = pd.concat([
        walk(3, environment="indoor", lat=-7.440),
        walk(2, lat=np.nan, lon=np.nan),
        walk(4),  # starts inside the exclusion zone: first 2 samples (0 m, 25 m) inside 30 m
        walk(3, operator="XL", lat=-7.441),
        walk(1, operator=None, lat=-7.441),
    ], ignore_index=True)
    ev = prepare_evidence(df, s)
    assert ev.left_out == {"unplaced": 2, "excluded": 2, "no_time": 0, "indoor": 3, "accuracy": 0,
                           "no_operator": 1, "other_operator": 3}
    assert ev.other_operators == {"XL": 3}
    assert len(ev.signal) == 2


def test_covered_marginal_dead_by_share(settings):
    good = one_cell(visits(10, 10, timedelta(hours=6), rsrp_dbm=-90.0), settings)
    assert good["status"] == "covered" and good["upper_95"] < 0.2
    mixed = visits(10, 10, timedelta(hours=6))
    mixed["rsrp_dbm"] = np.where(np.arange(20) % 2 == 0, -90.0, -125.0)
    row = one_cell(mixed, settings)
    assert row["status"] == "marginal" and row["share_negative"] == 0.5


def test_rsrp_threshold_and_2g_only_are_negative_with_sub_reasons(settings):
    df = visits(5, 5, timedelta(hours=5))
    df["rsrp_dbm"] = -115.0  # exactly -115 is not below -115: usable
    row = one_cell(df, settings)
    assert row["negatives_effective"] == 0
    df = visits(5, 5, timedelta(hours=5))
    df["tech"] = ["GSM"] * 8 + ["NONE"] * 2
    df.loc[df["tech"] == "GSM", "rsrp_dbm"] = np.nan
    df.loc[df["tech"] == "GSM", "rssi_dbm"] = -80.0
    df.loc[df["tech"] == "NONE", "service"] = "no_service"
    row = one_cell(df, settings)
    assert row["status"] == "dead"  # 10 of 10; 8 of 10 would give a lower bound of 0.493: marginal
    assert row["share_2g3g"] == pytest.approx(0.8) and row["share_no_service"] == pytest.approx(0.2)
    assert row["tech_main"] == "GSM" and row["signal_metric"] == "rssi"
    assert row["rsrp_median_dbm"] == pytest.approx(-80.0)


def test_weak_signal_flag_for_blank_spot_sheet(settings):
    row = one_cell(visits(10, 10, timedelta(hours=6), rsrp_dbm=-108.0), settings)
    assert row["status"] == "covered" and row["weak_signal"]
    row = one_cell(visits(10, 10, timedelta(hours=6), rsrp_dbm=-100.0), settings)
    assert not row["weak_signal"]


def speed_tests(n: int, sessions: int, failed: bool = True) -> pd.DataFrame:
    rows = []
    for i in range(n):
        r = walk(1, session=f"sp{i % sessions}", start=T0 + timedelta(hours=5 * (i % sessions), minutes=i),
                 kind="speed", tech="LTE", rsrp_dbm=np.nan)
        r["test"] = "failed" if failed else "ok"
        r["download_mbps"] = np.nan if failed else 20.0
        r["upload_mbps"] = np.nan if failed else 5.0
        rows.append(r)
    return pd.concat(rows, ignore_index=True)


def test_three_failed_speed_tests_from_two_sessions_make_a_cell_dead(settings):
    row = one_cell(speed_tests(3, 2), settings)
    assert row["status"] == "dead" and row["dead_by"] == "speed_tests"
    assert row["speed_tests"] == 3 and row["speed_failed"] == 3
    assert one_cell(speed_tests(2, 2), settings)["status"] == "insufficient"
    assert one_cell(speed_tests(3, 1), settings)["status"] == "insufficient"
    mixed = pd.concat([speed_tests(3, 2), speed_tests(1, 1, failed=False)], ignore_index=True)
    assert one_cell(mixed, settings)["status"] == "insufficient"


def test_slow_download_fails_fcc_floor(settings):
    df = speed_tests(3, 2, failed=False)
    df["download_mbps"] = [4.9, 4.0, 3.0]
    row = one_cell(df, settings)
    assert row["speed_failed"] == 3 and row["status"] == "dead"
    assert row["download_median_mbps"] == pytest.approx(4.0)


def test_manual_bars_rule(settings):
    df = visits(5, 5, timedelta(hours=5), kind="manual", tech=None, rsrp_dbm=np.nan)
    df["level"] = [0, 1, 1, 0, 1, 0, 1, 1, 0, 1]
    assert one_cell(df, settings)["status"] == "dead"
    df["level"] = 3
    assert one_cell(df, settings)["status"] == "marginal"  # 0 of 10: upper bound 0.259, not yet < 0.2
    df = visits(7, 7, timedelta(hours=5), kind="manual", tech=None, rsrp_dbm=np.nan, level=3)
    assert one_cell(df, settings)["status"] == "covered"  # 0 of 14: upper bound 0.193


# -- area, dusun, roll-up --------------------------------------------------------------------------

def test_not_surveyed_rows_per_operator_and_outside_area(settings):
    from surveyor.geo.areas import load_boundary

    boundary = load_boundary(settings)
    df = pd.concat([visits(5, 5, timedelta(hours=5)),
                    walk(6, session="far", lat=-7.50, lon=109.90)], ignore_index=True)  # ~8 km away
    cells = compute_cells(df, settings, boundary)
    ns = cells[cells["status"] == "not_surveyed"]
    assert set(ns["operator"]) == {"Telkomsel", "Indosat"}
    assert (ns["samples_raw"] == 0).all() and not ns["outside_area"].any()
    assert len(cells[cells["operator"] == "Indosat"]) == len(cells[cells["operator"] == "Indosat"]["h3"].unique())
    surveyed = cells[cells["samples_raw"] > 0]
    far = surveyed[surveyed["lat"] < -7.49]
    assert len(far) >= 1 and far["outside_area"].all() and (far["status"] == "insufficient").all()
    assert not surveyed[surveyed["lat"] > -7.45]["outside_area"].any()


def test_rollup_to_8_recomputes_bounds(settings):
    from surveyor.geo.areas import load_boundary

    df = visits(5, 5, timedelta(hours=5), rsrp_dbm=-125.0)
    cells = compute_cells(df, settings, load_boundary(settings))
    up = rollup(cells, 8, settings)
    assert (up["resolution"] == 8).all()
    row = up[(up["operator"] == "Telkomsel") & (up["samples_raw"] > 0)].iloc[0]
    assert row["samples_effective"] == 10 and row["status"] == "dead"
    assert row["lower_95"] == pytest.approx(0.05 ** 0.1, abs=1e-9)
    assert set(up[up["operator"] == "Indosat"]["status"]) == {"not_surveyed"}


def test_no_sample_left_means_every_area_cell_not_surveyed(settings):
    from surveyor.geo.areas import load_boundary

    result = compute(walk(5, environment="indoor"), settings, load_boundary(settings))
    assert result.summary.samples_used == 0 and result.summary.left_out["indoor"] == 5
    assert len(result.cells) and set(result.cells["status"]) == {"not_surveyed"}
    assert result.cells["first_seen"].isna().all() and len(result.dead_zones) == len(result.sites) == 0


def test_all_samples_at_one_point(settings):
    df = pd.concat([still(50, session="a"), still(50, session="b", start=T0 + timedelta(hours=6))])
    result = compute(df, settings)
    row = result.cells[result.cells["samples_raw"] > 0].iloc[0]
    assert row["samples_effective"] == 2 and row["status"] == "insufficient"
    assert len(result.dead_zones) == 0 and len(result.sites) == 0


def test_resolution_changes_cells(settings):
    df = visits(5, 5, timedelta(hours=5))
    assert compute_cells(df, settings, resolution=9)["resolution"].eq(9).all()
    assert compute_cells(df, settings, resolution=9)["h3"].iloc[0].startswith("89")
