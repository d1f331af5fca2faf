"""The statistics: one-sided Clopper-Pearson bounds and grouped quantiles."""

import numpy as np
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from surveyor.analyse.stats import clopper_pearson, grouped_quantiles
from surveyor.geo.bearing import bearing_deg


def test_five_of_five_gives_the_documented_lower_bound():
    lower, upper = clopper_pearson([5], [5], 0.95)
    assert abs(lower[0] - 0.05 ** (1 / 5)) < 1e-9  # 0.549, docs/method.md
    assert upper[0] == 1.0


def test_no_negatives_lower_bound_zero_and_upper_closed_form():
    lower, upper = clopper_pearson([0], [14], 0.95)
    assert lower[0] == 0.0
    assert abs(upper[0] - (1 - 0.05 ** (1 / 14))) < 1e-9  # 0.193: 14 clean samples are "covered"


def test_no_samples_gives_nan():
    lower, upper = clopper_pearson([0], [0])
    assert np.isnan(lower[0]) and np.isnan(upper[0])


@hsettings(max_examples=100, deadline=None)
@given(n=st.integers(1, 500), data=st.data(), conf=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_bounds_contain_the_share(n, data, conf):
    k = data.draw(st.integers(0, n))
    lower, upper = clopper_pearson([k], [n], conf)
    assert 0.0 <= lower[0] <= k / n <= upper[0] <= 1.0


@hsettings(max_examples=100, deadline=None)
@given(n=st.integers(1, 400), data=st.data())
def test_more_negatives_never_lower_the_bounds(n, data):
    k = data.draw(st.integers(0, n - 1))
    lower, upper = clopper_pearson([k, k + 1], [n, n])
    assert lower[1] >= lower[0]
    assert upper[1] >= upper[0]


@hsettings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_more_samples_with_same_share_tighten_the_bounds(n, data):
    k = data.draw(st.integers(0, n))
    lower, upper = clopper_pearson([k, 2 * k], [n, 2 * n])
    assert lower[1] >= lower[0] - 1e-12
    assert upper[1] <= upper[0] + 1e-12


@hsettings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(-140, -40)), min_size=1, max_size=60))
def test_grouped_quantiles_match_numpy(rows):
    codes = np.array([r[0] for r in rows])
    values = np.array([r[1] for r in rows])
    got = grouped_quantiles(codes, values, 5, (0.2, 0.5, 0.8))
    for g in range(5):
        v = values[codes == g]
        if len(v):
            assert np.allclose(got[g], np.quantile(v, [0.2, 0.5, 0.8]))
        else:
            assert np.isnan(got[g]).all()


def test_bearing_north_east():
    assert abs(bearing_deg(0.0, 0.0, 0.001, 0.001) - 45.0) < 0.1
    assert abs(bearing_deg(-7.437, 109.858, -7.447, 109.858) - 180.0) < 1e-6
