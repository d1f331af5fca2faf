"""A simulated hilly village whose radio truth is known exactly, for testing terrain analysis.

Everything here is SIMULATED. The village (2.0 x 1.6 km, placed at Lipursari's latitude and
longitude so it falls in UTM zone 49S) lies on gently rising ground. West of it a ridge of known
height runs north from the village's latitude; beyond the ridge stands a Telkomsel tower, so the
ridge shadows the village's northern half from it while its southern half sees the tower. An
Indosat tower stands in the open to the east, far enough that the village's western part is dead
by distance alone. XL's only tower is 30 km away, beyond the 15 km any analysis considers.

The truth is computed here, independently of :mod:`surveyor.analyse.terrain`: terrain is an
analytic function (sampled every 10 m along a path, not read from a raster), the earth bulge uses
k = 4/3, the path loss is Okumura-Hata / COST-231-Hata (suburban) plus Deygout's three-edge
knife-edge loss (ITU-R P.526-8 section 4.5), each tower has its own true EIRP (which the analysis
does not know and must calibrate), and shadowing is a spatially correlated log-normal field of
6 dB standard deviation. A phone measures the median plus shadowing plus 2 dB of fast fading;
below -124 dBm it falls back to 2G, below -134 dBm it has no service.

Public API: :func:`build_village` returns a :class:`TerrainVillage` with the DEM (a
:class:`surveyor.geo.dem.Dem`), the boundary, the towers, the samples (journal fields) and truth
functions. Nothing here writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from surveyor.geo.dem import Dem

SIMULATED_NOTE = "SIMULATED terrain village made by surveyor.testing.terrain_sim, not a measurement"

LAT0, LON0 = -7.437, 109.858
UTM = "EPSG:32749"
K_FACTOR = 4.0 / 3.0
EARTH_RADIUS_M = 6_371_008.8
C_M_S = 299_792_458.0
THRESHOLD_DBM = -115.0
LTE_FLOOR_DBM = -124.0
GSM_FLOOR_DBM = -134.0
SHADOWING_SIGMA_DB = 6.0
SHADOWING_CORRELATION_M = 60.0
FADING_SIGMA_DB = 2.0
EIRP_DEFAULT_DBM = 33.2
PHONE_M = 1.5
HALF_WIDTH_M, HALF_HEIGHT_M = 1000.0, 800.0
DEM_PIXEL_M = 30.0
DEM_REACH_M = 16_500.0


@dataclass(frozen=True)
class SimTower:
    """A true tower, at (east_m, north_m) from the village centre."""

    tower_id: str
    operator: str
    east_m: float
    north_m: float
    height_m: float
    earfcn: int
    frequency_mhz: float
    eirp_dbm: float  # true EIRP per resource element (the analysis assumes 33.2 and must calibrate)


TOWERS: tuple[SimTower, ...] = (
    SimTower("TSEL-west", "Telkomsel", -6000.0, -300.0, 35.0, 1575, 1842.5, EIRP_DEFAULT_DBM + 14.0),
    SimTower("ISAT-east", "Indosat", 3500.0, 300.0, 30.0, 3500, 930.0, EIRP_DEFAULT_DBM - 11.0),
    SimTower("XL-far", "XL", 0.0, -30_000.0, 30.0, 1575, 1842.5, EIRP_DEFAULT_DBM),
)
OPERATORS = ("Telkomsel", "Indosat", "XL")


# -- terrain -------------------------------------------------------------------------------------

RIDGE_X_M = -3000.0  # crest line (east offset)
RIDGE_SIGMA_M = 250.0  # cross-section
RIDGE_PEAK_M = 300.0  # above the base terrain, where fully grown
RIDGE_START_N_M = 100.0  # half grown here
RIDGE_GROW_M = 150.0  # logistic scale of its southern end (smooth at the DEM's 30 m pixels)
RIDGE_END_N_M = 6000.0


HILL_EAST_M, HILL_NORTH_M, HILL_PEAK_M, HILL_SIGMA_M = 3500.0, 300.0, 120.0, 700.0  # under the Indosat tower


def base_m(x, y):
    """Gently rising ground (to the east) with slow undulation, and the hill the Indosat tower stands on."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    hill = HILL_PEAK_M * np.exp(-((x - HILL_EAST_M) ** 2 + (y - HILL_NORTH_M) ** 2) / (2.0 * HILL_SIGMA_M ** 2))
    return 700.0 + 0.01 * x + 4.0 * np.sin(x / 900.0) * np.cos(y / 1100.0) + hill


def ridge_m(x, y):
    """The ridge's height above the base terrain."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grow = 1.0 / (1.0 + np.exp(-(y - RIDGE_START_N_M) / RIDGE_GROW_M)) / (1.0 + np.exp((y - RIDGE_END_N_M) / 300.0))
    return RIDGE_PEAK_M * grow * np.exp(-((x - RIDGE_X_M) ** 2) / (2.0 * RIDGE_SIGMA_M ** 2))


def elevation_m(x, y):
    """Terrain elevation (m above sea level) at local metric offsets (UTM metres from the centre)."""
    return base_m(x, y) + ridge_m(x, y)


# -- propagation (a reference implementation, one path at a time) --------------------------------

def hata_db(d_m, f_mhz, hb_m, hm_m):
    d_km = np.maximum(np.asarray(d_m, dtype=float) / 1000.0, 0.02)
    lf = math.log10(f_mhz)
    a = (1.1 * lf - 0.7) * hm_m - (1.56 * lf - 0.8)
    c0 = 69.55 + 26.16 * lf if f_mhz <= 1500 else 46.3 + 33.9 * lf
    urban = c0 - 13.82 * math.log10(hb_m) - a + (44.9 - 6.55 * math.log10(hb_m)) * np.log10(d_km)
    suburban = urban - 2.0 * math.log10(f_mhz / 28.0) ** 2 - 5.4
    free = 32.45 + 20 * lf + 20 * np.log10(np.maximum(d_km, 0.001))
    return np.maximum(suburban, free)


def _j(nu: float) -> float:
    if nu <= -0.78:
        return 0.0
    return 6.9 + 20.0 * math.log10(math.sqrt((nu - 0.1) ** 2 + 1.0) + nu - 0.1)


def _max_nu(d: np.ndarray, h: np.ndarray, lam: float, a: int, b: int) -> tuple[float, int]:
    """Largest nu between points a and b (exclusive) for the straight line from h[a] to h[b]."""
    if b - a < 2:
        return -math.inf, -1
    da, db = d[a], d[b]
    d1 = d[a + 1:b] - da
    d2 = db - d[a + 1:b]
    line = h[a] + (h[b] - h[a]) * d1 / (db - da)
    nu = (h[a + 1:b] - line) * np.sqrt(2.0 * (db - da) / (lam * d1 * d2))
    k = int(np.argmax(nu))
    return float(nu[k]), a + 1 + k


def path_profile(tx: SimTower, x: float, y: float, rx_h: float, step_m: float = 10.0):
    """Distances, obstacle heights (terrain + earth bulge; the antenna tops at the ends), ground."""
    dist = math.hypot(x - tx.east_m, y - tx.north_m)
    n = max(3, int(math.ceil(dist / step_m)) + 1)
    t = np.linspace(0.0, 1.0, n)
    px = tx.east_m + (x - tx.east_m) * t
    py = tx.north_m + (y - tx.north_m) * t
    ground = elevation_m(px, py)
    d = dist * t
    h = ground + d * (dist - d) / (2.0 * K_FACTOR * EARTH_RADIUS_M)
    h = h.copy()
    h[0] = ground[0] + tx.height_m
    h[-1] = ground[-1] + rx_h
    return d, h, ground


def deygout_db(d: np.ndarray, h: np.ndarray, lam: float) -> float:
    """Deygout, three edges, with the empirical correction of ITU-R P.526-8 section 4.5."""
    n = len(d) - 1
    nu_p, p = _max_nu(d, h, lam, 0, n)
    if nu_p <= -0.78:
        return 0.0
    nu_t, _ = _max_nu(d, h, lam, 0, p)
    nu_r, _ = _max_nu(d, h, lam, p, n)
    jp = _j(nu_p)
    return jp + (1.0 - math.exp(-jp / 6.0)) * (_j(nu_t) + _j(nu_r) + 10.0 + 0.04 * d[-1] / 1000.0)


def link_db(tx: SimTower, x: float, y: float, rx_h: float = PHONE_M) -> tuple[float, float]:
    """(median RSRP, diffraction loss) of the path from a tower to a point."""
    d, h, _ = path_profile(tx, x, y, rx_h)
    lam = C_M_S / (tx.frequency_mhz * 1e6)
    diff = deygout_db(d, h, lam)
    return float(tx.eirp_dbm - hata_db(d[-1], tx.frequency_mhz, tx.height_m, rx_h) - diff), diff


def line_of_sight(tx: SimTower, x: float, y: float, rx_h: float = PHONE_M) -> bool:
    """Terrain (with bulge) stays below the straight line between the antenna tops."""
    d, h, _ = path_profile(tx, x, y, rx_h, step_m=5.0)
    line = h[0] + (h[-1] - h[0]) * d / d[-1]
    return bool(np.all(h[1:-1] <= line[1:-1]))


def min_mast_m(tx: SimTower, x: float, y: float, fraction: float = 0.6, top_m: float = 200.0) -> float:
    """The lowest receiver height whose line to the tower clears ``fraction`` of the first Fresnel
    zone at every point, by bisection on a 5 m profile (0 when already clear at ground level)."""
    lam = C_M_S / (tx.frequency_mhz * 1e6)

    def clear(hr: float) -> bool:
        d, h, _ = path_profile(tx, x, y, hr, step_m=5.0)
        d1, d2 = d[1:-1], d[-1] - d[1:-1]
        f1 = np.sqrt(lam * d1 * d2 / d[-1])
        line = h[0] + (h[-1] - h[0]) * d1 / d[-1]
        return bool(np.all(line - h[1:-1] >= fraction * f1))

    if clear(0.0):
        return 0.0
    lo, hi = 0.0, top_m
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if clear(mid) else (mid, hi)
    return hi


# -- the village ---------------------------------------------------------------------------------

@dataclass
class TerrainVillage:
    """Everything a terrain test needs (all SIMULATED)."""

    dem: Dem
    boundary: object  # shapely Polygon, lon/lat
    towers: tuple[SimTower, ...]
    samples: pd.DataFrame
    seed: int
    grid_x: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    grid_y: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    truth_grid: dict = field(repr=False, default_factory=dict)  # operator -> (rsrp, rsrp without diffraction)

    # projection
    def to_lonlat(self, x, y):
        from pyproj import Transformer

        e0, n0 = _centre_utm()
        lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(
            np.asarray(x, dtype=float) + e0, np.asarray(y, dtype=float) + n0)
        return np.asarray(lon), np.asarray(lat)

    def to_xy(self, lon, lat):
        from pyproj import Transformer

        e0, n0 = _centre_utm()
        e, n = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(
            np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(e) - e0, np.asarray(n) - n0

    def tower(self, tower_id: str) -> SimTower:
        return next(t for t in self.towers if t.tower_id == tower_id)

    def towers_frame(self) -> pd.DataFrame:
        """The towers as `surveyor towers add` would take them (operator, lat, lon, height, EARFCN)."""
        lon, lat = self.to_lonlat([t.east_m for t in self.towers], [t.north_m for t in self.towers])
        return pd.DataFrame({"tower_id": [t.tower_id for t in self.towers],
                             "operator": [t.operator for t in self.towers], "lat": lat, "lon": lon,
                             "height_m": [t.height_m for t in self.towers],
                             "frequency_mhz": [t.frequency_mhz for t in self.towers]})

    # truth
    def _interp(self, values: np.ndarray, x, y) -> np.ndarray:
        from scipy.interpolate import RegularGridInterpolator

        f = RegularGridInterpolator((self.grid_y, self.grid_x), values, bounds_error=False, fill_value=None)
        return f(np.column_stack([np.asarray(y, dtype=float).ravel(), np.asarray(x, dtype=float).ravel()]))

    def truth_rsrp(self, operator: str, lon, lat) -> np.ndarray:
        """Median RSRP (no shadowing) at WGS84 positions, from the best true tower."""
        x, y = self.to_xy(lon, lat)
        return self._interp(self.truth_grid[operator][0], x, y)

    def truth_cause(self, operator: str, lon, lat) -> np.ndarray:
        """Per position: ``covered``, or why there is no usable 4G: ``terrain`` (the diffraction loss
        is what takes it under -115 dBm), ``not_terrain`` (it would be dead even over flat ground),
        ``no_tower`` (no true tower of the operator within 15 km)."""
        x, y = self.to_xy(lon, lat)
        near = [t for t in self.towers if t.operator == operator
                and np.min(np.hypot(x - t.east_m, y - t.north_m)) <= 15_000]
        if not near:
            return np.full(np.size(x), "no_tower", dtype=object)
        with_d = self._interp(self.truth_grid[operator][0], x, y)
        without = self._interp(self.truth_grid[operator][1], x, y)
        return np.where(with_d >= THRESHOLD_DBM, "covered",
                        np.where(without >= THRESHOLD_DBM, "terrain", "not_terrain")).astype(object)


def _centre_utm() -> tuple[float, float]:
    from pyproj import Transformer

    e, n = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(LON0, LAT0)
    return float(e), float(n)


def make_dem(reach_m: float = DEM_REACH_M, pixel_m: float = DEM_PIXEL_M) -> Dem:
    """The analytic terrain sampled at pixel centres of a UTM 49S grid around the village."""
    e0, n0 = _centre_utm()
    left = math.floor((e0 - reach_m) / pixel_m) * pixel_m
    top = math.ceil((n0 + reach_m) / pixel_m) * pixel_m
    n = int(round(2 * reach_m / pixel_m)) + 2
    xs = left + (np.arange(n) + 0.5) * pixel_m - e0
    ys = top - (np.arange(n) + 0.5) * pixel_m - n0
    z = elevation_m(xs[None, :], ys[:, None]).astype(np.float32)
    return Dem(z, (pixel_m, 0.0, left, 0.0, -pixel_m, top), UTM)


def _truth_grid(towers, step_m: float = 25.0):
    gx = np.arange(-HALF_WIDTH_M - 100, HALF_WIDTH_M + 100 + 1e-9, step_m)
    gy = np.arange(-HALF_HEIGHT_M - 100, HALF_HEIGHT_M + 100 + 1e-9, step_m)
    out = {}
    for op in OPERATORS:
        best = np.full((len(gy), len(gx)), -np.inf)
        best_free = np.full((len(gy), len(gx)), -np.inf)
        for t in (t for t in towers if t.operator == op):
            if math.hypot(t.east_m, t.north_m) > 15_000 + 2_000:
                continue  # beyond any analysis: contributes nothing in the village
            for i, y in enumerate(gy):
                for j, x in enumerate(gx):
                    rsrp, diff = link_db(t, x, y)
                    best[i, j] = max(best[i, j], rsrp)
                    best_free[i, j] = max(best_free[i, j], rsrp + diff)
        out[op] = (best, best_free)
    return gx, gy, out


def _shadowing(rng, gx, gy) -> np.ndarray:
    """A log-normal shadowing field: white noise smoothed to SHADOWING_CORRELATION_M, scaled to 6 dB."""
    from scipy.ndimage import gaussian_filter

    step = gx[1] - gx[0]
    noise = rng.standard_normal((len(gy), len(gx)))
    smooth = gaussian_filter(noise, sigma=SHADOWING_CORRELATION_M / step / 2.0, mode="wrap")
    return SHADOWING_SIGMA_DB * smooth / smooth.std()


def build_village(seed: int = 11, sessions: int = 8, row_spacing_m: float = 110.0) -> TerrainVillage:
    """The simulated village with its samples: ``sessions`` walks (two a day, 6 h apart), each a
    lawn-mower pattern of east-west rows ``row_spacing_m`` apart with a random offset, one sample
    every 12 s at 2 m/s, logged for the three operators at once (a phone per SIM)."""
    from shapely.geometry import Polygon

    rng = np.random.default_rng(seed)
    dem = make_dem()
    village = TerrainVillage(dem=dem, boundary=None, towers=TOWERS, samples=pd.DataFrame(), seed=seed)
    cx = [-HALF_WIDTH_M, HALF_WIDTH_M, HALF_WIDTH_M, -HALF_WIDTH_M]
    cy = [-HALF_HEIGHT_M, -HALF_HEIGHT_M, HALF_HEIGHT_M, HALF_HEIGHT_M]
    blon, blat = village.to_lonlat(cx, cy)
    village.boundary = Polygon(list(zip(blon, blat)))
    gx, gy, truth = _truth_grid(TOWERS)
    village.grid_x, village.grid_y, village.truth_grid = gx, gy, truth
    shadow = {op: _shadowing(np.random.default_rng([seed, k]), gx, gy) for k, op in enumerate(OPERATORS)}
    start = datetime(2026, 7, 13, 1, 0, tzinfo=UTC)  # 08:00 WIB
    parts = []
    for s in range(sessions):
        t0 = start + timedelta(days=s // 2, hours=6 * (s % 2))
        offset = rng.uniform(0, row_spacing_m)
        xs, ys = [], []
        rows = np.arange(-HALF_HEIGHT_M + offset, HALF_HEIGHT_M, row_spacing_m)
        for k, y in enumerate(rows):
            x = np.arange(-HALF_WIDTH_M + 10, HALF_WIDTH_M - 10, 24.0)
            xs.append(x if k % 2 == 0 else x[::-1])
            ys.append(np.full(len(x), y) + rng.normal(0, 3, len(x)))
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        lon, lat = village.to_lonlat(x, y)
        times = [t0 + timedelta(seconds=12 * i) for i in range(len(x))]
        for op in OPERATORS:
            tower = next(t for t in TOWERS if t.operator == op)
            med = village._interp(truth[op][0], x, y)
            shade = village._interp(shadow[op], x, y)
            measured = med + shade + rng.normal(0, FADING_SIGMA_DB, len(x))
            lte = measured >= LTE_FLOOR_DBM
            gsm = ~lte & (measured >= GSM_FLOOR_DBM)
            parts.append(pd.DataFrame({
                "time": times, "lat": lat, "lon": lon, "accuracy_m": 5.0, "environment": "outdoor",
                "device": f"sim-{op.lower()}", "session": f"sim-{s:02d}", "kind": "signal",
                "operator": op, "tech": np.where(lte, "LTE", np.where(gsm, "GSM", "NONE")),
                "service": np.where(lte | gsm, "in_service", "no_service"),
                "rsrp_dbm": np.where(lte, np.round(measured), np.nan),
                "arfcn": np.where(lte, tower.earfcn, np.nan), "note": SIMULATED_NOTE}))
    village.samples = pd.concat(parts, ignore_index=True)
    return village
