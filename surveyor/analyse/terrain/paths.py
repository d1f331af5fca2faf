"""Path profiles between many transmitters and receivers at once: line of sight, Fresnel
clearance, knife-edge diffraction (Deygout, ITU-R P.526) and the mast height that clears the path.

Geometry (docs/terrain.md has the figures): a profile is sampled along the straight line between
the two antennas in the DEM's metric grid. Each point's obstacle height is its terrain elevation,
plus the clutter height away from the ends, plus the earth bulge ``d1 d2 / (2 k R)`` for the
standard effective radius (k = 4/3); the ray is then the straight line between the antenna tops.
For a point at distances d1, d2 from the ends of a path of length d and wavelength lambda:

- first Fresnel zone radius ``F1 = sqrt(lambda d1 d2 / d)`` (ITU-R P.526 eq. 2);
- excess height ``h`` of the obstacle above the ray, and ``nu = h sqrt(2 d / (lambda d1 d2))``
  = ``sqrt(2) h / F1`` (P.526 eq. 26);
- knife-edge loss ``J(nu) = 6.9 + 20 log10(sqrt((nu - 0.1)^2 + 1) + nu - 0.1)`` for nu > -0.78,
  else 0 (P.526 eq. 31).

Several obstacles: the Deygout construction limited to three edges with its empirical correction
(ITU-R P.526-8 section 4.5; the same as ITU-R P.452-12 eq. 16): the principal edge p has the
largest nu; secondary edges t and r are the largest nu on the sub-paths transmitter-p and
p-receiver; ``L = J(nu_p) + T (J(nu_t) + J(nu_r) + C)`` with ``T = 1 - exp(-J(nu_p) / 6)`` and
``C = 10 + 0.04 d`` (d in km), and L = 0 when nu_p <= -0.78.

Everything is numpy over arrays of (path, profile point), in batches, so a village's 300 cells x 10
towers take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from surveyor.analyse.terrain.constants import (
    BATCH_POINTS,
    CLUTTER_CLEAR_M,
    EARTH_RADIUS_M,
    EFFECTIVE_EARTH_FACTOR,
    FRESNEL_CLEARANCE_FRACTION,
    MAX_PROFILE_POINTS,
    NU_MIN,
    PROFILE_STEP_M,
)
from surveyor.analyse.terrain.radio import wavelength_m
from surveyor.geo.dem import Dem

EFFECTIVE_RADIUS_M = EFFECTIVE_EARTH_FACTOR * EARTH_RADIUS_M


def knife_edge_db(nu) -> np.ndarray:
    """ITU-R P.526 eq. 31: the loss of a single knife edge, 0 dB for nu <= -0.78 (about 6 dB at nu = 0)."""
    nu = np.asarray(nu, dtype=float)
    with np.errstate(invalid="ignore"):
        j = 6.9 + 20.0 * np.log10(np.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)
    return np.where(nu > NU_MIN, j, 0.0)


@dataclass
class PathResult:
    """Per path (arrays of one length). Distances and heights in metres; angles in degrees."""

    distance_m: np.ndarray
    tx_ground_m: np.ndarray
    rx_ground_m: np.ndarray
    computable: np.ndarray  # the DEM has a value at every profile point
    nu_max: np.ndarray  # nu of the principal edge (<= 0: terrain stays below the direct line)
    clearance_f1: np.ndarray  # smallest (ray - obstacle) / F1 along the path (>= 0.6: Fresnel clear)
    diffraction_db: np.ndarray  # Deygout loss
    edge_fraction: np.ndarray  # where the principal edge is, as a fraction of the path from the transmitter
    edge_ground_m: np.ndarray  # terrain elevation at the principal edge
    mast_needed_m: np.ndarray  # receiver height above ground that clears 60% of F1 (transmitter as given)
    elevation_deg: np.ndarray  # from the receiver up to the transmitter, with earth curvature

    @property
    def line_of_sight(self) -> np.ndarray:
        """Terrain stays below the straight line between the antennas (nu <= 0)."""
        return self.computable & (self.nu_max <= 0.0)

    @property
    def fresnel_clear(self) -> np.ndarray:
        return self.computable & (self.clearance_f1 >= FRESNEL_CLEARANCE_FRACTION)

    @classmethod
    def concat(cls, parts: list[PathResult]) -> PathResult:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    @classmethod
    def empty(cls) -> PathResult:
        return cls(**{f.name: (np.zeros(0, dtype=bool) if f.name == "computable" else np.zeros(0))
                      for f in fields(cls)})


def trace_paths(dem: Dem, tx_x, tx_y, rx_x, rx_y, frequency_mhz, heights, *, clutter_m: float = 0.0,
                step_m: float | None = None) -> list[PathResult]:
    """Trace many paths over the DEM, for one or several pairs of antenna heights.

    Parameters
    ----------
    dem
        The elevation model (metric, north-up grid).
    tx_x, tx_y, rx_x, rx_y
        Path ends in the DEM's grid coordinates, 1-D arrays of one length m.
    frequency_mhz
        Per path (array) or one value.
    heights
        A list of ``(tx_height_m, rx_height_m)`` above ground, each a scalar or an array of length m.
        The terrain is sampled once and evaluated for each pair (mast heights of a site search).
    clutter_m
        Height added on top of the terrain along the path, except within 100 m of either end.
    step_m
        Spacing of profile points (default: the larger of 30 m and the DEM's pixel).

    Returns
    -------
    list of PathResult
        One per pair of heights, in the order given.
    """
    tx_x, tx_y, rx_x, rx_y = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (tx_x, tx_y, rx_x, rx_y))
    m = len(tx_x)
    if m == 0:
        return [PathResult.empty() for _ in heights]
    freq = np.broadcast_to(np.asarray(frequency_mhz, dtype=float), (m,))
    hs = [(np.broadcast_to(np.asarray(ht, dtype=float), (m,)), np.broadcast_to(np.asarray(hr, dtype=float), (m,)))
          for ht, hr in heights]
    distance = np.hypot(rx_x - tx_x, rx_y - tx_y)
    step = float(step_m) if step_m else max(PROFILE_STEP_M, *dem.resolution_m)
    n = int(np.clip(np.ceil(distance.max(initial=0.0) / step) + 1, 3, MAX_PROFILE_POINTS))
    batch = max(1, BATCH_POINTS // n)
    out: list[list[PathResult]] = [[] for _ in heights]
    for start in range(0, m, batch):
        sl = slice(start, min(m, start + batch))
        prof = _Profile.sample(dem, tx_x[sl], tx_y[sl], rx_x[sl], rx_y[sl], n, clutter_m)
        lam = wavelength_m(freq[sl])
        for k, (ht, hr) in enumerate(hs):
            out[k].append(prof.evaluate(ht[sl], hr[sl], lam))
    return [PathResult.concat(parts) for parts in out]


@dataclass
class _Profile:
    """Sampled profiles of a batch of paths (m paths x n points)."""

    d: np.ndarray  # (m,) path lengths
    d1: np.ndarray  # (m, n) distance of each point from the transmitter
    ground: np.ndarray  # (m, n) terrain elevation
    obstacle: np.ndarray  # (m, n) terrain + clutter + earth bulge
    t: np.ndarray  # (n,) fractions 0..1

    @classmethod
    def sample(cls, dem: Dem, x0, y0, x1, y1, n: int, clutter_m: float) -> _Profile:
        t = np.linspace(0.0, 1.0, n)
        d = np.hypot(x1 - x0, y1 - y0)
        ground = dem.sample_segments(x0, y0, x1, y1, n)
        d1 = d[:, None] * t
        d2 = d[:, None] - d1
        obstacle = ground + d1 * d2 / (2.0 * EFFECTIVE_RADIUS_M)
        if clutter_m:
            away = (d1 > CLUTTER_CLEAR_M) & (d2 > CLUTTER_CLEAR_M)
            obstacle = obstacle + np.where(away, float(clutter_m), 0.0)
        return cls(d, d1, ground, obstacle, t)

    def evaluate(self, tx_h: np.ndarray, rx_h: np.ndarray, lam: np.ndarray) -> PathResult:
        d, d1, t, H = self.d, self.d1, self.t, self.obstacle
        m, n = H.shape
        rows = np.arange(m)
        zt, zr = self.ground[:, 0], self.ground[:, -1]
        computable = np.isfinite(self.ground).all(axis=1) & (d > 0)
        htx = zt + tx_h
        hrx = zr + rx_h
        d2 = d[:, None] - d1
        with np.errstate(divide="ignore", invalid="ignore"):
            ray = htx[:, None] + (hrx - htx)[:, None] * t
            f1 = np.sqrt(lam[:, None] * d1 * d2 / d[:, None])
            nu = np.sqrt(2.0) * (H - ray) / f1
            nu[:, 0] = nu[:, -1] = -np.inf
            nu[~np.isfinite(nu)] = -np.inf
            p = np.argmax(nu, axis=1)
            nu_p = nu[rows, p]
            # Sub-path transmitter -> principal edge (points before p) ...
            dp = d1[rows, p]
            hp = H[rows, p]
            cols = np.arange(n)
            before = (cols[None, :] > 0) & (cols[None, :] < p[:, None])
            ray_t = htx[:, None] + (hp - htx)[:, None] * d1 / dp[:, None]
            nu_t = (H - ray_t) * np.sqrt(2.0 * dp[:, None] / (lam[:, None] * d1 * (dp[:, None] - d1)))
            nu_t = np.where(before & np.isfinite(nu_t), nu_t, -np.inf).max(axis=1)
            # ... and principal edge -> receiver (points after p).
            after = (cols[None, :] > p[:, None]) & (cols[None, :] < n - 1)
            e1 = d1 - dp[:, None]
            dr = d - dp
            ray_r = hp[:, None] + (hrx - hp)[:, None] * e1 / dr[:, None]
            nu_r = (H - ray_r) * np.sqrt(2.0 * dr[:, None] / (lam[:, None] * e1 * d2))
            nu_r = np.where(after & np.isfinite(nu_r), nu_r, -np.inf).max(axis=1)
            j_p = knife_edge_db(nu_p)
            taper = 1.0 - np.exp(-j_p / 6.0)
            correction = 10.0 + 0.04 * d / 1000.0
            loss = np.where(nu_p > NU_MIN, j_p + taper * (knife_edge_db(nu_t) + knife_edge_db(nu_r) + correction),
                            0.0)
            # Receiver height that keeps the ray FRESNEL_CLEARANCE_FRACTION x F1 above every obstacle:
            # ray_i(h) = htx + (zr + h - htx) t_i >= H_i + c F1_i, solved for h at each point.
            need = (H + FRESNEL_CLEARANCE_FRACTION * f1 - htx[:, None]) / t + htx[:, None] - zr[:, None]
            need[:, 0] = need[:, -1] = -np.inf
            need[~np.isfinite(need)] = -np.inf
            mast = np.maximum(need.max(axis=1), 0.0)
            elevation = np.degrees(np.arctan2(htx - hrx, d) - d / (2.0 * EFFECTIVE_RADIUS_M))
        bad = ~computable
        nu_p = np.where(bad, np.nan, nu_p)
        return PathResult(
            distance_m=d.copy(), tx_ground_m=zt.copy(), rx_ground_m=zr.copy(), computable=computable,
            nu_max=nu_p, clearance_f1=np.where(bad, np.nan, -nu_p / np.sqrt(2.0)),
            diffraction_db=np.where(bad, np.nan, loss), edge_fraction=np.where(bad, np.nan, t[p]),
            edge_ground_m=np.where(bad, np.nan, self.ground[rows, p]), mast_needed_m=np.where(bad, np.nan, mast),
            elevation_deg=np.where(bad, np.nan, elevation))


def profile_arrays(dem: Dem, tx_xy, rx_xy, frequency_mhz: float, tx_h: float, rx_h: float, *,
                   clutter_m: float = 0.0, step_m: float | None = None) -> dict[str, np.ndarray]:
    """One path's profile for drawing: distance, terrain, obstacle (with bulge and clutter), the ray,
    the first Fresnel zone radius."""
    d = float(np.hypot(rx_xy[0] - tx_xy[0], rx_xy[1] - tx_xy[1]))
    step = float(step_m) if step_m else max(10.0, min(dem.resolution_m) / 2)
    n = int(np.clip(np.ceil(d / step) + 1, 3, 4 * MAX_PROFILE_POINTS))
    prof = _Profile.sample(dem, np.array([tx_xy[0]]), np.array([tx_xy[1]]), np.array([rx_xy[0]]),
                           np.array([rx_xy[1]]), n, clutter_m)
    lam = float(wavelength_m(frequency_mhz))
    d1 = prof.d1[0]
    d2 = d - d1
    htx = prof.ground[0, 0] + tx_h
    hrx = prof.ground[0, -1] + rx_h
    bulge = d1 * d2 / (2.0 * EFFECTIVE_RADIUS_M)
    ray = htx + (hrx - htx) * prof.t
    f1 = np.sqrt(lam * d1 * d2 / d) if d > 0 else np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = (prof.obstacle[0] - ray) / f1
    nu[[0, -1]] = -np.inf
    nu[~np.isfinite(nu)] = -np.inf
    return {"distance_m": d1, "ground_m": prof.ground[0], "bulge_m": bulge, "obstacle_m": prof.obstacle[0],
            "ray_m": ray, "f1_m": f1, "edge_index": int(np.argmax(nu))}
