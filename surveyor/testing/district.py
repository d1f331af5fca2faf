"""A simulated district: many villages, each surveyed like the simulated village, for scale tests.

Everything here is SIMULATED. The villages are copies of the simulated Lipursari survey
(:func:`surveyor.testing.simulate.simulate_survey`, seeded per village) moved onto a grid of
village boundaries, so a district of any size has realistic walks (1-2 s logging, dual-SIM phones,
speed tests, manual observations, dead zones) in every village. Kemendagri-like codes group the
villages into kecamatan: ``33.07.KK`` is a kecamatan, ``33.07.KK.2VVV`` a village in it.

:func:`district_areas` gives the ``areas`` layer, :func:`district_samples` the samples layer, one
frame per village (with ``sample_id`` and ``h3_10`` as a merge computes them), ready for
``Store.append``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from surveyor.testing import simulate

__all__ = ["KABUPATEN", "district_areas", "district_samples", "village_codes"]

KABUPATEN = "33.07"
# Villages per kecamatan, and the grid step between village origins (degrees): a village of the
# simulated kind is about 0.027 x 0.022 degrees, so neighbours do not overlap.
PER_KECAMATAN = 18
STEP_LON, STEP_LAT = 0.03, 0.025
GRID_COLUMNS = 20


def village_codes(n_villages: int) -> list[str]:
    """Codes of ``n_villages`` villages: ``33.07.KK.2VVV``, PER_KECAMATAN villages a kecamatan."""
    return [f"{KABUPATEN}.{i // PER_KECAMATAN + 1:02d}.{2001 + i % PER_KECAMATAN}" for i in range(n_villages)]


def _offset(i: int) -> tuple[float, float]:
    """(dlon, dlat) of village ``i`` from the simulated village, on a grid spreading north-east."""
    return (i % GRID_COLUMNS) * STEP_LON, (i // GRID_COLUMNS) * STEP_LAT


def district_areas(n_villages: int, *, kecamatan: bool = True):
    """The ``areas`` layer of a simulated district: each village is the simulated village's
    boundary moved by its grid offset (level ``desa``, parent its kecamatan), plus one row per
    kecamatan (level ``kecamatan``, the union of its villages) when ``kecamatan``."""
    import geopandas as gpd
    import shapely

    base = simulate.load_boundary()
    codes = village_codes(n_villages)
    geoms = [shapely.affinity.translate(base, *_offset(i)) for i in range(n_villages)]
    rows = {"code": codes, "name": [f"Desa Simulasi {c.rsplit('.', 1)[1]}-{c.split('.')[2]}" for c in codes],
            "level": ["desa"] * n_villages, "parent_code": [c.rsplit(".", 1)[0] for c in codes]}
    villages = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    if not kecamatan:
        return villages
    kec = villages.dissolve(by="parent_code", as_index=False)
    kec = gpd.GeoDataFrame({"code": kec["parent_code"], "name": [f"Kecamatan Simulasi {c.split('.')[2]}"
                                                                 for c in kec["parent_code"]],
                            "level": "kecamatan", "parent_code": KABUPATEN}, geometry=kec.geometry.values,
                           crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat([villages, kec], ignore_index=True), crs="EPSG:4326")


_SURVEYS: dict[int, pd.DataFrame] = {}


def _survey_frame(seed: int, n_volunteers: int) -> pd.DataFrame:
    key = seed * 100 + n_volunteers
    if key not in _SURVEYS:
        survey = simulate.simulate_survey(seed=seed, n_volunteers=n_volunteers)
        df = pd.DataFrame(survey.samples)
        df["time"] = pd.to_datetime(df["time"], utc=True, format="ISO8601").astype("datetime64[ms, UTC]")
        _SURVEYS[key] = df
    return _SURVEYS[key]


def district_samples(n_samples: int, *, seed: int = 20260714, n_volunteers: int = 4,
                     seeds: int = 6) -> Iterator[tuple[str, pd.DataFrame]]:
    """Samples of a simulated district, village by village, ``n_samples`` in all.

    Each village is one simulated survey (``n_volunteers`` volunteers over two weeks; with the
    default four, about 47,000 samples: a Telkomsel walker, an Indosat walker who also notes bars,
    a dual-SIM walker and a G-NetTrack user logging every second) of one of ``seeds`` seeds, moved
    to the village's place; sessions and devices are named per village. Villages follow
    :func:`village_codes`; the last one may be cut.

    Yields
    ------
    (code, DataFrame)
        The village code and its samples: the journal fields plus ``sample_id``, ``h3_10``,
        ``placed_by``, ``source_format``, ``source_file`` and ``source_line``.
    """
    from surveyor.geo.cells import h3_cells

    per_village = len(_survey_frame(seed, n_volunteers))
    n_villages = max(1, math.ceil(n_samples / per_village))
    codes = village_codes(n_villages)
    done = 0
    for i, code in enumerate(codes):
        base = _survey_frame(seed + i % seeds, n_volunteers)
        take = min(len(base), n_samples - done)
        df = base.iloc[:take].copy()
        dlon, dlat = _offset(i)
        df["lat"] = (df["lat"] + dlat).round(7)
        df["lon"] = (df["lon"] + dlon).round(7)
        tag = code.replace(".", "")
        df["session"] = df["session"] + "-" + tag
        df["device"] = df["device"] + "-" + tag
        df["sample_id"] = (np.arange(done, done + take, dtype=np.int64) + 1) * 2654435761 % (2 ** 62)
        df["h3_10"] = h3_cells(df["lat"], df["lon"], 10)
        # numpy's stubs leave None (an object array's value) out of where()
        df["placed_by"] = np.where(df["lat"].notna(), "gps", None)  # type: ignore[call-overload]
        df["source_format"] = "journal"
        df["source_file"] = f"{tag}.jsonl"
        df["source_line"] = np.arange(1, take + 1)
        done += take
        yield code, df
        if done >= n_samples:
            break
