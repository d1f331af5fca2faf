"""The shortcuts the analysis takes on large inputs give exactly what the plain computations give:
codes of long runs (with a row mask, in narrow integers), sorted factorisation of runs of cells,
whole-number quantiles by counting, zoned datetimes to milliseconds, and the time rule of the
effective samples when many samples fall within the gap."""

import numpy as np
import pandas as pd
import pytest

from analyse.conftest import SPACING
from analyse.test_effective_fast import plain_loop
from surveyor.analyse.cells import _factorize_sorted
from surveyor.analyse.effective import effective_mask
from surveyor.analyse.evidence import _codes
from surveyor.analyse.stats import grouped_quantiles
from surveyor.analyse.times import utc_ms


def _runs(rng, n, values, mean_run=50):
    lengths = rng.integers(1, 2 * mean_run, 2 * (n // mean_run) + 2)  # enough runs for n rows
    picks = rng.integers(0, len(values), len(lengths))
    return np.repeat(np.array(values, dtype=object)[picks], lengths)[:n]


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", object])
@pytest.mark.parametrize("narrow", [False, True])
def test_codes_of_runs_with_mask_match_factorize(dtype, narrow):
    rng = np.random.default_rng(5)
    n = 20_000
    df = pd.DataFrame({"s": pd.Series(_runs(rng, n, ["LTE", "GSM", None, "NR", "UMTS"]), dtype=dtype)})
    mask = rng.random(n) < 0.9
    want_codes, want_uniques = pd.factorize(df["s"], use_na_sentinel=True)
    for m in (None, mask):
        codes, uniques = _codes(df, "s", narrow=narrow, mask=m)
        assert list(uniques) == list(want_uniques)
        assert codes.dtype == (np.int8 if narrow else np.int64)
        assert (codes == (want_codes if m is None else want_codes[m])).all()
    codes, uniques = _codes(df, "absent", narrow=narrow, mask=mask)
    assert len(codes) == mask.sum() and (codes == -1).all() and len(uniques) == 0


@pytest.mark.parametrize("shuffle", [False, True])
def test_factorize_sorted_of_runs(shuffle):
    rng = np.random.default_rng(6)
    cells = _runs(rng, 30_000, list(range(300)), mean_run=40).astype(np.uint64) + np.uint64(622_000_000_000_000_000)
    if shuffle:
        rng.shuffle(cells)
    want_codes, want_uniques = pd.factorize(cells, sort=True)
    codes, uniques = _factorize_sorted(cells)
    assert codes.dtype == np.int64 and (codes == want_codes).all()
    assert (np.asarray(uniques) == np.asarray(want_uniques)).all()


def _quantiles_by_sorting(codes, values, n_groups, qs):
    out = np.full((n_groups, len(qs)), np.nan)
    for g in range(n_groups):
        v = np.sort(values[(codes == g) & ~np.isnan(values)])
        for j, q in enumerate(qs):
            if len(v):
                pos = (len(v) - 1) * q
                lo = int(np.floor(pos))
                hi = min(lo + 1, len(v) - 1)
                frac = pos - lo
                out[g, j] = v[lo] * (1 - frac) + v[hi] * frac
    return out


@pytest.mark.parametrize("seed", range(6))
def test_whole_number_quantiles_by_counting_are_exact(seed):
    rng = np.random.default_rng(seed)
    n, groups = int(rng.integers(1, 50_000)), int(rng.integers(1, 400))
    codes = rng.integers(0, groups, n)
    values = np.round(rng.normal(-95, 12, n))
    values[rng.random(n) < 0.1] = np.nan
    qs = (0.2, 0.5, 0.8, 0.0, 1.0, 0.33)
    got = grouped_quantiles(codes, values, groups, qs)
    assert np.array_equal(got, _quantiles_by_sorting(codes, values, groups, qs), equal_nan=True)


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
@pytest.mark.parametrize("tz", ["UTC", "Asia/Jakarta"])
def test_zoned_times_to_ms_match_pandas(unit, tz):
    rng = np.random.default_rng(7)
    ns = rng.integers(-10**17, 10**17, 5000)
    times = pd.Series(pd.to_datetime(ns, utc=True)).dt.as_unit(unit).dt.tz_convert(tz)
    times[::37] = pd.NaT
    want = times.dt.tz_convert("UTC").astype("datetime64[ms, UTC]").astype("int64").to_numpy(
        dtype=np.int64, na_value=np.iinfo(np.int64).min)
    assert (utc_ms(times) == want).all()


@pytest.mark.parametrize("seed", range(3))
def test_effective_samples_logged_many_times_a_second(seed):
    # 10 samples a second: the first sample 10 s later is 100 samples on, beyond the look-ahead.
    rng = np.random.default_rng(seed)
    n = 6000
    g = np.sort(rng.integers(0, 5, n))
    t = np.cumsum(rng.choice([0, 100, 100, 250], n)).astype(np.int64)
    lat = -7.43 + np.cumsum(rng.normal(0, 0.4, n)) / 111_195.0
    lon = 109.85 + np.cumsum(rng.normal(0, 0.4, n)) / 110_000.0
    expected = plain_loop(g, t, lat, lon)
    for dense_factor in (0.0, 120.0):
        assert (effective_mask(g, t, lat, lon, dense_factor=dense_factor, **SPACING) == expected).all()
