"""The towers terrain analysis uses: OpenCelliD cell positions grouped into sites, plus towers
entered by hand (``surveyor towers add``), each with an antenna height and a frequency.

OpenCelliD lists *cells* at positions it estimated from phones' measurements, several per site and
scattered around it; cells of one operator within :data:`SITE_MERGE_M` of each other are taken as
one site at their median position. They carry no antenna height, so :data:`DEFAULT_TOWER_HEIGHT_M`
is assumed and said so (``height_source``). A tower entered by hand replaces the OpenCelliD sites
of its operator within the same distance (it is the better-known position).

Frequencies: a tower's ``--band`` when given, else the carrier the operator's phones reported
(the most common EARFCN of its LTE samples), else LTE band 3 (1842.5 MHz).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.constants import DEFAULT_FREQUENCY_MHZ, DEFAULT_TOWER_HEIGHT_M, TOWER_HEIGHT_RANGE_M
from surveyor.config import Settings
from surveyor.errors import InvalidRequest

SITE_MERGE_M = 250.0
MANUAL_LAYER = "towers_manual"
TOWER_COLUMNS = ["tower_id", "operator", "lat", "lon", "height_m", "height_source", "frequency_mhz",
                 "frequency_source", "source", "name", "cells"]
MANUAL_COLUMNS = ["tower_id", "operator", "lat", "lon", "height_m", "height_given", "band", "frequency_mhz", "name",
                  "added_at", "area_code"]


def _local_xy(lat, lon, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """Metres east and north on a local plane: enough to group cells a few hundred metres apart."""
    x = np.asarray(lon, dtype=float) * 111_320.0 * np.cos(np.radians(lat0))
    y = np.asarray(lat, dtype=float) * 110_574.0
    return x, y


def cluster_cells(cells: pd.DataFrame, merge_m: float = SITE_MERGE_M) -> pd.DataFrame:
    """OpenCelliD cells (``towers`` layer) -> one row per operator site: tower_id, operator, lat, lon, cells."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    from surveyor.model import OPERATOR_CODES

    cols = ["tower_id", "operator", "lat", "lon", "cells", "radios"]
    if cells is None or len(cells) == 0 or not {"operator", "lat", "lon"} <= set(cells.columns):
        return pd.DataFrame({c: [] for c in cols})
    df = pd.DataFrame({"operator": cells["operator"].astype("string"),
                       "lat": pd.to_numeric(cells["lat"], errors="coerce"),
                       "lon": pd.to_numeric(cells["lon"], errors="coerce"),
                       "radio": cells["radio"].astype("string") if "radio" in cells.columns else pd.NA})
    df = df[df["operator"].notna() & df["lat"].between(-90, 90) & df["lon"].between(-180, 180)]
    rows = []
    for op, g in df.groupby("operator", sort=True):
        lat0 = float(g["lat"].mean())
        x, y = _local_xy(g["lat"], g["lon"], lat0)
        pts = np.column_stack([x, y])
        pairs = cKDTree(pts).query_pairs(merge_m, output_type="ndarray")
        n = len(g)
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else \
            coo_matrix((n, n))
        _, label = connected_components(graph, directed=False)
        code = OPERATOR_CODES.get(str(op), str(op)[:6].upper())
        sites = []
        for lab in np.unique(label):
            member = g.iloc[np.flatnonzero(label == lab)]
            radio_names = sorted({str(r) for r in member["radio"].dropna()})
            sites.append((float(member["lat"].median()), float(member["lon"].median()), len(member),
                          ",".join(radio_names)))
        sites.sort(key=lambda s: (-s[0], s[1]))  # north to south, then west to east: stable IDs
        for i, (la, lo, k, radios) in enumerate(sites, 1):
            rows.append({"tower_id": f"OC-{code}-{i:03d}", "operator": str(op), "lat": la, "lon": lo, "cells": k,
                         "radios": radios})
    return pd.DataFrame(rows, columns=cols)


def load_towers(store, settings: Settings, *, frequencies: dict[str, dict] | None = None,
                area_code: str | None = None) -> pd.DataFrame:
    """Every tower terrain analysis knows, with ``TOWER_COLUMNS``.

    ``frequencies`` is :func:`surveyor.analyse.terrain.radio.operator_frequencies` of the samples.
    """
    from surveyor.store.dem import read_area_layer

    frequencies = frequencies or {}
    oc = cluster_cells(store.read_layer("towers"))
    manual = read_area_layer(store, MANUAL_LAYER, area_code or settings.code)
    rows: list[dict[str, Any]] = []
    keep_oc = np.ones(len(oc), dtype=bool)
    if len(manual):
        for m in manual.itertuples(index=False):
            same = (oc["operator"] == m.operator).to_numpy()
            if same.any():
                from surveyor.geo.distance import haversine_m

                d = haversine_m(oc["lat"].to_numpy(float), oc["lon"].to_numpy(float), float(m.lat), float(m.lon), xp=np)
                keep_oc &= ~(same & (d < SITE_MERGE_M))
            freq, fsrc = _frequency(m.operator, getattr(m, "frequency_mhz", None), getattr(m, "band", None),
                                    frequencies)
            rows.append({"tower_id": m.tower_id, "operator": m.operator, "lat": float(m.lat), "lon": float(m.lon),
                         "height_m": float(m.height_m), "height_source": "given" if _given(m) else
                         f"assumed {DEFAULT_TOWER_HEIGHT_M:g} m", "frequency_mhz": freq, "frequency_source": fsrc,
                         "source": "manual", "name": _text(getattr(m, "name", None)), "cells": 0})
    for s in oc[keep_oc].itertuples(index=False):
        freq, fsrc = _frequency(s.operator, None, None, frequencies)
        rows.append({"tower_id": s.tower_id, "operator": s.operator, "lat": s.lat, "lon": s.lon,
                     "height_m": DEFAULT_TOWER_HEIGHT_M, "height_source": f"assumed {DEFAULT_TOWER_HEIGHT_M:g} m",
                     "frequency_mhz": freq, "frequency_source": fsrc, "source": "opencellid",
                     "name": f"OpenCelliD {s.cells} cell{'s' if s.cells != 1 else ''} ({s.radios})", "cells": s.cells})
    return pd.DataFrame(rows, columns=TOWER_COLUMNS)


def _given(m) -> bool:
    src = getattr(m, "height_given", None)
    return True if src is None or (isinstance(src, float) and np.isnan(src)) else bool(src)


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)


def _frequency(operator: str, freq, band, frequencies: dict[str, dict]) -> tuple[float, str]:
    if freq is not None and not (isinstance(freq, float) and np.isnan(freq)):
        return float(freq), f"given ({_text(band) or f'{float(freq):g} MHz'})"
    seen = frequencies.get(operator)
    if seen:
        return float(seen["frequency_mhz"]), seen["source"]
    return DEFAULT_FREQUENCY_MHZ, f"assumed LTE band 3 ({DEFAULT_FREQUENCY_MHZ:g} MHz)"


def check_height(height_m: float | None) -> float:
    """A tower's antenna height, or :class:`InvalidRequest` when no mast is that tall or short."""
    if height_m is None:
        return DEFAULT_TOWER_HEIGHT_M
    lo, hi = TOWER_HEIGHT_RANGE_M
    h = float(height_m)
    if not np.isfinite(h) or not lo <= h <= hi:
        raise InvalidRequest(f"--height {height_m:g} m is not an antenna height above ground.",
                             fix=f"Give the height of the antennas on the tower in metres, {lo:g} to {hi:g} "
                                 f"(typical towers: 30-42 m).")
    return h


def add_tower(store, settings: Settings, *, operator: str, lat: float, lon: float, height_m: float | None = None,
              band: str | None = None, name: str | None = None, area_code: str | None = None) -> dict[str, Any]:
    """Add a tower by hand to ``towers_manual``; returns its row.

    Raises
    ------
    InvalidRequest
        An unknown operator, a position outside -90..90 / -180..180, an impossible height, a band
        that is no LTE band or frequency, or a position at sea on the imported elevation model.
    """
    from surveyor.analyse.terrain.radio import parse_band
    from surveyor.model import normalize_operator
    from surveyor.store.dem import load_dem, read_area_layer, write_area_layer

    op = normalize_operator(operator).name
    if not op:
        raise InvalidRequest(f"--operator {operator!r} names no operator.", fix="e.g. --operator Telkomsel")
    if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        raise InvalidRequest(f"--lat {lat} --lon {lon} is not a position on earth.",
                             fix="Latitude -90..90, longitude -180..180 (Lipursari: --lat -7.437 --lon 109.858).")
    given = height_m is not None
    h = check_height(height_m)
    freq, label = (None, None)
    if band is not None:
        try:
            freq, label = parse_band(band)
        except ValueError as exc:
            raise InvalidRequest(f"--band {band}: {exc}.", fix="e.g. --band 3 (1800 MHz) or --band 900") from None
    code = area_code or settings.code
    dem = load_dem(store, code)
    if dem is not None:
        ground = float(dem.sample_lonlat(lon, lat))
        if np.isfinite(ground) and ground <= 0.0:
            raise InvalidRequest(
                f"({lat:.5f}, {lon:.5f}) is at sea level on the elevation model ({ground:.0f} m): a tower there "
                "stands in the sea.", fix="Check the position (latitude south of the equator is negative; "
                                          "latitude and longitude not swapped).")
    old = read_area_layer(store, MANUAL_LAYER, code)
    n = 1
    if len(old) and "tower_id" in old.columns:
        nums = pd.to_numeric(old["tower_id"].astype(str).str.lstrip("M"), errors="coerce")
        n = int(nums.max()) + 1 if nums.notna().any() else len(old) + 1
    row = {"tower_id": f"M{n}", "operator": op, "lat": float(lat), "lon": float(lon), "height_m": h,
           "height_given": given, "band": label, "frequency_mhz": freq, "name": name or "",
           "added_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "area_code": code}
    import geopandas as gpd

    table = pd.DataFrame([row], columns=MANUAL_COLUMNS)
    if len(old):
        old = pd.DataFrame({c: (old[c] if c in old.columns else None) for c in MANUAL_COLUMNS})
        table = pd.concat([old, table], ignore_index=True)
    new = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")
    with store.writer_lock():
        write_area_layer(store, MANUAL_LAYER, new, code)
    return row


def check_towers(towers: pd.DataFrame, dem) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Towers that can be used over this DEM, and a note for each that cannot.

    A tower is left out with a note when it is at sea on the DEM (elevation 0 m or below, an
    OpenCelliD estimate that fell offshore), or has an impossible height. One outside the DEM stays
    in: its paths are reported as not computable.
    """
    lo, hi = TOWER_HEIGHT_RANGE_M
    notes: list[dict[str, str]] = []
    if len(towers) == 0:
        return towers, notes
    ground = dem.sample_lonlat(towers["lon"].to_numpy(float), towers["lat"].to_numpy(float)) if dem is not None \
        else np.full(len(towers), np.nan)
    h = towers["height_m"].to_numpy(float)
    sea = np.isfinite(ground) & (ground <= 0.0)
    bad_h = ~np.isfinite(h) | (h < lo) | (h > hi)
    for t, s, b in zip(towers.itertuples(index=False), sea, bad_h):
        if s:
            notes.append({"tower_id": t.tower_id, "operator": t.operator,
                          "note": f"at sea on the elevation model ({t.lat:.5f}, {t.lon:.5f}): left out"})
        elif b:
            notes.append({"tower_id": t.tower_id, "operator": t.operator,
                          "note": f"impossible antenna height {t.height_m} m: left out"})
    ok = ~(sea | bad_h)
    out = towers[ok].reset_index(drop=True).copy()
    out["ground_m"] = ground[ok]
    return out, notes
