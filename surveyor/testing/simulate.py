"""A seeded, simulated village survey with a known ground truth.

Everything this module makes is SIMULATED: invented radio sites, invented hills, invented walks. It
exists so that the bundled sample survey (``samples/``), the demo and the end-to-end tests have a
village whose dead areas are known exactly, which no real survey can give.

The model, in one paragraph: each operator is served by a few virtual LTE sites 3-7 km outside the
village (Telkomsel from the north-east and east, Indosat from the south-west and west, as hills
around Wonosobo make plausible). Median RSRP falls off with log-distance path loss; terrain
shadowing is a set of Gaussian "valley behind a hill" blobs that take 20-38 dB off, different per
operator because the hill that hides a valley from the north-east does not hide it from the
south-west, plus one deep river valley that both operators miss; a smooth, spatially correlated
field (about 3 dB) makes the rest look less like a textbook. That median field is the **truth**.
What a phone measures is the truth plus a per-session offset, slow fading along the walk (about
4 dB) and per-sample noise (about 3 dB); where the measured LTE level is too low the phone falls
back to 2G (GSM), and lower still it has no service at all. Volunteers walk fixed footpaths between
invented hamlets, on several days and times of day, and run speed tests whose results follow the
signal quality.

Public API: :func:`default_truth`, :func:`truth_rsrp_dbm`, :func:`truth_negative`,
:func:`load_boundary`, :func:`simulate_survey` (returns a :class:`Survey`), and the pure formatters
:func:`journal_text` and :func:`gnettrack_csv`. No function here writes files.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.ops import nearest_points, unary_union

from surveyor.model import SAMPLE_FIELDS

__all__ = [
    "GNETTRACK_HEADER",
    "SIMULATED_NOTE",
    "SessionInfo",
    "Shadow",
    "Site",
    "Survey",
    "Truth",
    "Volunteer",
    "default_truth",
    "gnettrack_csv",
    "gnettrack_filename",
    "journal_text",
    "load_boundary",
    "simulate_survey",
    "truth_negative",
    "truth_rsrp_dbm",
]

SIMULATED_NOTE = "SIMULATED sample data made by surveyor.testing.simulate, not a measurement"

# LTE is kept by the phone down to about this measured RSRP; below it the phone falls back to 2G.
LTE_FLOOR_DBM = -124.0
# 2G (GSM 900) reaches about 10 dB further than LTE (lower band, lower sensitivity), expressed on
# the LTE RSRP scale: below this there is no network at all.
GSM_FLOOR_DBM = -134.0
# The 4G rule of docs/method.md: median RSRP under this is no usable 4G.
NEGATIVE_BELOW_DBM = -115.0

WIB = timezone(timedelta(hours=7))  # Asia/Jakarta has no daylight saving time
MCC = 510
MNC = {"Telkomsel": 10, "Indosat": 1}
OPERATOR_SHORT = {"Telkomsel": "TSEL", "Indosat": "ISAT"}
GNETTRACK_OPERATOR_NAME = {"Telkomsel": "IND TELKOMSEL", "Indosat": "INDOSAT OOREDOO"}


# ---------------------------------------------------------------------------------------------
# The truth field


@dataclass(frozen=True)
class Site:
    """A virtual LTE site, placed by its offset in metres from the village centroid."""

    name: str
    operator: str
    east_m: float
    north_m: float
    rsrp_at_1km_dbm: float
    enb_id: int
    tac: int
    earfcn: int
    gsm_lac: int
    gsm_arfcn: int


@dataclass(frozen=True)
class Shadow:
    """Terrain loss: a Gaussian blob of ``loss_db`` (at its centre) around an offset in metres.

    ``operator`` None means every operator loses it (a deep valley); otherwise it is a valley hidden
    from that operator's sites by a hill between them.
    """

    name: str
    operator: str | None
    east_m: float
    north_m: float
    sigma_m: float
    loss_db: float


# Path-loss exponent for hilly rural terrain with trees (between 3 and 4 in most campaigns).
PATH_LOSS_EXPONENT = 3.6

DEFAULT_SITES: tuple[Site, ...] = (
    Site("TSEL-Kalibeber (sim)", "Telkomsel", 3300.0, 3600.0, -68.0, 461201, 12821, 1850, 30511, 62),
    Site("TSEL-Leksono (sim)", "Telkomsel", 5200.0, -1500.0, -68.0, 461237, 12821, 3725, 30511, 71),
    Site("ISAT-Sukoharjo (sim)", "Indosat", -3100.0, -3900.0, -67.0, 88114, 4410, 1575, 1204, 18),
    Site("ISAT-Selomerto (sim)", "Indosat", -6200.0, 900.0, -66.0, 88131, 4410, 3590, 1204, 23),
)

DEFAULT_SHADOWS: tuple[Shadow, ...] = (
    Shadow("west valley (Kedungsari)", "Telkomsel", -1040.0, -180.0, 170.0, 36.0),
    Shadow("north hollow (Sidareja-Bandungan)", "Telkomsel", -280.0, 620.0, 150.0, 31.0),
    Shadow("north-east slope (Kalimanggis)", "Indosat", 720.0, 360.0, 140.0, 37.0),
    Shadow("east ridge foot (Sumberan-Wonorejo)", "Indosat", 1150.0, -60.0, 140.0, 33.0),
    Shadow("river valley (Kaliputih-Karanganyar)", None, -420.0, -470.0, 150.0, 33.0),
)


@dataclass(frozen=True)
class Truth:
    """The median (location-averaged) LTE RSRP field per operator, and what follows from it.

    Positions are converted to metres with a local equirectangular projection about
    (``lat0``, ``lon0``), which is accurate to well under a metre across a village.
    """

    lat0: float
    lon0: float
    sites: tuple[Site, ...] = DEFAULT_SITES
    shadows: tuple[Shadow, ...] = DEFAULT_SHADOWS
    fading_sigma_db: float = 3.0
    field_seed: int = 7

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.operator for s in self.sites))

    # -- projection
    def to_xy(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """(east_m, north_m) of WGS84 positions."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        kx = 111_320.0 * math.cos(math.radians(self.lat0))
        return (lon - self.lon0) * kx, (lat - self.lat0) * 110_574.0

    def to_latlon(self, east_m, north_m) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of local metric positions."""
        kx = 111_320.0 * math.cos(math.radians(self.lat0))
        return (self.lat0 + np.asarray(north_m, dtype=float) / 110_574.0,
                self.lon0 + np.asarray(east_m, dtype=float) / kx)

    # -- the field
    def _site_rsrp_xy(self, x: np.ndarray, y: np.ndarray, operator: str) -> np.ndarray:
        """RSRP from each of the operator's sites, shape (n_sites, n), before terrain."""
        sites = [s for s in self.sites if s.operator == operator]
        if not sites:
            raise ValueError(f"no simulated sites for operator {operator!r}; "
                             f"known: {', '.join(self.operators)}")
        out = np.empty((len(sites), x.size))
        for i, s in enumerate(sites):
            d_km = np.hypot(x.ravel() - s.east_m, y.ravel() - s.north_m) / 1000.0
            out[i] = s.rsrp_at_1km_dbm - 10.0 * PATH_LOSS_EXPONENT * np.log10(np.maximum(d_km, 0.05))
        return out

    def _terrain_loss_xy(self, x: np.ndarray, y: np.ndarray, operator: str) -> np.ndarray:
        loss = np.zeros(x.size)
        for sh in self.shadows:
            if sh.operator is None or sh.operator == operator:
                r2 = (x.ravel() - sh.east_m) ** 2 + (y.ravel() - sh.north_m) ** 2
                loss += sh.loss_db * np.exp(-r2 / (2.0 * sh.sigma_m**2))
        return loss

    def _fading_xy(self, x: np.ndarray, y: np.ndarray, operator: str) -> np.ndarray:
        # A sum of random plane waves is a cheap, deterministic, smooth Gaussian-like field with
        # correlation lengths of a few hundred metres: local clutter that no site list explains.
        k = 24
        rng = np.random.default_rng([self.field_seed, sum(map(ord, operator))])
        wavelength_m = rng.uniform(150.0, 600.0, k)
        theta = rng.uniform(0.0, 2 * np.pi, k)
        phase = rng.uniform(0.0, 2 * np.pi, k)
        kx = 2 * np.pi / wavelength_m * np.cos(theta)
        ky = 2 * np.pi / wavelength_m * np.sin(theta)
        arg = np.outer(x.ravel(), kx) + np.outer(y.ravel(), ky) + phase
        return self.fading_sigma_db * math.sqrt(2.0 / k) * np.cos(arg).sum(axis=1)

    def rsrp_xy(self, x, y, operator: str) -> np.ndarray:
        """Median LTE RSRP (dBm) at local metric positions; may be far below what a phone reports."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        best = self._site_rsrp_xy(x, y, operator).max(axis=0)
        out = best - self._terrain_loss_xy(x, y, operator) + self._fading_xy(x, y, operator)
        return out.reshape(x.shape)

    def rsrp_dbm(self, lat, lon, operator: str) -> np.ndarray:
        """Median LTE RSRP (dBm) at WGS84 positions."""
        return self.rsrp_xy(*self.to_xy(lat, lon), operator)

    def negative(self, lat, lon, operator: str) -> np.ndarray:
        """True where there is no usable 4G: median RSRP under -115 dBm (which includes every place
        with only 2G or no network, as those lie further below)."""
        return self.rsrp_dbm(lat, lon, operator) < NEGATIVE_BELOW_DBM

    def tech(self, lat, lon, operator: str) -> np.ndarray:
        """What a phone gets at the median level: "LTE", "GSM" (2G only) or "NONE"."""
        r = self.rsrp_dbm(lat, lon, operator)
        return np.where(r >= LTE_FLOOR_DBM, "LTE", np.where(r >= GSM_FLOOR_DBM, "GSM", "NONE"))

    def altitude_xy(self, x, y) -> np.ndarray:
        """A smooth invented terrain (m above sea level) whose valleys sit where the shadows are."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        alt = 880.0 + 0.045 * y + 0.02 * x + 12.0 * np.sin(x / 310.0) * np.cos(y / 270.0)
        for sh in self.shadows:
            r2 = (x - sh.east_m) ** 2 + (y - sh.north_m) ** 2
            alt -= 1.4 * sh.loss_db * np.exp(-r2 / (2.0 * (1.3 * sh.sigma_m) ** 2))
        return alt

    def dead_area(self, operator: str, boundary: Polygon, resolution_m: float = 20.0):
        """The truth's no-usable-4G area inside ``boundary`` as a (Multi)Polygon in WGS84, from a
        raster of ``resolution_m`` squares (what a map of the truth would show)."""
        return self._raster_area(boundary, resolution_m,
                                 lambda x, y: self.rsrp_xy(x, y, operator) < NEGATIVE_BELOW_DBM)

    def _raster_area(self, boundary: Polygon, resolution_m: float, predicate):
        minx, miny, maxx, maxy = boundary.bounds
        x0, y0 = self.to_xy(miny, minx)
        x1, y1 = self.to_xy(maxy, maxx)
        xs = np.arange(float(x0), float(x1), resolution_m) + resolution_m / 2
        ys = np.arange(float(y0), float(y1), resolution_m) + resolution_m / 2
        gx, gy = np.meshgrid(xs, ys)
        hit = predicate(gx.ravel(), gy.ravel())
        if not hit.any():
            return Polygon()
        h = resolution_m / 2
        cx, cy = gx.ravel()[hit], gy.ravel()[hit]
        la0, lo0 = self.to_latlon(cx - h, cy - h)
        la1, lo1 = self.to_latlon(cx + h, cy + h)
        cells = shapely.box(lo0, la0, lo1, la1)
        return shapely.intersection(shapely.union_all(cells), boundary)


def load_boundary(path=None) -> Polygon:
    """The village boundary as a shapely Polygon (lon, lat); Lipursari's when ``path`` is None.

    Reads a GeoJSON Feature, FeatureCollection (first feature) or bare geometry; z is dropped.
    """
    if path is None:
        text = resources.files("surveyor.data").joinpath("lipursari.geojson").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    doc = json.loads(text)
    if doc.get("type") == "FeatureCollection":
        doc = doc["features"][0]
    geom = shape(doc["geometry"] if doc.get("type") == "Feature" else doc)
    geom = shapely.force_2d(geom)
    if isinstance(geom, MultiPolygon):
        geom = max(geom.geoms, key=lambda g: g.area)
    return geom


_DEFAULT_TRUTH: Truth | None = None


def default_truth(boundary: Polygon | None = None) -> Truth:
    """The truth field used by default, centred on ``boundary`` (Lipursari when None)."""
    global _DEFAULT_TRUTH
    if boundary is None:
        if _DEFAULT_TRUTH is None:
            c = load_boundary().centroid
            _DEFAULT_TRUTH = Truth(lat0=round(c.y, 6), lon0=round(c.x, 6))
        return _DEFAULT_TRUTH
    c = boundary.centroid
    return Truth(lat0=round(c.y, 6), lon0=round(c.x, 6))


def truth_rsrp_dbm(lat, lon, operator: str, truth: Truth | None = None) -> np.ndarray:
    """Median LTE RSRP (dBm) of the simulated village at WGS84 positions, for ``operator``."""
    return (truth or default_truth()).rsrp_dbm(lat, lon, operator)


def truth_negative(lat, lon, operator: str, truth: Truth | None = None) -> np.ndarray:
    """Boolean array: True where the simulated village has no usable 4G for ``operator``
    (median RSRP < -115 dBm, 2G only, or no network)."""
    return (truth or default_truth()).negative(lat, lon, operator)


# ---------------------------------------------------------------------------------------------
# Paths and walks

# Invented hamlets (dusun) and junctions, as offsets in metres from the village centroid. The
# names are made up for the simulation; they are not Lipursari's real dusun.
HAMLETS: dict[str, tuple[float, float]] = {
    "Krajan": (0.0, 0.0),
    "Sidareja": (80.0, 470.0),
    "Bandungan": (-600.0, 800.0),
    "Gunungsari": (-950.0, 600.0),
    "Pucung": (-1250.0, 870.0),
    "Kedungsari": (-1100.0, -240.0),
    "Kaliputih": (-700.0, -480.0),
    "Karanganyar": (-150.0, -500.0),
    "Kalimanggis": (700.0, 340.0),
    "Sumberan": (1050.0, 150.0),
    "Wonorejo": (1150.0, -160.0),
    "Tegalrejo": (950.0, -800.0),
}

# Footpaths and village roads between them.
PATHS: tuple[tuple[str, str], ...] = (
    ("Krajan", "Sidareja"), ("Sidareja", "Bandungan"), ("Bandungan", "Gunungsari"),
    ("Gunungsari", "Krajan"), ("Gunungsari", "Kedungsari"), ("Kedungsari", "Kaliputih"),
    ("Kaliputih", "Karanganyar"), ("Karanganyar", "Krajan"), ("Sidareja", "Kalimanggis"),
    ("Kalimanggis", "Sumberan"), ("Sumberan", "Wonorejo"), ("Wonorejo", "Krajan"),
    ("Gunungsari", "Pucung"), ("Wonorejo", "Tegalrejo"), ("Tegalrejo", "Karanganyar"),
)

# Routes volunteers walk: hamlet sequences. "Pucung" is a spur walked in one session only, and
# nobody walks to "Tegalrejo" (the default never-walked south-east), so tests can see both.
ROUTES: dict[str, tuple[str, ...]] = {
    "Jalur Utara": ("Krajan", "Sidareja", "Bandungan", "Gunungsari", "Krajan"),
    "Jalur Barat": ("Krajan", "Gunungsari", "Kedungsari", "Kaliputih", "Karanganyar", "Krajan"),
    "Jalur Timur": ("Krajan", "Sidareja", "Kalimanggis", "Sumberan", "Wonorejo", "Krajan"),
}
SPUR_ROUTE = ("Jalan Pucung", ("Gunungsari", "Pucung", "Gunungsari"))

# The default never-walked area: the south-eastern fields around Tegalrejo (offsets in metres).
DEFAULT_NEVER_WALK_XY = ((650.0, -600.0), (1500.0, -600.0), (1500.0, -1150.0), (650.0, -1150.0))


def _path_polyline(a_xy, b_xy, inner: Polygon, rng: np.random.Generator) -> np.ndarray:
    """A wiggly footpath from a to b (metres), kept inside ``inner``."""
    a = np.asarray(a_xy, dtype=float)
    b = np.asarray(b_xy, dtype=float)
    length = float(np.hypot(*(b - a)))
    n = max(int(length / 25.0), 2)
    t = np.linspace(0.0, 1.0, n + 1)
    normal = np.array([-(b - a)[1], (b - a)[0]]) / max(length, 1e-9)
    # Paths follow contours: a couple of long bends plus small kinks, zero at both ends.
    offset = np.zeros_like(t)
    for k in (1, 2, 3):
        offset += rng.normal(0.0, 0.08 * length / k) * np.sin(k * np.pi * t)
    offset += rng.normal(0.0, 4.0, t.size) * np.sin(np.pi * t)
    pts = a + np.outer(t, b - a) + np.outer(offset, normal)
    inside = shapely.contains_xy(inner, pts[:, 0], pts[:, 1])
    for i in np.flatnonzero(~inside):
        p = nearest_points(inner, shapely.Point(pts[i]))[0]
        pts[i] = (p.x, p.y)
    return pts


@dataclass(frozen=True)
class Volunteer:
    """Who walks, with which phone, which SIMs, and which app."""

    name: str
    device: str
    device_model: str
    operators: tuple[str, ...]
    app: str = "journal"  # "journal" (surveyor log on Termux) or "gnettrack" (G-NetTrack Pro)
    manual: bool = False  # also records a few manual (bars) observations
    speedtests: bool = True


DEFAULT_VOLUNTEERS: tuple[Volunteer, ...] = (
    Volunteer("Rina Wulandari", "sim-4f1c2a", "Samsung Galaxy A05s", ("Telkomsel",)),
    Volunteer("Agus Setiawan", "sim-9b7e03", "Xiaomi Redmi 12C", ("Indosat",), manual=True),
    Volunteer("Nur Hidayah", "sim-2d58c7", "OPPO A18", ("Telkomsel", "Indosat")),
    Volunteer("Bayu Saputra", "sim-c6a914", "vivo Y17s", ("Telkomsel",), app="gnettrack",
              speedtests=False),
)
_EXTRA_NAMES = ("Sari Andayani", "Fajar Hidayat", "Wulan Permatasari", "Yusuf Maulana",
                "Tri Handayani", "Eko Kurniawan")
_EXTRA_MODELS = ("Samsung Galaxy A15", "realme C53", "Infinix Hot 40i", "Xiaomi Redmi 13C")

# Local start times (WIB) volunteers pick: mornings before the fields, afternoons after school.
_START_TIMES = ((7, 20), (15, 40), (9, 50), (13, 10), (16, 30), (8, 15), (14, 5), (10, 45))


@dataclass(frozen=True)
class SessionInfo:
    """One walk by one volunteer (one journal, or one G-NetTrack log)."""

    session: str
    volunteer: str
    device: str
    device_model: str
    operators: tuple[str, ...]
    route: str
    app: str
    start_utc: datetime
    end_utc: datetime
    n_samples: int
    distance_m: float


@dataclass
class Survey:
    """A simulated survey: samples (journal dicts, docs/journal.md), sessions, tracks and truth.

    ``tracks`` maps each session to the line actually walked (lon, lat; before GPS error).
    ``never_walked`` is an area inside the village nobody walked (None when not asked for);
    ``walked_once`` is the part of the village within ``corridor_m`` of paths exactly one session
    walked (and no other path); ``walked_once_by_operator`` the same counting only sessions that
    logged that operator. Both are WGS84 geometries, possibly empty.
    """

    seed: int
    samples: list[dict]
    sessions: list[SessionInfo]
    tracks: dict[str, LineString]
    boundary: Polygon
    truth: Truth
    never_walked: Polygon | None
    walked_once: object
    walked_once_by_operator: dict = field(default_factory=dict)
    corridor_m: float = 60.0
    volunteers: tuple[Volunteer, ...] = field(default_factory=tuple)

    def truth_rsrp_dbm(self, lat, lon, operator: str) -> np.ndarray:
        """Median LTE RSRP (dBm) of the truth at WGS84 positions."""
        return self.truth.rsrp_dbm(lat, lon, operator)

    def truth_negative(self, lat, lon, operator: str) -> np.ndarray:
        """True where the truth has no usable 4G for ``operator``."""
        return self.truth.negative(lat, lon, operator)

    def dead_area(self, operator: str, resolution_m: float = 20.0):
        """The truth's no-usable-4G area inside the boundary (WGS84 geometry)."""
        return self.truth.dead_area(operator, self.boundary, resolution_m)

    def session_samples(self, session: str) -> list[dict]:
        return [s for s in self.samples if s.get("session") == session]


def _volunteers(n: int) -> tuple[Volunteer, ...]:
    if n < 1:
        raise ValueError("n_volunteers must be at least 1")
    vols = list(DEFAULT_VOLUNTEERS[:n])
    for i in range(len(vols), n):
        ops = ("Indosat",) if i % 2 else ("Telkomsel",)
        vols.append(Volunteer(_EXTRA_NAMES[i % len(_EXTRA_NAMES)] + ("" if i < 10 else f" {i}"),
                              f"sim-{0x5a000 + 977 * i:06x}", _EXTRA_MODELS[i % len(_EXTRA_MODELS)], ops))
    return tuple(vols)


def _exp_smooth(rng: np.random.Generator, t_s: np.ndarray, tau_s: float, sigma: float) -> np.ndarray:
    """Slow fading along a walk: white noise on a 1 s grid smoothed with an exponential kernel of
    time constant ``tau_s``, scaled to standard deviation ``sigma``, read at times ``t_s``."""
    if t_s.size == 0:
        return np.zeros(0)
    n = int(t_s[-1]) + 2
    white = rng.normal(0.0, 1.0, n + int(6 * tau_s))
    k = np.exp(-np.arange(int(6 * tau_s) + 1) / tau_s)
    k /= math.sqrt((k**2).sum())
    smooth = np.convolve(white, k, mode="valid")[:n]
    return sigma * np.interp(t_s, np.arange(n), smooth)


def _level_from_rsrp(rsrp: np.ndarray) -> np.ndarray:
    # Android CellSignalStrengthLte default thresholds -115/-105/-95/-85 dBm.
    return (rsrp >= -115).astype(int) + (rsrp >= -105) + (rsrp >= -95) + (rsrp >= -85)


def simulate_survey(
    seed: int = 20260706,
    boundary: Polygon | None = None,
    n_volunteers: int = 4,
    *,
    start: date = date(2026, 7, 6),
    days: int = 14,
    interval_s: tuple[float, float] = (1.0, 2.0),
    speed_every_s: float = 240.0,
    never_walk: Polygon | str | None = "default",
    walk_once: Polygon | str | None = "default",
    truth: Truth | None = None,
    mark_simulated: bool = True,
) -> Survey:
    """Simulate volunteers walking the village on several days, and what their phones logged.

    Parameters
    ----------
    seed
        Seeds everything random about the walks and measurements (not the truth, nor the paths,
        which are the village's geography). Same seed, same samples, bit for bit.
    boundary
        Village boundary (lon, lat); Lipursari when None. The invented hamlets are placed by offset
        from its centroid and pulled inside it, so any village of a few km2 works.
    n_volunteers
        The first four are a Telkomsel walker, an Indosat walker who also notes bars by hand, a
        dual-SIM walker logging both, and a Telkomsel walker using G-NetTrack Pro; more alternate.
    start, days
        Sessions fall on distinct days within ``days`` days from ``start``, so that every route is
        walked by each volunteer on a different day (always >= 4 h apart per operator).
    interval_s
        (shortest, longest) logging interval in seconds; each journal session picks one in this
        range. G-NetTrack logs about once a second whatever this says.
    speed_every_s
        Mean time between speed tests of volunteers who run them (on their first SIM).
    never_walk
        Area (lon, lat polygon) where nobody walks: paths entering it are skipped. "default" is the
        south-eastern fields of the invented map; None walks everything.
    walk_once
        Area where only the first session to get there walks; "default" is the Pucung spur in the
        north-west, which only one session walks anyway.
    truth
        The signal field; :func:`default_truth` for the boundary when None.
    mark_simulated
        Put :data:`SIMULATED_NOTE` in the ``note`` of each session's first sample.

    Returns
    -------
    Survey
    """
    if boundary is None:
        boundary = load_boundary()
        truth = truth or default_truth()
    else:
        truth = truth or default_truth(boundary)
    vols = _volunteers(n_volunteers)
    x_b, y_b = truth.to_xy(*np.asarray(boundary.exterior.coords)[:, ::-1].T)
    poly_xy = Polygon(np.column_stack([x_b, y_b]))
    inner = poly_xy.buffer(-45.0)
    if inner.is_empty:
        inner = poly_xy.buffer(-5.0)
    if isinstance(inner, MultiPolygon):
        inner = max(inner.geoms, key=lambda g: g.area)

    # Geography is fixed: hamlets and paths do not change with the survey seed.
    geo_rng = np.random.default_rng(1815)
    nodes = {}
    for name, (x, y) in HAMLETS.items():
        p = shapely.Point(x, y)
        if not inner.contains(p):
            p = nearest_points(inner.buffer(-10.0) if not inner.buffer(-10.0).is_empty else inner, p)[0]
        nodes[name] = (p.x, p.y)
    paths = {}
    for a, b in PATHS:
        pts = _path_polyline(nodes[a], nodes[b], inner, geo_rng)
        paths[(a, b)] = pts
        paths[(b, a)] = pts[::-1]

    def area_xy(spec, default_xy):
        if spec is None:
            return None
        if isinstance(spec, str):
            if spec != "default":
                raise ValueError(f"area must be a Polygon, None or 'default', not {spec!r}")
            return Polygon(default_xy)
        ex = np.asarray(spec.exterior.coords)
        return Polygon(np.column_stack(truth.to_xy(ex[:, 1], ex[:, 0])))

    never_xy = area_xy(never_walk, DEFAULT_NEVER_WALK_XY)
    once_xy = (_spur_area_xy(paths) if isinstance(walk_once, str) and walk_once == "default"
               else area_xy(walk_once, None))
    if never_xy is not None:
        never_xy = never_xy.intersection(poly_xy)

    # Session plan: each volunteer walks each main route once, volunteer v on day 4v + 5g (mod
    # days), which keeps one route's sessions on distinct days; the spur is walked once at the end.
    plan = []
    for g, route in enumerate(ROUTES):
        for v in range(len(vols)):
            day = (4 * v + 5 * g) % max(days, 1)
            plan.append((day, _START_TIMES[(g + 3 * v) % len(_START_TIMES)], v, route, ROUTES[route]))
    plan.append((max(days - 1, 0), (10, 5), 0, SPUR_ROUTE[0], SPUR_ROUTE[1]))
    plan.sort(key=lambda p: (p[0], p[1], p[2]))

    rng_root = np.random.SeedSequence(seed)
    child_seeds = rng_root.spawn(len(plan))
    samples: list[dict] = []
    sessions: list[SessionInfo] = []
    tracks: dict[str, LineString] = {}
    # Which sessions walked each path, per operator: the areas "walked once" and "never walked"
    # come from these exact paths, not from noisy GPS positions.
    walked_by: dict[tuple[str, str], dict[str, set[str]]] = {}
    once_taken: set[tuple[str, str]] = set()
    for (day, hm, v, route, seq), ss in zip(plan, child_seeds):
        rng = np.random.default_rng(ss)
        vol = vols[v]
        legs, keys = [], []
        for a, b in zip(seq[:-1], seq[1:]):
            key = (min(a, b), max(a, b))  # either way along a path
            line = LineString(paths[(a, b)])
            if never_xy is not None and line.intersects(never_xy.buffer(30.0)):
                continue
            if once_xy is not None and line.intersects(once_xy):
                if key in once_taken and key not in keys:
                    continue
                once_taken.add(key)
            legs.append(paths[(a, b)])
            keys.append(key)
        if not legs:
            continue
        local_start = datetime(start.year, start.month, start.day, hm[0], hm[1], tzinfo=WIB) + \
            timedelta(days=day, minutes=int(rng.integers(0, 20)))
        ses, trk, info = _walk_session(rng, vol, route, legs, local_start, truth, poly_xy,
                                       interval_s, speed_every_s, mark_simulated)
        samples.extend(ses)
        sessions.append(info)
        tracks[info.session] = trk
        for key in keys:
            for op in vol.operators:
                walked_by.setdefault(key, {}).setdefault(op, set()).add(info.session)

    def to_lonlat(geom):
        return shapely.transform(geom, lambda a: np.column_stack(truth.to_latlon(a[:, 0], a[:, 1])[::-1]))

    corridor_m = 60.0

    def corridor(keys_):
        if not keys_:
            return Polygon()
        return unary_union([LineString(paths[k]).buffer(corridor_m, quad_segs=4) for k in keys_])

    def once_area(op: str | None):
        def n_sessions(key):
            by_op = walked_by[key]
            return len(by_op.get(op, ())) if op else len(set().union(*by_op.values()))
        once = [k for k in walked_by if n_sessions(k) == 1]
        more = [k for k in walked_by if n_sessions(k) >= 2]
        geom = corridor(once).difference(corridor(more)).intersection(poly_xy)
        return to_lonlat(geom) if not geom.is_empty else Polygon()

    walked_once = once_area(None)
    walked_once_by_operator = {op: once_area(op) for op in truth.operators}
    if never_xy is not None:
        never_xy = never_xy.difference(corridor(list(walked_by)).buffer(20.0))
    never_ll = to_lonlat(never_xy) if never_xy is not None and not never_xy.is_empty else None
    return Survey(seed=seed, samples=samples, sessions=sessions, tracks=tracks, boundary=boundary,
                  truth=truth, never_walked=never_ll, walked_once=walked_once,
                  walked_once_by_operator=walked_once_by_operator, corridor_m=corridor_m,
                  volunteers=vols)


def _spur_area_xy(paths) -> Polygon:
    # The far 60% of the Gunungsari-Pucung spur, widened a little: no other path comes near it.
    pts = paths[("Gunungsari", "Pucung")]
    return LineString(pts[int(0.4 * len(pts)):]).buffer(40.0)


_NOTES_WEAK = ("Sinyal hilang di dekat kali", "Cuma bisa telepon, internet mati",
               "HP cari sinyal terus", "Tidak ada sinyal di kebun")
_NOTES_GOOD = ("Sinyal bagus di depan balai dusun", "Lancar buat video call", "Sinyal penuh di atas bukit")
_TEST_SERVER = "Semarang (simulated)"


def _walk_session(rng, vol: Volunteer, route: str, legs: list[np.ndarray], local_start: datetime,
                  truth: Truth, poly_xy: Polygon, interval_s, speed_every_s, mark_simulated):
    """One volunteer's walk: positions over time, then what each SIM logged."""
    # Join legs. Between disjoint legs (a path skipped) the volunteer rides a motorbike without
    # logging: the joining segment gets zero length and the clock jumps ahead instead.
    pts = legs[0]
    seg_parts = [np.hypot(*np.diff(legs[0], axis=0).T)]
    hops_at_m = []
    for leg in legs[1:]:
        joined = np.hypot(*(leg[0] - pts[-1])) <= 5.0
        if not joined:
            hops_at_m.append(float(np.concatenate(seg_parts).sum()))
        body = leg[1:] if joined else leg
        first = np.hypot(*(body[0] - pts[-1])) if joined else 0.0
        seg_parts.append(np.concatenate([[first], np.hypot(*np.diff(body, axis=0).T)]))
        pts = np.vstack([pts, body])
    seg = np.concatenate(seg_parts)
    cum_m = np.concatenate([[0.0], np.cumsum(seg)])
    total_m = float(cum_m[-1])

    # Walking speed per second: a personal pace (3-5 km/h) with slow changes, and stops.
    pace_ms = rng.uniform(3.0, 5.0) / 3.6
    n_s = int(total_m / pace_ms * 1.6) + 900
    t_grid = np.arange(n_s, dtype=float)
    v = pace_ms * (1.0 + 0.15 * _exp_smooth(rng, t_grid, 30.0, 1.0))
    v = np.clip(v, 0.4, 1.8)
    stops = []  # (start_s, end_s, indoor)
    for _ in range(int(rng.integers(1, 3))):
        s0 = float(rng.uniform(0.15, 0.85) * total_m / pace_ms)
        dur = float(rng.uniform(120.0, 360.0))
        stops.append((s0, s0 + dur, bool(rng.random() < 0.6)))
    for s0, s1, _ in stops:
        v[int(s0):int(s1)] = 0.0
    dist_s = np.concatenate([[0.0], np.cumsum(v)])[:n_s]
    end_idx = int(np.searchsorted(dist_s, total_m))
    duration_s = float(min(end_idx, n_s - 1))

    gnettrack = vol.app == "gnettrack"
    if gnettrack:
        step = 1.0 + rng.normal(0.0, 0.12, int(duration_s) + 10)
    else:
        base = float(rng.choice(np.arange(interval_s[0], interval_s[1] + 1e-9, 0.5))) \
            if interval_s[1] > interval_s[0] else float(interval_s[0])
        step = base + rng.normal(0.0, 0.05, int(duration_s / max(base, 0.2)) + 10)
    t = np.cumsum(np.clip(step, 0.2, None))
    t = t[t <= duration_s]
    t = np.concatenate([[0.0], t])
    d_m = np.interp(t, t_grid, dist_s)
    hop_s = np.zeros(t.size)
    for gm in hops_at_m:
        hop_s[d_m > gm] += float(rng.uniform(180.0, 420.0))
    x_true = np.interp(d_m, cum_m, pts[:, 0])
    y_true = np.interp(d_m, cum_m, pts[:, 1])
    speed_kmh = np.interp(t, t_grid, v) * 3.6

    indoor = np.zeros(t.size, bool)
    for s0, s1, ind in stops:
        if ind:
            indoor |= (t >= s0) & (t < s1)
    t = t + hop_s
    duration_s = float(t[-1])

    # GPS: accuracy mostly 3-15 m, worse indoors, and a few bursts worse than 50 m (tree cover,
    # deep valley); the error is correlated in time, as a receiver's is.
    acc = np.clip(rng.lognormal(math.log(6.0), 0.35, t.size), 3.0, 15.0)
    acc[indoor] = rng.uniform(18.0, 45.0, indoor.sum())
    for _ in range(int(rng.integers(1, 4))):
        b0 = float(rng.uniform(0.0, max(duration_s - 60.0, 1.0)))
        burst = (t >= b0) & (t < b0 + rng.uniform(20.0, 60.0))
        acc[burst] = rng.uniform(55.0, 140.0, burst.sum())
    err_scale = acc / 1.6
    ex = _exp_smooth(rng, t, 20.0, 1.0) * err_scale
    ey = _exp_smooth(rng, t, 20.0, 1.0) * err_scale
    x_obs, y_obs = x_true + ex, y_true + ey
    out = ~shapely.contains_xy(poly_xy, x_obs, y_obs)
    # Keep reported positions inside the village (the bundled survey is "of Lipursari"): an error
    # that would cross the boundary is shrunk onto the true path instead.
    x_obs[out] = x_true[out] + 0.2 * ex[out]
    y_obs[out] = y_true[out] + 0.2 * ey[out]
    out = ~shapely.contains_xy(poly_xy, x_obs, y_obs)
    x_obs[out], y_obs[out] = x_true[out], y_true[out]
    lat_obs, lon_obs = truth.to_latlon(x_obs, y_obs)
    alt = truth.altitude_xy(x_true, y_true) + rng.normal(0.0, 4.0, t.size)

    # GPS cold start on journal phones: the first few samples have no fix yet.
    no_fix = np.zeros(t.size, bool)
    if not gnettrack and rng.random() < 0.5:
        no_fix[: int(rng.integers(2, 5))] = True

    t0_utc = local_start.astimezone(UTC).replace(tzinfo=None)
    session_id = f"{vol.device}-{local_start.strftime('%Y%m%dT%H%M')}"
    keep = np.ones(t.size, bool)
    samples: list[dict] = []
    gps_name = "G-NetTrack Pro" if gnettrack else "termux"
    for k_op, operator in enumerate(vol.operators):
        meas = _measure(rng, truth, operator, x_true, y_true, t, indoor)
        n = t.size
        for i in range(n):
            if not keep[i]:
                continue
            s = _base_sample(t0_utc, t[i], vol, session_id, route, gps_name, operator)
            if no_fix[i]:
                s["no_fix"] = True
            else:
                s["lat"] = round(float(lat_obs[i]), 6)
                s["lon"] = round(float(lon_obs[i]), 6)
                s["accuracy_m"] = round(float(acc[i]), 1)
                s["altitude_m"] = round(float(alt[i]), 1)
                s["speed_kmh"] = round(float(speed_kmh[i]), 1)
            s["environment"] = "indoor" if indoor[i] else "outdoor"
            s["kind"] = "signal"
            _fill_radio(s, meas, i)
            if gnettrack:
                s["throughput_dl_kbps"] = float(meas["bg_dl_kbps"][i])
                s["throughput_ul_kbps"] = float(meas["bg_ul_kbps"][i])
            samples.append(s)

        # Speed tests on the first SIM (the data SIM).
        if vol.speedtests and k_op == 0:
            next_t = float(rng.uniform(30.0, speed_every_s))
            while next_t < duration_s:
                i = int(np.searchsorted(t, next_t))
                if i < n and keep[i] and not no_fix[i]:
                    samples.append(_speed_sample(rng, t0_utc, t[i], vol, session_id, route, gps_name,
                                                 operator, meas, i, lat_obs, lon_obs, acc, indoor))
                next_t += float(rng.uniform(0.7, 1.3) * speed_every_s)

        # Manual observations: bars as the volunteer reads them, every ~10 min, a few with a note.
        if vol.manual:
            next_t = float(rng.uniform(60.0, 400.0))
            while next_t < duration_s:
                i = int(np.searchsorted(t, next_t))
                if i < n and keep[i] and not no_fix[i]:
                    s = _base_sample(t0_utc, t[i] + 1.0, vol, session_id, route, "manual", operator)
                    s["lat"] = round(float(lat_obs[i]), 6)
                    s["lon"] = round(float(lon_obs[i]), 6)
                    s["accuracy_m"] = round(float(acc[i]), 1)
                    s["environment"] = "indoor" if indoor[i] else "outdoor"
                    s["kind"] = "manual"
                    tech = meas["tech"][i]
                    s["tech"] = str(tech)
                    s["service"] = "no_service" if tech == "NONE" else "in_service"
                    s["level"] = int(meas["level"][i])
                    if rng.random() < 0.35:
                        pool = _NOTES_WEAK if meas["level"][i] <= 1 else _NOTES_GOOD
                        s["note"] = str(pool[int(rng.integers(0, len(pool)))])
                    samples.append(s)
                next_t += float(rng.uniform(420.0, 780.0))

    samples.sort(key=lambda s: (s["time"], s["operator"], s["kind"]))
    if mark_simulated and samples:
        samples[0]["note"] = SIMULATED_NOTE
    track_ll = LineString(np.column_stack(truth.to_latlon(x_true[keep], y_true[keep])[::-1]))
    info = SessionInfo(
        session=session_id, volunteer=vol.name, device=vol.device, device_model=vol.device_model,
        operators=vol.operators, route=route, app=vol.app,
        start_utc=(t0_utc).replace(tzinfo=UTC),
        end_utc=(t0_utc + timedelta(seconds=float(t[-1]))).replace(tzinfo=UTC),
        n_samples=len(samples), distance_m=round(total_m, 1))
    return samples, track_ll, info


def _iso(t0_utc: datetime, offset_s: float) -> str:
    return (t0_utc + timedelta(seconds=int(offset_s))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base_sample(t0_utc, offset_s, vol: Volunteer, session_id, route, gps_name, operator) -> dict:
    return {"v": 1, "time": _iso(t0_utc, offset_s), "gps": gps_name, "device": vol.device,
            "device_model": vol.device_model, "session": session_id, "volunteer": vol.name,
            "route": route, "operator": operator, "mcc": MCC, "mnc": MNC.get(operator)}


def _measure(rng, truth: Truth, operator: str, x, y, t, indoor) -> dict:
    """What one SIM measures along the walk (vectorised)."""
    sites = [s for s in truth.sites if s.operator == operator]
    per_site = truth._site_rsrp_xy(x, y, operator)
    best = per_site.argmax(axis=0)
    median = truth.rsrp_xy(x, y, operator)
    m = (median + rng.normal(0.0, 1.5)  # this phone and how it is held, for the whole walk
         + _exp_smooth(rng, t, 15.0, 4.0)  # slow fading as the walker passes houses and trees
         + rng.normal(0.0, 3.0, t.size)  # fast fading and reporting noise
         - np.where(indoor, rng.uniform(8.0, 14.0), 0.0))
    tech = np.where(m >= LTE_FLOOR_DBM, "LTE", np.where(m >= GSM_FLOOR_DBM, "GSM", "NONE"))
    rsrp = np.round(np.clip(m, -140.0, -44.0))
    sinr = np.round(np.clip(0.42 * (m + 118.0) - 3.0 + rng.normal(0.0, 2.5, t.size), -10.0, 30.0))
    rsrq = np.round(np.clip(-11.0 + 0.1 * (m + 95.0) + 0.15 * sinr + rng.normal(0.0, 1.2, t.size),
                            -20.0, -3.0))
    # Sector from the bearing site -> walker: three 120-degree sectors.
    sx = np.array([s.east_m for s in sites])[best]
    sy = np.array([s.north_m for s in sites])[best]
    az = (np.degrees(np.arctan2(x - sx, y - sy)) + 360.0) % 360.0
    sector = (az // 120).astype(int) + 1
    enb = np.array([s.enb_id for s in sites])[best]
    gsm_rssi = np.round(np.clip(m + 31.0 + rng.normal(0.0, 2.0, t.size), -110.0, -51.0))
    level = np.where(tech == "LTE", _level_from_rsrp(rsrp), np.where(tech == "GSM", 1, 0))
    # Background traffic G-NetTrack logs each second (app updates, messages), not a speed test.
    busy = rng.random(t.size) < 0.3
    bg_dl = np.where(busy & (tech != "NONE"), np.round(rng.exponential(40.0, t.size)), 0.0)
    bg_dl = np.where(tech == "GSM", np.minimum(bg_dl, 40.0), bg_dl)
    bg_ul = np.round(bg_dl * rng.uniform(0.05, 0.3, t.size))
    return {
        "site": [sites[b] for b in best], "tech": tech, "rsrp": rsrp, "rsrq": rsrq, "sinr": sinr,
        "eci": enb * 256 + sector, "enb": enb, "sector": sector,
        "pci": (enb * 3 + sector) % 504, "gsm_rssi": gsm_rssi, "level": level,
        "bg_dl_kbps": bg_dl, "bg_ul_kbps": bg_ul, "m": m,
        "rxqual": np.clip(np.round(rng.exponential(1.5, t.size)), 0, 7),
    }


def _fill_radio(s: dict, meas: dict, i: int) -> None:
    tech = str(meas["tech"][i])
    s["tech"] = tech
    site: Site = meas["site"][i]
    if tech == "NONE":
        s["service"] = "no_service"
        s["level"] = 0
        return
    s["service"] = "in_service"
    s["level"] = int(meas["level"][i])
    if tech == "LTE":
        s["rsrp_dbm"] = float(meas["rsrp"][i])
        s["rsrq_db"] = float(meas["rsrq"][i])
        s["sinr_db"] = float(meas["sinr"][i])
        s["cell_id"] = int(meas["eci"][i])
        s["tac"] = site.tac
        s["pci"] = int(meas["pci"][i])
        s["arfcn"] = site.earfcn
    else:
        s["rssi_dbm"] = float(meas["gsm_rssi"][i])
        s["cell_id"] = int((site.enb_id % 6000) * 10 + int(meas["sector"][i]))
        s["lac"] = site.gsm_lac
        s["arfcn"] = site.gsm_arfcn


_ERR_NO_NETWORK = "Cannot retrieve speedtest configuration: <urlopen error [Errno 101] Network is unreachable>"
_ERR_TIMEOUT = "Cannot retrieve speedtest configuration: <urlopen error timed out>"
_ERR_2G = "HTTP Error: timed out while downloading (connection too slow)"


def _speed_sample(rng, t0_utc, offset_s, vol, session_id, route, gps_name, operator, meas, i,
                  lat, lon, acc, indoor) -> dict:
    s = _base_sample(t0_utc, offset_s, vol, session_id, route, gps_name, operator)
    s["lat"] = round(float(lat[i]), 6)
    s["lon"] = round(float(lon[i]), 6)
    s["accuracy_m"] = round(float(acc[i]), 1)
    s["environment"] = "indoor" if indoor[i] else "outdoor"
    s["kind"] = "speed"
    tech = str(meas["tech"][i])
    s["tech"] = tech
    s["service"] = "no_service" if tech == "NONE" else "in_service"
    s["test_server"] = _TEST_SERVER
    sinr_lin = 10 ** (float(meas["sinr"][i]) / 10.0)
    failed_error = None
    if tech == "NONE":
        failed_error = _ERR_NO_NETWORK
    elif tech == "GSM":
        if rng.random() < 0.6:
            failed_error = rng.choice([_ERR_TIMEOUT, _ERR_2G]).item()
        else:
            dl = rng.uniform(0.04, 0.18)
            ul = rng.uniform(0.02, 0.08)
            lat_ms = rng.uniform(450.0, 1100.0)
    else:
        if float(meas["m"][i]) < -119.0 and rng.random() < 0.5:
            failed_error = _ERR_TIMEOUT
        else:
            # Shannon-like: 10 MHz carrier, 60% efficiency, shared with other users by time of day.
            load = rng.uniform(0.25, 0.8)
            dl = 10.0 * math.log2(1.0 + sinr_lin) * 0.6 * load * rng.uniform(0.8, 1.2)
            ul = dl * rng.uniform(0.25, 0.5)
            lat_ms = rng.uniform(28.0, 55.0) + max(0.0, -100.0 - float(meas["m"][i])) * 4.0
    if failed_error is not None:
        s["test"] = "failed"
        s["test_error"] = failed_error
        s["bytes_used"] = 0 if tech == "NONE" else int(rng.integers(800, 6000))
        return s
    s["download_mbps"] = round(float(dl), 2)
    s["upload_mbps"] = round(float(ul), 2)
    s["latency_ms"] = round(float(lat_ms), 1)
    s["test"] = "ok"
    # speedtest-cli runs about 10 s each way; bytes follow the measured rates.
    s["bytes_used"] = int((dl + ul) * 1e6 / 8 * 10.0) + 4000
    return s


# ---------------------------------------------------------------------------------------------
# Formatters (pure: they return text; the caller writes it)


def journal_text(samples) -> str:
    """Journal lines (docs/journal.md) for ``samples``: one JSON object per line, keys in
    :data:`surveyor.model.SAMPLE_FIELDS` order, absent values left out, ``\\n`` line ends."""
    lines = []
    for s in samples:
        unknown = set(s) - set(SAMPLE_FIELDS)
        if unknown:
            raise ValueError(f"not journal fields: {sorted(unknown)}")
        obj = {k: s[k] for k in SAMPLE_FIELDS if s.get(k) is not None}
        lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


GNETTRACK_HEADER = ("Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,SNR,"
                    "CQI,RSSI,DL_bitrate,UL_bitrate,State,PINGAVG,PINGMIN,PINGMAX,PINGSTDEV,PINGLOSS,"
                    "CELLHEX,NODEHEX,LACHEX,RAWCELLID,NRxRSRP,NRxRSRQ")


def _cqi_from_sinr(sinr_db: float) -> int:
    # 3GPP CQI 1-15 spans roughly -6 to +20 dB SINR.
    return int(min(15, max(1, round((sinr_db + 6.0) / 26.0 * 14.0 + 1.0))))


def gnettrack_csv(samples, seed: int = 0) -> str:
    """A G-NetTrack Pro log (the app's CSV export) of one session's signal samples.

    Times are written in WIB (UTC+7) without a zone, as the app writes local time; missing values
    are ``-``; 2G rows carry the GSM RSSI in the RSRP column and RxQual in RSRQ, as the app does.
    No-service moments are rows with ``-`` in every radio column (how the app writes them is not
    known from a public file). ``seed`` drives the ping columns (one ping test about every 30 s).
    """
    rng = np.random.default_rng(seed)
    rows = [GNETTRACK_HEADER]
    last_none = -999
    next_ping = float(rng.uniform(5.0, 30.0))
    t_first = None
    for idx, s in enumerate(x for x in samples if x.get("kind", "signal") == "signal"):
        t_utc = datetime.strptime(s["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if t_first is None:
            t_first = t_utc
        elapsed = (t_utc - t_first).total_seconds()
        ts = t_utc.astimezone(WIB).strftime("%Y.%m.%d_%H.%M.%S")
        lon = f"{s['lon']:.6f}" if s.get("lon") is not None else "-"
        lat = f"{s['lat']:.6f}" if s.get("lat") is not None else "-"
        spd = str(int(round(s.get("speed_kmh") or 0.0)))
        tech = s.get("tech")
        dl = int(s.get("throughput_dl_kbps") or 0)
        ul = int(s.get("throughput_ul_kbps") or 0)
        state = "D" if dl > 0 else "I"
        ping = ["-"] * 5
        if tech != "NONE" and elapsed >= next_ping:
            base = 35.0 if tech == "LTE" else 550.0
            mn = base * rng.uniform(0.9, 1.3)
            mx = mn * rng.uniform(1.1, 2.0)
            ping = [f"{(mn + mx) / 2:.1f}", f"{mn:.1f}", f"{mx:.1f}", f"{(mx - mn) / 3:.1f}", "0.0"]
            next_ping = elapsed + float(rng.uniform(25.0, 35.0))
        if tech == "NONE":
            last_none = idx
            row = [ts, lon, lat, spd, "-", "-", "-", "-", "-", "-", "-", "-", "0", "0", "I",
                   *ping, "-", "-", "-", "-", "-", "-"]
        else:
            # Right after regaining service Android often gives the PLMN code before the name.
            opname = f"{s['mcc']}{s['mnc']:02d}" if idx - last_none <= 4 else \
                GNETTRACK_OPERATOR_NAME.get(s["operator"], s["operator"])
            if tech == "LTE":
                eci = int(s["cell_id"])
                cid, enb = eci % 256, eci // 256
                sinr = s["sinr_db"]
                rssi = int(s["rsrp_dbm"] + 24 + max(0.0, 6.0 - sinr) * 0.5)
                row = [ts, lon, lat, spd, opname, str(cid), "LTE", str(int(s["rsrp_dbm"])),
                       str(int(s["rsrq_db"])), f"{sinr:.1f}", str(_cqi_from_sinr(sinr)), str(rssi),
                       str(dl), str(ul), state, *ping, f"{cid:X}", f"{enb:X}", f"{int(s['tac']):X}",
                       str(eci), "-", "-"]
            else:
                ci = int(s["cell_id"])
                mode = "EDGE" if (ci + idx // 60) % 3 else "GPRS"
                rxqual = int(min(7, max(0, round((-70 - s["rssi_dbm"]) / 6))))
                row = [ts, lon, lat, spd, opname, str(ci), mode, str(int(s["rssi_dbm"])), str(rxqual),
                       "-", "-", "-", str(dl), str(ul), state, *ping, f"{ci:X}", "-",
                       f"{int(s['lac']):X}", str(ci), "-", "-"]
        rows.append(",".join(row))
    return "\n".join(rows) + "\n"


def gnettrack_filename(session: SessionInfo, operator: str = "Telkomsel") -> str:
    """The name G-NetTrack Pro gives a log: ``<test>__<mode>__<operator>_<local start>.csv``."""
    local = session.start_utc.astimezone(WIB)
    return f"Walk__Walking__{OPERATOR_SHORT.get(operator, operator)}_{local.strftime('%Y.%m.%d_%H.%M.%S')}.csv"
