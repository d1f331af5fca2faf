"""The effective-sample rule walked inside PostGIS counts exactly what the Python rule counts, on walks
made to trip it: standing still with GPS jitter, pacing back and forth, gaps of exactly the limit,
two samples of one time, rows stored out of time order, dual-SIM phones, samples without a session,
a session grown over two merges, filtered samples between counted ones, random walks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from district.conftest import load_frames
from district.helpers import T0_MS, along, assert_same_analysis, frame
from surveyor.analyse import analyze
from surveyor.config import Settings
from surveyor.geo.scope import in_scope

pytestmark = pytest.mark.postgis


def _both(both_stores, frames, settings=None):
    settings = settings or Settings()
    gpkg, pg = both_stores
    load_frames(gpkg, frames)
    load_frames(pg, frames)
    a, b = analyze(gpkg, settings), analyze(pg, settings)
    assert_same_analysis(gpkg, pg)
    return a, b


def _effective(store) -> int:
    return int(store.read_layer("cells")["samples_effective"].sum())


def test_standing_still_with_gps_jitter_then_walking(both_stores):
    rng = np.random.default_rng(1)
    n_still, n_walk = 900, 300
    north = np.concatenate([rng.normal(0, 8, n_still), np.arange(n_walk) * 1.3])
    east = np.concatenate([rng.normal(0, 8, n_still), np.zeros(n_walk)])
    t = T0_MS + np.arange(n_still + n_walk) * 1000
    summary, _ = _both(both_stores, [frame(t, *along(north, east))])
    # the jitter alone moves the phone 20 m now and then: some counted samples, far fewer than rows
    assert 30 < summary.effective_samples < 400


def test_pacing_back_and_forth_over_thirty_metres(both_stores):
    steps = np.tile(np.concatenate([np.arange(0, 30, 1.5), np.arange(30, 0, -1.5)]), 15)
    t = T0_MS + np.arange(len(steps)) * 2000
    _both(both_stores, [frame(t, *along(steps))])


def test_gaps_of_exactly_the_limit_and_a_millisecond_under(both_stores):
    # every 10.000 s counts, every 9.999 s does not (the time rule is exact to the millisecond)
    gaps = np.where(np.arange(200) % 2 == 0, 10_000, 9_999)
    t = T0_MS + np.concatenate([[0], np.cumsum(gaps)[:-1]])
    # a 6 km line runs out of the village: every sample counts here (--all-data)
    summary, _ = _both(both_stores, [frame(t, *along(np.arange(200) * 30.0))], Settings(out_of_scope="include"))
    assert summary.samples_read == 200 and summary.effective_samples > 100


def test_two_samples_of_one_time_are_taken_in_sample_id_order(both_stores):
    n = 240
    t = T0_MS + (np.arange(n) // 2) * 6000  # pairs of one time
    north = np.arange(n) * 9.0 + np.where(np.arange(n) % 2 == 0, 0.0, 25.0)
    df = frame(t, *along(north), rsrp_dbm=np.where(np.arange(n) % 3 == 0, -120.0, -90.0))
    _both(both_stores, [df])


def test_rows_stored_out_of_time_order(both_stores):
    n = 300
    t = T0_MS + np.arange(n) * 3000
    df = frame(t, *along(np.arange(n) * 7.0)).iloc[::-1].reset_index(drop=True)
    _both(both_stores, [df.sample(frac=1.0, random_state=3).reset_index(drop=True)])


def test_dual_sim_phone_logs_two_independent_series(both_stores):
    n = 400
    t = T0_MS + (np.arange(n) // 2) * 4000
    ops = np.where(np.arange(n) % 2 == 0, "Telkomsel", "Indosat")
    rsrp = np.where(ops == "Indosat", -118.0, -92.0)
    df = frame(t, *along((np.arange(n) // 2) * 6.0), operator=ops, rsrp_dbm=rsrp)
    summary, _ = _both(both_stores, [df])
    assert summary.operators["Indosat"].cells["dead"] + summary.operators["Indosat"].cells["insufficient"] > 0


def test_samples_without_a_session_are_grouped_per_file(both_stores):
    n = 200
    t = T0_MS + np.arange(n) * 5000
    a = frame(t, *along(np.arange(n) * 12.0), session=None, source_file="a.csv")
    b = frame(t + 5 * 3_600_000, *along(np.arange(n) * 12.0), session=None, source_file="b.csv", first_id=10_000)
    _both(both_stores, [a, b])


def test_a_session_grown_over_two_merges(both_stores):
    n = 300
    t = T0_MS + np.arange(n) * 4000
    whole = frame(t, *along(np.arange(n) * 5.0))
    _both(both_stores, [whole.iloc[:170].copy(), whole.iloc[170:].copy()])


def test_samples_left_out_between_counted_ones_do_not_count(both_stores):
    n = 400
    t = T0_MS + np.arange(n) * 3000
    kind = np.where(np.arange(n) % 17 == 0, "speed", np.where(np.arange(n) % 29 == 0, "manual", "signal"))
    df = frame(t, *along(np.arange(n) * 8.0), kind=kind,
               accuracy_m=np.where(np.arange(n) % 5 == 0, 80.0, np.where(np.arange(n) % 7 == 0, np.nan, 5.0)),
               environment=np.where(np.arange(n) % 11 == 0, "indoor", "outdoor"),
               download_mbps=np.where(kind == "speed", np.linspace(0.5, 30, n), np.nan),
               upload_mbps=np.where(kind == "speed", 2.0, np.nan),
               test=np.where(kind == "speed", np.where(np.arange(n) % 34 == 0, "failed", "ok"), None),
               level=np.where(kind == "manual", np.arange(n) % 5, np.nan),
               tech=np.where(np.arange(n) % 13 == 0, "GSM", "LTE"),
               service=np.where(np.arange(n) % 19 == 0, "no_service", "in_service"))
    summary, _ = _both(both_stores, [df])
    assert summary.left_out["accuracy"] > 0 and summary.left_out["indoor"] > 0 and summary.speed_tests > 0


def test_no_time_gap_rule_and_a_short_distance(both_stores):
    settings = dataclasses.replace(Settings(), effective_min_gap_s=0.0, effective_min_distance_m=3.0)
    rng = np.random.default_rng(5)
    n = 500
    t = T0_MS + np.sort(rng.integers(0, n * 800, n))
    _both(both_stores, [frame(t, *along(np.cumsum(rng.uniform(0, 4, n)), rng.normal(0, 1, n)))], settings)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_walks_of_many_sessions(both_stores, seed):
    """Sessions of random logging intervals (0.2-30 s), speeds (standing to cycling), turns,
    repeated times and GPS jumps, two operators, over several days."""
    rng = np.random.default_rng(seed)
    frames, first = [], 1
    for s in range(8):
        n = int(rng.integers(50, 400))
        dt = np.round(rng.choice([200, 1000, 2000, 5000, 10_000, 30_000], n, p=[.1, .3, .2, .2, .1, .1])
                      * rng.uniform(0.9, 1.1, n))
        dt[rng.random(n) < 0.05] = 0  # repeated times
        t = T0_MS + s * 7 * 3_600_000 + np.cumsum(dt).astype(np.int64)
        speed = rng.choice([0.0, 1.2, 5.0], n, p=[.3, .5, .2])
        heading = np.cumsum(rng.normal(0, 0.6, n))
        step = speed * dt / 1000.0 + rng.normal(0, 3, n)
        north = np.cumsum(step * np.cos(heading)) + np.where(rng.random(n) < 0.01, 150.0, 0.0)
        east = np.cumsum(step * np.sin(heading))
        op = "Telkomsel" if s % 3 else "Indosat"
        rsrp = np.round(rng.normal(-108, 9, n))
        frames.append(frame(t, *along(north, east), session=f"walk-{seed}-{s}", operator=op,
                            device=f"dev-{s % 3}", rsrp_dbm=rsrp, first_id=first,
                            source_file=f"walk-{s}.jsonl"))
        first += n
    _both(both_stores, frames)


def test_the_survey_scope_leaves_out_the_same_samples_in_both(both_stores):
    # A walk that leaves the village (beyond max_distance_m of its boundary), an old walk far
    # outside the period, and a log from far away made 400 days later (which must not push the
    # village's own walks out of the period): both paths leave out the same samples.
    t = T0_MS + np.arange(300) * 12_000
    away = frame(t, *along(np.arange(300) * 40.0))
    old = frame(T0_MS - 400 * 86_400_000 + np.arange(50) * 12_000, *along(np.arange(50) * 25.0),
                session="old-walk", source_file="old.jsonl", first_id=1_000)
    later = frame(T0_MS + 400 * 86_400_000 + np.arange(40) * 12_000, *along(np.arange(40) * 25.0, 80_000.0),
                  session="far-later", source_file="far.jsonl", first_id=2_000)
    a, b = _both(both_stores, [away, old, later])
    kept = in_scope(pd.concat([away, old, later], ignore_index=True), Settings())
    assert 0 < len(kept) < 300 and not {"old-walk", "far-later"} & set(kept["session"])
    assert a.samples_read == b.samples_read == len(kept)
