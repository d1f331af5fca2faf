"""The store interface shared by the GeoPackage and PostGIS backends.

Layers (docs/layers.md):

- ``samples`` points, EPSG:4326, the fields of :data:`surveyor.model.ALL_FIELDS`.
- ``quarantine`` every rejected row: merge_id, source_file, line, raw, reason, message.
- ``merges`` one row per merged source (see :class:`MergeRecord`). Rows of other layers carry the
  ``merge_id`` of the merge that wrote them, and a merge becomes visible only when its ``merges``
  row is written; rows of a merge that was killed midway stay invisible and are deleted by the next
  writer (:meth:`Store.cleanup_unfinished`).
- ``sessions`` one row per session, derived from the samples after every change.
- ``neighbours`` neighbour-cell measurements, each tied to the ``sample_id`` of its serving sample.
- ``tracks`` GPS track points (time, lat, lon, accuracy_m, altitude_m, device, source_file).
- ``towers`` cell positions estimated by OpenCelliD and similar lists.
- ``areas`` village and dusun boundaries with codes (polygons). An **area code** selects the area
  itself and everything inside it (:func:`surveyor.geo.areas.area_rows`); :meth:`Store.area` says
  what a code selects, and ``read_samples(area=CODE)`` reads the samples inside its polygon.
- ``cells``, ``dead_zones``, ``sites`` the analysis layers, replaced by every ``surveyor analyze``.
- ``contours`` (from ``surveyor dem import``), ``towers_manual`` (``surveyor towers add``) and
  ``site_proposals`` (``surveyor sites``): the terrain layers (docs/terrain.md).
- ``roads``, ``buildings``, ``water``, ``places``, ``facilities`` the basemap from OpenStreetMap
  (:data:`BASEMAP_FIELDS`), replaced as a whole by every ``surveyor basemap import``/``fetch``
  together with the ``meta`` key ``basemap`` (source, time, ODbL attribution, counts).
- ``meta`` key/value: schema_version, analysis rules and time.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from surveyor.geo.areas import Area

SCHEMA_VERSION = 1

LAYERS = ("samples", "quarantine", "merges", "sessions", "neighbours", "tracks", "towers", "areas",
          "cells", "dead_zones", "sites", "contours", "towers_manual", "site_proposals",
          "roads", "buildings", "water", "places", "facilities")

# Columns of the non-sample layers written at merge time: name -> type ("str","int","float","time").
QUARANTINE_FIELDS = {"merge_id": "int", "source_file": "str", "line": "int", "raw": "str",
                     "reason": "str", "message": "str"}
NEIGHBOUR_FIELDS = {"merge_id": "int", "sample_id": "int", "time": "time", "operator": "str",
                    "mcc": "int", "mnc": "int", "tech": "str", "cell_id": "int", "lac": "int",
                    "tac": "int", "pci": "int", "arfcn": "int", "rsrp_dbm": "float", "rsrq_db": "float",
                    "sinr_db": "float", "rssi_dbm": "float", "rscp_dbm": "float", "ecno_db": "float",
                    "source_line": "int"}
TRACK_FIELDS = {"merge_id": "int", "time": "time", "lat": "float", "lon": "float",
                "accuracy_m": "float", "altitude_m": "float", "speed_kmh": "float", "device": "str",
                "source_file": "str", "source_line": "int"}
TOWER_FIELDS = {"merge_id": "int", "radio": "str", "operator": "str", "mcc": "int", "mnc": "int",
                "area": "int", "cell": "int", "unit": "int", "lat": "float", "lon": "float",
                "range_m": "float", "samples": "int", "changeable": "int", "created": "time",
                "updated": "time", "average_signal_dbm": "float", "source": "str"}
SESSION_FIELDS = {"session": "str", "device": "str", "device_model": "str", "volunteer": "str",
                  "route": "str", "operators": "str", "first": "time", "last": "time", "samples": "int",
                  "placed": "int", "source_format": "str"}

# The basemap layers (EPSG:4326, from OpenStreetMap): columns, and the geometry type of each layer.
# ``osm_type`` (node, way, relation) and ``osm_id`` together name the OpenStreetMap element.
BASEMAP_FIELDS = {
    "roads": {"osm_type": "str", "osm_id": "int", "class": "str", "highway": "str", "name": "str"},
    "buildings": {"osm_type": "str", "osm_id": "int", "building": "str", "name": "str"},
    "water": {"osm_type": "str", "osm_id": "int", "kind": "str", "name": "str"},
    "places": {"osm_type": "str", "osm_id": "int", "place": "str", "name": "str"},
    "facilities": {"osm_type": "str", "osm_id": "int", "kind": "str", "tag": "str", "name": "str"},
}
# water holds river and stream lines and lake and riverbank polygons in one layer.
BASEMAP_GEOMETRY = {"roads": "MultiLineString", "buildings": "MultiPolygon", "water": "Geometry",
                    "places": "Point", "facilities": "Point"}

MERGE_COUNT_KEYS = ("read", "added", "duplicates", "quarantined", "neighbours", "track_points", "towers")


@dataclass
class MergeRecord:
    """One merged source. ``counts`` has the keys of :data:`MERGE_COUNT_KEYS`."""

    merge_id: int
    source_file: str
    content_hash: str
    format: str
    merged_at: str
    counts: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreStatus:
    """What a store holds: the summary of ``surveyor status`` (:meth:`to_dict` is its ``--json``).

    Times are ISO 8601 UTC text (``first``, ``last`` of the samples; ``analysed_at``); the
    ``by_*`` counts are ordered from the most frequent. ``area`` is the area code the status was
    limited to, if any.
    """

    db: str
    samples: int = 0
    by_operator: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_source_format: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    devices: int = 0
    days: int = 0
    first: str | None = None
    last: str | None = None
    unplaced: int = 0
    quarantined: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    merges: int = 0
    neighbours: int = 0
    track_points: int = 0
    towers: int = 0
    analysed_at: str | None = None
    area: str | None = None

    def __post_init__(self) -> None:
        # Databases hand back their own integer types (and None for a sum over no rows).
        for f in ("samples", "sessions", "devices", "days", "unplaced", "quarantined", "merges", "neighbours",
                  "track_points", "towers"):
            object.__setattr__(self, f, int(getattr(self, f) or 0))
        for f in ("by_operator", "by_kind", "by_source_format", "quarantine_by_reason"):
            object.__setattr__(self, f, {str(k) if k is not None else None: int(v)
                                         for k, v in getattr(self, f).items()})

    def to_dict(self) -> dict[str, Any]:
        """The keys of ``surveyor status --json`` (``area`` only when the status is of one area)."""
        d = asdict(self)
        if d["area"] is None:
            del d["area"]
        return d


class Store(abc.ABC):
    """What every backend offers. Methods take and return pandas/geopandas objects."""

    url: str
    # Whether the analysis can count the evidence inside the database (surveyor.analyse.sql: the
    # effective-sample walk and the per-cell counts in SQL); otherwise the samples are read.
    counts_in_database: bool = False

    # -- writing merges -------------------------------------------------------------------------
    @abc.abstractmethod
    def writer_lock(self) -> AbstractContextManager:
        """Exclusive lock held while one source is merged, removed or analysed into the store."""

    @abc.abstractmethod
    def cleanup_unfinished(self) -> int:
        """Delete rows whose merge has no ``merges`` row (a merge killed midway); returns rows deleted."""

    @abc.abstractmethod
    def find_merges(self, content_hash: str) -> list[MergeRecord]:
        """Completed merges of a source with this content hash."""

    @abc.abstractmethod
    def new_merge_id(self) -> int:
        """A merge_id not used by any row yet (rows written with it stay invisible until commit)."""

    def has_samples(self, other_than_merge: int | None = None) -> bool:
        """Whether any sample is stored (other than those of one merge). Backends may answer cheaply;
        True is always a safe answer (it only costs a lookup per batch)."""
        return True

    @abc.abstractmethod
    def existing_sample_ids(self, sample_ids) -> Any:
        """Boolean numpy array: which of these sample_ids are stored already."""

    @abc.abstractmethod
    def append(self, layer: str, rows) -> None:
        """Append rows to ``samples``, ``quarantine``, ``neighbours``, ``tracks`` or ``towers``.

        For ``samples``, ``rows`` is one typed Arrow table of the samples layer's schema
        (:data:`surveyor.store._arrow.SAMPLE_SCHEMA`, made by :func:`surveyor.store._arrow.sample_table`):
        its ``geom`` (WKB points, null for unplaced samples) and the sample fields; columns that are
        empty in a batch may be left out. For the other layers it is a pandas DataFrame with the
        layer's columns (missing ones are null); point layers take their geometry from
        ``lat``/``lon``. Every row carries the ``merge_id`` of its merge.
        """

    def bulk_load(self, merge_id: int) -> AbstractContextManager:
        """Context around the appends of one merge, for backends that index faster in bulk."""
        from contextlib import nullcontext

        return nullcontext()

    @abc.abstractmethod
    def commit_merge(self, record: MergeRecord, sessions=None) -> None:
        """Write the ``merges`` row: from now on the merge's rows are visible. Refreshes sessions.

        ``sessions``, when given, holds the merge's own per-session aggregates (the columns of
        ``SESSION_FIELDS`` plus ``session``), which a backend may fold in instead of rescanning.
        """

    @abc.abstractmethod
    def delete_merges(self, merge_ids: list[int]) -> dict[str, int]:
        """Remove these merges and every row they wrote; returns rows removed per layer."""

    @abc.abstractmethod
    def delete_samples(self, *, session: str | None = None, device: str | None = None) -> int:
        """Remove the samples (and their neighbours) of one session or device; returns samples removed."""

    @abc.abstractmethod
    def update_positions(self, df) -> int:
        """Place unplaced samples: ``df`` has sample_id, lat, lon, accuracy_m, placed_by, h3_10."""

    # -- reading --------------------------------------------------------------------------------
    @abc.abstractmethod
    def read_samples(self, columns: list[str] | None = None, where: str | None = None, *,
                     area: str | None = None):
        """Visible samples as a pandas DataFrame (no geometry column; ``lat``/``lon`` are there).

        ``where`` is an SQL condition on sample columns, e.g. ``"operator = 'Telkomsel'"``;
        ``area`` an area code: only the samples inside the polygon of what it selects
        (:meth:`area`), none when it selects nothing.
        """

    def area(self, code: str) -> Area | None:
        """What an area code selects in this store's ``areas`` layer: the area itself and every area
        inside it, with their codes and united polygon (:func:`surveyor.geo.areas.find_area`);
        None when no area has that code or lies inside it."""
        from surveyor.geo.areas import find_area

        return find_area(self.read_layer("areas"), str(code))

    @abc.abstractmethod
    def read_layer(self, layer: str, where: str | None = None):
        """Any other layer: a GeoDataFrame for spatial layers, a DataFrame otherwise; empty when absent."""

    @abc.abstractmethod
    def write_layer(self, layer: str, gdf) -> None:
        """Replace a whole analysis layer (``cells``, ``dead_zones``, ``sites``), or add ``areas``.

        ``areas`` rows replace the stored rows of the same codes and keep the others, so areas
        copied from several villages add up.
        """

    @abc.abstractmethod
    def replace_layers(self, layers: dict[str, Any], meta: dict[str, Any]) -> None:
        """Replace several whole layers and set ``meta`` keys, all in one transaction.

        ``layers`` maps a layer name (not one written by merge) to a GeoDataFrame in EPSG:4326;
        ``meta`` maps keys to JSON-serialisable values. Either everything is replaced or, when
        anything fails, nothing is: readers never see a mix of old and new layers.
        """

    @abc.abstractmethod
    def merges(self) -> list[MergeRecord]:
        """Every completed merge, oldest first."""

    @abc.abstractmethod
    def get_meta(self, key: str, default: Any = None) -> Any:
        """A JSON value from the ``meta`` table."""

    @abc.abstractmethod
    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value in the ``meta`` table."""

    @abc.abstractmethod
    def status(self, *, area: str | None = None) -> StoreStatus:
        """What the store holds (``surveyor status``), or (``area``, the code and everything inside
        it) what it holds of one area: its samples, sessions, devices, days and time span."""

    def read_samples_chunks(self, columns: list[str] | None = None, where: str | None = None, *,
                            chunk_rows: int = 200_000, area: str | None = None,
                            order_by: str | None = None) -> Iterator[pd.DataFrame]:
        """Samples in DataFrames of at most ``chunk_rows`` rows (``where`` an SQL condition the
        backend understands, ``order_by`` columns to sort by). This default reads them all and
        hands them out in slices, which suits a village's GeoPackage; a district's server streams
        them (:class:`surveyor.store.postgis.PostgisStore`)."""
        df = self.read_samples(columns=columns, where=where, area=area)
        if order_by:
            keys = [k.strip() for k in order_by.split(",") if k.strip() in df.columns]
            df = df.sort_values(keys, kind="stable") if keys else df
        for start in range(0, len(df), chunk_rows):
            yield df.iloc[start:start + chunk_rows].reset_index(drop=True)

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
