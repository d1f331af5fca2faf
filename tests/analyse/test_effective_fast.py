"""The effective-sample chain (frontier steps over all groups, with the dense method for the last
long groups) against a plain loop over the rule, on random walks with standing still, equal times
and jumps."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from surveyor.analyse.effective import effective_mask
from surveyor.geo.distance import haversine_m as distance_m

from .conftest import SPACING


def plain_loop(g, t, lat, lon, gap_ms=10_000, dist_m=20.0):
    out = np.zeros(len(g), dtype=bool)
    last = None
    for i in range(len(g)):
        if i == 0 or g[i] != g[i - 1]:
            last, out[i] = i, True
        elif t[i] - t[last] >= gap_ms and distance_m(lat[last], lon[last], lat[i], lon[i]) >= dist_m:
            last, out[i] = i, True
    return out


def random_walks(seed: int, n: int, groups: int):
    rng = np.random.default_rng(seed)
    g = np.sort(rng.integers(0, groups, n))
    sizes = np.bincount(g, minlength=groups)
    t = np.concatenate([np.cumsum(rng.choice([0, 1000, 1000, 1000, 3000, 60_000], k)) for k in sizes])
    step = rng.normal(0, 4, (n, 2)) * (rng.random((n, 1)) < 0.7)  # 30% standing still
    step[rng.random(n) < 0.002] *= 500  # GPS jumps
    lat = -7.43 + np.cumsum(step[:, 0]) / 111_195.0
    lon = 109.85 + np.cumsum(step[:, 1]) / 110_000.0
    return g, t.astype(np.int64), lat, lon


@pytest.mark.parametrize("dense_factor", [0.0, 120.0, np.inf])
@pytest.mark.parametrize("seed,n,groups", [(1, 4000, 1), (2, 5000, 3), (3, 6000, 40), (4, 3000, 400)])
def test_chain_matches_plain_loop(seed, n, groups, dense_factor):
    g, t, lat, lon = random_walks(seed, n, groups)
    expected = plain_loop(g, t, lat, lon)
    assert (effective_mask(g, t, lat, lon, dense_factor=dense_factor, **SPACING) == expected).all()


@hsettings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), groups=st.integers(1, 12),
       gap_s=st.sampled_from([0.0, 1.0, 10.0]), dist=st.sampled_from([0.0, 5.0, 20.0]),
       dense_factor=st.sampled_from([0.0, 120.0, np.inf]))
def test_chain_matches_plain_loop_any_rules(seed, n, groups, gap_s, dist, dense_factor):
    g, t, lat, lon = random_walks(seed, n, groups)
    expected = plain_loop(g, t, lat, lon, int(round(gap_s * 1000)), dist)
    got = effective_mask(g, t, lat, lon, min_gap_s=gap_s, min_distance_m=dist, dense_factor=dense_factor)
    assert (got == expected).all()
