"""Statistics of the coverage rules: one-sided Clopper-Pearson bounds and grouped percentiles.

Bounds follow ETSI TS 102 250-6 / ITU-T E.804, which judge success ratios with exact binomial
(Clopper-Pearson) confidence intervals. The bounds are *one-sided*: "the share of negative samples
is at least ``lower``" and "at most ``upper``", each holding with probability ``confidence``. With
the defaults, 5 negatives out of 5 give a lower bound of 0.05 ** (1 / 5) = 0.549.
"""

from __future__ import annotations

import numpy as np


def clopper_pearson(negatives, samples, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """One-sided exact binomial bounds of a share, vectorised.

    Parameters
    ----------
    negatives
        Number of negative (effective) samples, array-like of ints.
    samples
        Number of (effective) samples, array-like of ints, same shape.
    confidence
        One-sided confidence level of each bound (0.95 by default).

    Returns
    -------
    lower, upper
        float arrays; ``lower`` is 0 when there are no negatives, ``upper`` is 1 when all are
        negative, and both are NaN when there are no samples.

    Notes
    -----
    ``lower = Beta(1 - confidence; k, n - k + 1)`` and ``upper = Beta(confidence; k + 1, n - k)``
    (the beta quantile function), as in Clopper & Pearson (1934).
    """
    # The beta quantile is the inverse of the regularised incomplete beta function; scipy.special
    # gives it without importing scipy.stats, which takes most of a second on a slow machine.
    from scipy.special import betaincinv

    k = np.asarray(negatives, dtype=float)
    n = np.asarray(samples, dtype=float)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k > 0, betaincinv(np.maximum(k, 1e-300), n - k + 1, alpha), 0.0)
        upper = np.where(k < n, betaincinv(k + 1, np.maximum(n - k, 1e-300), 1.0 - alpha), 1.0)
    empty = ~(n > 0)
    lower = np.where(empty, np.nan, lower)
    upper = np.where(empty, np.nan, upper)
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)


def grouped_quantiles(codes: np.ndarray, values: np.ndarray, n_groups: int,
                      qs: tuple[float, ...] = (0.2, 0.5, 0.8)) -> np.ndarray:
    """Quantiles of ``values`` per group, with linear interpolation (numpy's default method).

    One lexicographic sort does all groups at once, which is several times faster than pandas'
    grouped quantile for a million rows. NaN values are ignored; empty groups give NaN.

    Parameters
    ----------
    codes
        Group number of each value, ints in ``[0, n_groups)``.
    values
        float values.
    n_groups
        Number of groups.
    qs
        Quantiles wanted, each in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape ``(n_groups, len(qs))``.
    """
    values = np.asarray(values, dtype=float)
    codes = np.asarray(codes)
    ok = ~np.isnan(values)
    v, c = values[ok], codes[ok]
    counts = np.bincount(c, minlength=n_groups)
    span = float(v.max() - v.min()) if len(v) else 0.0
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    if len(v) and span < 1e4 and n_groups * (span + 1.0) <= 2 * len(v) + (1 << 16):
        # Whole numbers (dBm readings usually are) in a narrow range: counting them per group and
        # value gives the sorted order without sorting. The k-th value of the sorted array below is
        # the bin where the cumulative count passes k, so only the wanted positions are looked up.
        vmin = v.min()
        shifted = v - vmin
        whole = shifted.astype(np.int64)
        if np.array_equal(whole, shifted):
            width = int(span) + 1
            cum = np.cumsum(np.bincount(np.asarray(c, dtype=np.int64) * width + whole, minlength=n_groups * width))
            return _quantiles_at(lambda p: (np.searchsorted(cum, p, side="right") % width).astype(float) + vmin,
                                 counts, starts, n_groups, qs)
    if len(v) and span < 1e4 and n_groups * (span + 1.0) < 2.0 ** 40:
        # One float sort instead of a lexicographic one: group * (span + 1) + value keeps groups
        # apart and, below 2**40, leaves the values exact to well under 1e-6 (dBm, Mbit/s, m).
        group_width = span + 1.0
        offset = c.astype(float) * group_width
        v = np.sort(offset + (v - v.min())) - np.repeat(np.arange(n_groups) * group_width, counts) + v.min()
    else:
        order = np.lexsort((v, c))
        v = v[order]
    return _quantiles_at(lambda p: v[p], counts, starts, n_groups, qs)


def _quantiles_at(sorted_at, counts: np.ndarray, starts: np.ndarray, n_groups: int, qs) -> np.ndarray:
    """Linear-interpolation quantiles per group, given the values at positions of the array sorted
    by group, then value (``sorted_at(positions)``)."""
    out = np.full((n_groups, len(qs)), np.nan)
    has = counts > 0
    for j, q in enumerate(qs):
        pos = (counts[has] - 1) * q
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, counts[has] - 1)
        frac = pos - lo
        base = starts[has]
        out[has, j] = sorted_at(base + lo) * (1 - frac) + sorted_at(base + hi) * frac
    return out

