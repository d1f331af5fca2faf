"""Effective samples: the thinning that makes one walk's samples count as independent evidence.

Samples of one walk are not independent (one sample a second for a minute in one place is one
observation), so within one session and operator a sample counts only when it is at least
``effective_min_gap_s`` seconds and ``effective_min_distance_m`` metres from the last counted one
(docs/method.md). :func:`effective_mask` answers that for every sample at once.
"""

from __future__ import annotations

import numpy as np

from surveyor.geo.distance import EARTH_RADIUS_M, haversine_m

__all__ = ["effective_mask"]


def _chain_inputs(group, t_ms, lat, lon):
    """The effective-sample rules' inputs as arrays, with each group's first and end index."""
    group = np.asarray(group, dtype=np.int64)
    t = np.asarray(t_ms, dtype=np.int64)
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1]))) if len(t) else np.zeros(0, int)
    ends = np.append(starts[1:], len(t))
    return group, t, la, lo, starts, ends


def effective_mask(group, t_ms, lat, lon, *, min_gap_s: float, min_distance_m: float,
                   rounds: int = 8, dense_factor: float = 120.0) -> np.ndarray:
    """Which samples count as *effective*: within a group (one session and operator), a sample
    counts when it is at least ``min_gap_s`` seconds AND ``min_distance_m`` metres (haversine) from
    the last counted one; the first sample of each group counts.

    The input must be sorted by group, then time. Samples of one walk are not independent, so this
    thinning is what the evidence thresholds count (docs/method.md).

    Parameters
    ----------
    group
        Integer group code per sample (sorted ascending).
    t_ms
        int64 UTC milliseconds (ascending within a group).
    lat, lon
        WGS84 degrees.
    min_gap_s, min_distance_m
        The two spacing rules (``settings.effective_min_gap_s`` and
        ``settings.effective_min_distance_m``).
    rounds
        Vectorised look-ahead steps of the dense method before it falls back to a scan (a tuning
        knob only).
    dense_factor
        When the remaining chain steps times this exceed the remaining samples (few, long
        groups), the rest is done by the dense method (a tuning knob only; 0 never switches,
        ``inf`` switches at once).

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    The rule is sequential, but the groups are independent, so the chain is followed in all
    groups at once: one step takes the last counted sample of every group, finds the first
    sample at least ``min_gap_s`` later by binary search, and tests the distance on a small
    window of the samples from there (a window that doubles while nothing in it is far enough,
    so standing still for an hour costs a few steps). Only the counted samples and the few
    after each are ever looked at, not every sample. When few long groups are left (a day in one
    session), the number of steps would grow with their length, so they are finished by
    :func:`_effective_dense`, which computes the next candidate of every sample at once.
    """
    group, t, la, lo, starts, ends = _chain_inputs(group, t_ms, lat, lon)
    n = len(t)
    eff = np.zeros(n, dtype=bool)
    if n == 0:
        return eff
    gap_ms = int(round(min_gap_s * 1000))
    # Integer keys keep the time rule exact to the millisecond (10.000 s counts, 9.999 s does not);
    # a group's key range is wider than its times plus the gap, so a search never leaves it early.
    t0 = int(t.min())
    span = int(t.max()) - t0 + max(gap_ms, 0) + 1
    key = np.repeat(np.arange(len(starts), dtype=np.int64) * span - t0, ends - starts) + t
    hav_min = np.sin(min_distance_m / (2 * EARTH_RADIUS_M)) ** 2
    eff[starts] = True
    pos, end = starts, ends
    counted, steps = len(starts), 0
    last = n - 1
    ahead = np.arange(1, 33, dtype=np.int64)
    while len(pos):
        # The first sample at least gap_ms later: samples usually come every second or so, so it
        # is looked for among the next 32 first (the first key reaching the target there is what a
        # binary search over all keys finds), and by binary search for the rows where it is not.
        target = key[pos] + gap_ms
        near = np.minimum(pos[:, None] + ahead, last)
        ok = key[near] >= target[:, None]
        hit = ok.any(axis=1)
        c = pos + 1 + ok.argmax(axis=1)
        if not hit.all():
            miss = ~hit
            c[miss] = np.searchsorted(key, target[miss], side="left")
        np.maximum(c, pos + 1, out=c)
        live = c < end
        if not live.all():
            pos, c, end = pos[live], c[live], end[live]
        if not len(pos):
            break
        nxt = _next_far(pos, c, end, la, lo, hav_min)
        found = nxt >= 0
        pos, end = nxt[found], end[found]
        eff[pos] = True
        counted += len(pos)
        steps += 1
        if steps % 8 == 1 and len(pos) and dense_factor > 0:
            rem = end - pos
            density = counted / max(1, n - int(rem.sum()))  # counted per sample passed so far
            if float(rem.max()) * density * dense_factor > float(rem.sum()):
                # The rest of each group, from its last counted sample (which counts, as a first).
                idx = np.repeat(pos - np.cumsum(rem) + rem, rem) + np.arange(int(rem.sum()))
                sub_group = np.repeat(np.arange(len(pos)), rem)
                eff[idx] |= _effective_dense(sub_group, t[idx], la[idx], lo[idx], min_gap_s=min_gap_s,
                                             min_distance_m=min_distance_m, rounds=rounds)
                break
    return eff


def _next_far(pos, cand, end, la, lo, hav_min: float, window: int = 8) -> np.ndarray:
    """For each last counted sample ``pos[k]``, the first index in ``[cand[k], end[k])`` whose
    haversine term from it reaches ``hav_min`` (-1 when none): a window of samples at a time, the
    window doubling for the rows that found nothing."""
    out = np.full(len(pos), -1, dtype=np.int64)
    rows = np.arange(len(pos))
    p, c, e = pos, cand, end
    while len(rows):
        idx = c[:, None] + np.arange(window)
        valid = idx < e[:, None]
        np.minimum(idx, (e - 1)[:, None], out=idx)
        phi_i, lam_i = np.radians(la[p])[:, None], np.radians(lo[p])[:, None]
        phi_j, lam_j = np.radians(la[idx]), np.radians(lo[idx])
        # Haversine compared on its inner term: d >= D exactly when hav >= sin(D / 2R) ** 2, which
        # saves the arcsine and square root of every comparison.
        hav = (np.sin((phi_j - phi_i) / 2) ** 2
               + np.cos(phi_i) * np.cos(phi_j) * np.sin((lam_j - lam_i) / 2) ** 2)
        ok = (hav >= hav_min) & valid
        hit = ok.any(axis=1)
        if hit.any():
            out[rows[hit]] = c[hit] + ok[hit].argmax(axis=1)
        c = c + window
        more = ~hit & (c < e)
        rows, p, c, e = rows[more], p[more], c[more], e[more]
        window = min(window * 2, 1 << 14)
    return out


def _effective_dense(group, t_ms, lat, lon, *, min_gap_s: float, min_distance_m: float,
                     rounds: int = 8) -> np.ndarray:
    """:func:`effective_mask` for few long groups: the next counted candidate of *every* sample at
    once, then a walk along the chain.

    The rule is sequential (each choice depends on the last counted sample), but the next counted
    sample after any sample ``i`` depends on ``i`` alone, so it is computed for all samples at once:
    the time rule by binary search, and the distance rule starting from the first sample whose
    *path length* from ``i`` reaches ``min_distance_m`` (no earlier one can be that far away,
    because a straight line is never longer than the path). A short walk along the resulting chain
    of "next" pointers then marks the counted samples. ``rounds`` is the number of vectorised
    look-ahead steps before falling back to a scan.
    """
    group, t, la, lo, starts, ends = _chain_inputs(group, t_ms, lat, lon)
    n = len(t)
    eff = np.zeros(n, dtype=bool)
    if n == 0:
        return eff
    grp_end = np.repeat(ends, ends - starts)
    # Integer keys keep the time rule exact to the millisecond (10.000 s counts, 9.999 s does not).
    span = int(t.max() - t.min()) + int(min_gap_s * 1000) + 1
    gidx = np.repeat(np.arange(len(starts), dtype=np.int64), ends - starts)
    key = gidx * span + (t - t.min())
    gap_ms = int(round(min_gap_s * 1000))
    j_time = np.searchsorted(key, key + gap_ms, side="left")
    seg = np.zeros(n)
    if n > 1:
        seg[1:] = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:], xp=np)
        seg[starts] = 0.0
    path = np.cumsum(seg)
    j_path = np.searchsorted(path, path + min_distance_m - 1e-6, side="left")
    cand = np.maximum(np.maximum(j_time, j_path), np.arange(1, n + 1))
    nxt = np.full(n, -2, dtype=np.int64)
    todo = np.arange(n)
    # Haversine compared on its inner term: d >= D exactly when hav >= sin(D / 2R) ** 2, which
    # saves the arcsine and square root of every comparison.
    phi, lam = np.radians(la), np.radians(lo)
    cos_phi = np.cos(phi)
    hav_min = np.sin(min_distance_m / (2 * EARTH_RADIUS_M)) ** 2
    for _ in range(rounds):
        c = cand[todo]
        inside = c < grp_end[todo]
        nxt[todo[~inside]] = -1
        todo, c = todo[inside], c[inside]
        if len(todo) == 0:
            break
        hav = (np.sin((phi[c] - phi[todo]) / 2) ** 2
               + cos_phi[todo] * cos_phi[c] * np.sin((lam[c] - lam[todo]) / 2) ** 2)
        ok = hav >= hav_min
        nxt[todo[ok]] = c[ok]
        todo = todo[~ok]
        cand[todo] += 1
    nxt_list = nxt.tolist()
    counted: list[int] = []
    for s in starts.tolist():
        i = s
        while i >= 0:
            counted.append(i)
            j = nxt_list[i]
            if j == -2:
                j = _scan_next(i, int(cand[i]), int(grp_end[i]), la, lo, min_distance_m)
            i = j
    eff[counted] = True
    return eff


def _scan_next(i: int, start: int, end: int, la, lo, min_distance_m: float, block: int = 512) -> int:
    """First index in [start, end) at least min_distance_m from sample i (time rule already met)."""
    while start < end:
        stop = min(end, start + block)
        d = haversine_m(la[i], lo[i], la[start:stop], lo[start:stop], xp=np)
        hit = np.flatnonzero(d >= min_distance_m)
        if len(hit):
            return start + int(hit[0])
        start = stop
    return -1
