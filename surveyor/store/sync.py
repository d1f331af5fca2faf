"""Moving a village's data between stores: ``push`` (GeoPackage -> PostGIS) and ``pull`` (back).

Both are one operation, :func:`copy_merges`, over the Store interface: every completed merge of the
source is copied as one merge of the target, with its provenance (source file, content hash,
format, time, counts and options, plus where it came from), its samples, quarantine rows,
neighbours, track points and towers. Each merge is copied under the target's writer lock and
becomes visible at once when its ``merges`` row is committed, so a copy killed midway leaves
nothing behind and a rerun completes it. Copying is idempotent: a merge whose source file and
content hash the target holds already is skipped, and samples are deduplicated by ``sample_id``.

``area`` limits the copy to one village (or any area code, with the areas inside it): what the code
selects (:meth:`surveyor.store.base.Store.area`) in the source, or else in the target; samples and
track points inside its polygon, and the neighbours of those samples.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from surveyor.errors import InvalidRequest, NothingToDo
from surveyor.store._arrow import sample_table
from surveyor.store.base import MergeRecord, Store

log = logging.getLogger(__name__)

OTHER_LAYERS = ("quarantine", "neighbours", "tracks", "towers")


def push(source_db: str, url: str, *, area: str | None = None,
         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Copy the GeoPackage ``source_db`` (its merges and areas) into the PostGIS database ``url``."""
    from surveyor.store import is_postgres_url, open_store

    if not is_postgres_url(url):
        raise InvalidRequest(f"push copies into the shared PostGIS database, and {url!r} is not a postgresql:// URL.",
                         fix="Give --db postgresql://USER@HOST:PORT/DATABASE (or set SURVEYOR_DB).")
    if not os.path.exists(source_db):
        raise NothingToDo(f"No geodatabase at {source_db}.", fix="Give the village's .gpkg file to push.")
    with open_store(source_db) as src, open_store(url, create=True) as dst:
        return copy_merges(src, dst, area=area, origin=os.path.basename(source_db), progress=progress)


def pull(url: str, out: str, *, area: str | None = None,
         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Copy the PostGIS database ``url`` (or one area of it) into the GeoPackage ``out``.

    ``out`` is created when absent; an existing surveyor GeoPackage is brought up to date (pulling
    twice adds nothing).
    """
    from surveyor.store import is_postgres_url, open_store

    if not is_postgres_url(url):
        raise InvalidRequest(f"pull copies from the shared PostGIS database, and {url!r} is not a postgresql:// URL.",
                         fix="Give --db postgresql://USER@HOST:PORT/DATABASE (or set SURVEYOR_DB).")
    if is_postgres_url(out):
        raise InvalidRequest("pull writes a GeoPackage file.", fix="Give --out FILE.gpkg.")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise InvalidRequest(f"Folder {folder} does not exist.", fix="Create it or give another --out.")
    with open_store(url) as src:
        with open_store(out, create=True) as dst:
            return copy_merges(src, dst, area=area, origin=src.url, progress=progress)


def copy_merges(src: Store, dst: Store, *, area: str | None = None, origin: str = "",
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Copy every merge of ``src`` that ``dst`` lacks; returns what was done.

    Returns ``{"merges": copied, "skipped": n, "samples": sent, "added": new in dst, "duplicates": n,
    "quarantined": n, "neighbours": n, "track_points": n, "towers": n, "areas": n}``.
    """
    say = progress or (lambda _m: None)
    summary = {"merges": 0, "skipped": 0, "samples": 0, "added": 0, "duplicates": 0, "quarantined": 0,
               "neighbours": 0, "track_points": 0, "towers": 0, "areas": 0, "outside_area": 0}
    areas = _areas_of(src, dst, area)
    if area is not None and (areas is None or len(areas) == 0):
        raise NothingToDo(f"Area {area} is not among the areas of either database.",
                          fix="Give a code listed by the areas layer, or copy without --area.")
    # A source that knows the area selects its samples itself (a PostGIS source in the database); one
    # that does not is cut by the polygon of the target's areas. Track points are cut by the polygon.
    selected = src.area(area) if area is not None else None
    outline = selected.boundary if selected is not None else _union(areas) if area is not None else None
    if areas is not None and len(areas):
        dst.write_layer("areas", _plain_areas(areas))
        summary["areas"] = len(areas)
    _copy_settings(src, dst, area)
    for rec in src.merges():
        if _already_there(dst, rec, area):
            summary["skipped"] += 1
            continue
        counts = _copy_one(src, dst, rec, area, outline, selected is not None, origin)
        if counts is None:  # nothing of this merge lies in the area
            summary["outside_area"] += 1
            continue
        for k, v in counts.items():
            summary[k] = summary.get(k, 0) + v
        summary["merges"] += 1
        say(f"{rec.source_file}: {counts['samples']} samples ({counts['added']} new)")
    return summary


def _copy_settings(src: Store, dst: Store, area: str | None) -> None:
    """The survey's settings (with its exclusion zones) go with its data: every village copy the
    source keeps (only the area's one with ``area``), and the source's own copy when the target
    has none."""
    from surveyor.store.survey import CODES_KEY, META_KEY

    codes = [c for c in (src.get_meta(CODES_KEY) or []) if area is None or c == area]
    known = list(dst.get_meta(CODES_KEY) or [])
    for code in codes:
        copy = src.get_meta(f"{META_KEY}:{code}")
        if copy is not None:
            dst.set_meta(f"{META_KEY}:{code}", copy)
            known += [code] if code not in known else []
    if codes:
        dst.set_meta(CODES_KEY, known)
    own = src.get_meta(f"{META_KEY}:{area}") if area is not None else src.get_meta(META_KEY)
    if own is not None and dst.get_meta(META_KEY) is None:
        dst.set_meta(META_KEY, own)


def _already_there(dst: Store, rec: MergeRecord, area: str | None) -> bool:
    for m in dst.find_merges(rec.content_hash):
        if m.source_file != rec.source_file:
            continue
        copied_area = (m.options or {}).get("copied_area")
        if copied_area is None or copied_area == area:
            return True
    return False


def _copy_one(src: Store, dst: Store, rec: MergeRecord, area: str | None, outline, src_selects: bool,
              origin: str) -> dict[str, int] | None:
    mid = int(rec.merge_id)
    cond = f"merge_id = {mid}"
    counts = {k: 0 for k in ("samples", "added", "duplicates", "quarantined", "neighbours", "track_points", "towers")}
    if area is None or src_selects:
        samples = src.read_samples(where=cond, area=area)
    else:
        samples = src.read_samples(where=cond)
        samples = samples[_inside(outline, samples["lat"], samples["lon"])]
    others = {layer: _plain(src.read_layer(layer, where=cond)) for layer in OTHER_LAYERS}
    if area is not None:
        nb = others["neighbours"]
        if len(nb):
            others["neighbours"] = nb[nb["sample_id"].isin(samples["sample_id"])]
        tr = others["tracks"]
        if len(tr):
            others["tracks"] = tr[_inside(outline, tr["lat"], tr["lon"])]
        if not len(samples) and not len(others["tracks"]) and not len(others["towers"]):
            return None
    with dst.writer_lock():
        dst.cleanup_unfinished()
        if _already_there(dst, rec, area):  # another copy of the same merge won the race
            return counts
        new_id = dst.new_merge_id()
        if len(samples):
            samples = samples.assign(merge_id=new_id)
            stored = dst.existing_sample_ids(samples["sample_id"].to_numpy())
            new = samples[~stored & ~samples["sample_id"].duplicated().to_numpy()]
            counts["samples"] = len(samples)
            counts["added"] = len(new)
            counts["duplicates"] = int(len(samples) - len(new))
            dst.append("samples", sample_table(new))
        for layer, df in others.items():
            if len(df):
                dst.append(layer, df.assign(merge_id=new_id))
        counts["quarantined"] = len(others["quarantine"])
        counts["neighbours"] = len(others["neighbours"])
        counts["track_points"] = len(others["tracks"])
        counts["towers"] = len(others["towers"])
        options = dict(rec.options or {})
        options["copied_from"] = {"db": origin, "merge_id": mid}
        options["copied_area"] = area
        dst.commit_merge(MergeRecord(merge_id=new_id, source_file=rec.source_file, content_hash=rec.content_hash,
                                     format=rec.format, merged_at=rec.merged_at, counts=dict(rec.counts),
                                     options=options))
    return counts


def _plain(df) -> pd.DataFrame:
    """A layer as a plain frame: geometry dropped (point layers are rebuilt from lat/lon)."""
    if df is None or len(df) == 0:
        return pd.DataFrame()
    import geopandas as gpd

    out = pd.DataFrame(df.drop(columns=[df.geometry.name])) if isinstance(df, gpd.GeoDataFrame) else pd.DataFrame(df)
    return out.drop(columns=[c for c in ("fid",) if c in out.columns])


def _inside(polygon, lat: pd.Series, lon: pd.Series):
    import numpy as np
    import shapely

    la = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo)
    out = np.zeros(len(la), dtype=bool)
    if ok.any():
        out[ok] = shapely.intersects_xy(polygon, lo[ok], la[ok])
    return out


def _union(areas):
    import shapely

    return shapely.union_all([g for g in areas.geometry if g is not None])


def _areas_of(src: Store, dst: Store, area: str | None):
    """The areas to copy: all of the source's, or what ``area`` selects (in the source, else in the
    target)."""
    from surveyor.geo.areas import area_rows

    table = src.read_layer("areas")
    if area is None:
        return table if len(table) else None
    for have in (table, dst.read_layer("areas")):
        if len(have) and "code" in have.columns:
            picked = area_rows(have, area)
            if len(picked):
                return picked
    return None


def _plain_areas(areas):
    """Areas with only the columns of the layer (a PostGIS read carries none else; a GeoPackage may)."""
    import geopandas as gpd

    keep = [c for c in ("code", "name", "level", "parent_code") if c in areas.columns]
    return gpd.GeoDataFrame(pd.DataFrame(areas[keep]), geometry=areas.geometry.values, crs="EPSG:4326")
