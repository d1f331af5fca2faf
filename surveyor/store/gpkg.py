"""The GeoPackage store (the default): one ``.gpkg`` file that opens in QGIS, GDAL and ArcGIS.

Point layers are written by pyogrio as Arrow (about three times faster than feature by feature);
attribute tables and small updates go through ``sqlite3``. GDAL's R-tree triggers call
``ST_IsEmpty``/``ST_MinX``..., which plain SQLite lacks, so this module registers them on its own
connections before it updates a geometry.

Writers hold an exclusive inter-process lock while they merge or remove. The lock lives in the
database itself (a ``writer_lock`` row of ``meta`` naming the holder: host, process and its start
time), so every process that writes this file sees it, whatever its temporary folder and whatever
path (a symbolic or a hard link) it opened the file by; a holder that died (kill -9, power loss)
is recognised as gone and its lock taken over. Merge ids come from a counter in ``meta``, raised
in one SQLite transaction. Readers never block: they see only rows of merges whose ``merges`` row
exists.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import struct
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveyor.errors import NothingToDo, StoreError
from surveyor.model import ALL_FIELDS
from surveyor.store import rtree
from surveyor.store._arrow import arrow_schema, check_samples, drop_empty_columns, frame_to_arrow
from surveyor.store.base import (
    MERGE_COUNT_KEYS,
    NEIGHBOUR_FIELDS,
    QUARANTINE_FIELDS,
    SCHEMA_VERSION,
    SESSION_FIELDS,
    TOWER_FIELDS,
    TRACK_FIELDS,
    MergeRecord,
    Store,
    StoreStatus,
)
from surveyor.store.sessions import combine_sessions

log = logging.getLogger(__name__)

POINT_LAYERS = {"samples": ALL_FIELDS, "tracks": TRACK_FIELDS, "towers": TOWER_FIELDS}
ATTRIBUTE_TABLES = {
    "quarantine": QUARANTINE_FIELDS,
    "neighbours": NEIGHBOUR_FIELDS,
    "sessions": SESSION_FIELDS,
    "merges": {"merge_id": "int", "source_file": "str", "content_hash": "str", "format": "str",
               "merged_at": "str", **{k: "int" for k in MERGE_COUNT_KEYS}, "options": "str"},
    "meta": {"key": "str", "value": "str"},
}
_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "str": "TEXT", "bool": "BOOLEAN", "time": "DATETIME"}
VISIBLE = "merge_id IN (SELECT merge_id FROM merges)"
# The unique sample_id index is what makes merges idempotent. samples has no merge_id index (an
# older version made one; bulk_load drops it): rows of an unfinished merge are found by fid instead,
# as they come after the last fid of the last finished merge (meta ``samples_committed_fid``).
SAMPLE_INDEXES = (("samples_sample_id", "CREATE UNIQUE INDEX samples_sample_id ON samples (sample_id)"),)
COMMITTED_FID = "samples_committed_fid"
PACK_MAX_ROWS = 4_000_000
SEQUENCE_SQL = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'samples'), 0)"
RTREE = "rtree_samples_geom"
RTREE_TRIGGERS_SQL = ("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'samples' "
                      "AND name LIKE 'rtree_samples_geom_%'")
# R-tree rows from the lat/lon columns (the geometry is built from them), in space order: an R-tree
# takes rows that arrive near each other much faster than rows in random order.
RTREE_FILL = (f"INSERT OR REPLACE INTO {RTREE} SELECT fid, lon, lon, lat, lat FROM samples "
              "WHERE geom IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL {cond} ORDER BY round(lat, 3), lon")


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- GeoPackage geometry helpers for sqlite3 --------------------------------------------------

def _gpkg_wkb(blob: bytes | None) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (header 'GP', version, flags, srs, envelope)."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    envelope_len = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((flags >> 1) & 0x07, 0)
    return blob[8 + envelope_len:]


def _is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    return 1 if (len(blob) > 3 and blob[3] & 0x10) else 0


def _bound(index: int, pick):
    def fn(blob: bytes | None) -> float | None:
        wkb = _gpkg_wkb(blob)
        if not wkb:
            return None
        import shapely

        b = shapely.from_wkb(wkb).bounds
        return pick(b[index]) if b and not np.isnan(b[index]) else None
    return fn


def gpkg_point_blob(lon: float, lat: float, srs_id: int = 4326) -> bytes:
    """A GeoPackage point blob (little-endian, no envelope)."""
    return b"GP\x00\x01" + struct.pack("<i", srs_id) + struct.pack("<BIdd", 1, 1, lon, lat)


WRITER_LOCK = "writer_lock"
LAST_MERGE_ID = "last_merge_id"
LOCK_WAIT_S = 3600.0


def _start_time(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc), to tell it from a later
    process that got the same id; None where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _holder() -> dict:
    import socket

    return {"host": socket.gethostname(), "boot": _boot_id(), "pid": os.getpid(),
            "started": _start_time(os.getpid()), "nonce": os.urandom(6).hex()}


def _alive(holder: dict) -> bool:
    """Whether the process that holds the lock still runs (a holder on another machine, which
    cannot be looked at, counts as running)."""
    import socket

    if holder.get("host") != socket.gethostname():
        return True
    if holder.get("boot") and _boot_id() and holder["boot"] != _boot_id():
        return False  # the machine was restarted since
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    started = _start_time(pid)
    if started is not None or holder.get("started") is not None:
        return started is not None and started == holder.get("started")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=120, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 120000")
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    con.create_function("ST_MinX", 1, _bound(0, float), deterministic=True)
    con.create_function("ST_MinY", 1, _bound(1, float), deterministic=True)
    con.create_function("ST_MaxX", 1, _bound(2, float), deterministic=True)
    con.create_function("ST_MaxY", 1, _bound(3, float), deterministic=True)
    return con


class GeoPackageStore(Store):
    """A survey geodatabase in one GeoPackage file."""

    _bulk: _Bulk | None = None

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = str(path)
        self.url = self.path
        self._lock_depth = 0  # the writer lock is reentrant within one store object
        self._lock_token: str | None = None
        p = Path(self.path)
        if not p.exists() or p.stat().st_size == 0:
            if not create:
                raise NothingToDo(f"No geodatabase at {self.path}.",
                                  fix="Merge data first: `surveyor merge FILES --db " + self.path + "`.")
            if not p.parent.exists():
                raise StoreError(f"Cannot create {self.path}: folder {p.parent} does not exist.",
                                 fix="Create the folder or give another --db.")
            self._create()
        self._check_version()

    # -- creation -------------------------------------------------------------------------------
    def _create(self) -> None:
        import pyogrio

        # A name of this process's own: two processes creating the same database at once each
        # build one, and the first to link it into place wins (the other's is thrown away).
        tmp = f"{self.path}.creating-{os.getpid()}-{os.urandom(4).hex()}.gpkg"
        try:
            for layer, fields in POINT_LAYERS.items():
                schema = arrow_schema(fields)
                pyogrio.write_arrow(schema.empty_table(), tmp, layer=layer, driver="GPKG",
                                    geometry_name="geom", geometry_type="Point", crs="EPSG:4326",
                                    append=os.path.exists(tmp))
            con = _connect(tmp)
            try:
                con.execute("BEGIN")
                for table, fields in ATTRIBUTE_TABLES.items():
                    cols = ", ".join(f'"{n}" {_SQL_TYPES[t]}' for n, t in fields.items())
                    con.execute(f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {cols})')
                    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, last_change) "
                                "VALUES (?, 'attributes', ?, ?)", (table, table, _now_iso()))
                for _, sql in SAMPLE_INDEXES:
                    con.execute(sql)
                con.execute("CREATE INDEX samples_unplaced ON samples (placed_by) WHERE placed_by IS NULL")
                con.execute("CREATE UNIQUE INDEX merges_merge_id ON merges (merge_id)")
                con.execute("CREATE INDEX merges_hash ON merges (content_hash)")
                for t in ("quarantine", "neighbours", "tracks", "towers"):
                    con.execute(f'CREATE INDEX "{t}_merge_id" ON "{t}" (merge_id)')
                con.execute("CREATE INDEX tracks_time ON tracks (time)")
                con.execute("CREATE UNIQUE INDEX meta_key ON meta (key)")
                con.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                            (json.dumps(SCHEMA_VERSION),))
                con.execute("INSERT INTO meta (key, value) VALUES ('created_at', ?)", (json.dumps(_now_iso()),))
                con.execute("INSERT INTO meta (key, value) VALUES (?, '0')", (COMMITTED_FID,))
                triggers = con.execute(RTREE_TRIGGERS_SQL).fetchall()
                con.execute("INSERT INTO meta (key, value) VALUES ('rtree_triggers', ?)", (json.dumps(triggers),))
                con.execute("COMMIT")
            finally:
                con.close()
            # Linked into place atomically, so a killed `init` never leaves a half-made database
            # behind, and a database another process made meanwhile is never replaced.
            if os.path.exists(self.path) and os.path.getsize(self.path) == 0:
                os.replace(tmp, self.path)
            else:
                with suppress(FileExistsError):
                    os.link(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _check_version(self) -> None:
        try:
            version = self.get_meta("schema_version")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a surveyor geodatabase ({exc}).",
                             fix="Give the right --db, or start a new one with `surveyor init`.") from None
        if version is None:
            raise StoreError(f"{self.path} is a GeoPackage but not a surveyor geodatabase (no meta table).",
                             fix="Give the right --db, or merge into a new file.")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer surveyor (schema {version}, this one "
                             f"knows {SCHEMA_VERSION}).", fix="Upgrade surveyor: pip install -U surveyor.")

    # -- locking ----------------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """The inter-process writer lock, held in the database; reentrant within one store object."""
        if self._lock_depth == 0:
            self._acquire_lock()
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self._release_lock()

    def _acquire_lock(self, wait_s: float = LOCK_WAIT_S) -> None:
        import time

        me = _holder()
        token = json.dumps(me, sort_keys=True)
        start = time.monotonic()
        told = False
        pause = 0.02
        while True:
            with self._sql() as con:
                con.execute("BEGIN IMMEDIATE")
                row = con.execute("SELECT value FROM meta WHERE key = ?", (WRITER_LOCK,)).fetchone()
                holder = json.loads(row[0]) if row else None
                if holder is None or not _alive(holder):
                    con.execute("DELETE FROM meta WHERE key = ?", (WRITER_LOCK,))
                    con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (WRITER_LOCK, token))
                    con.execute("COMMIT")
                    if holder is not None:
                        log.warning("took over the writer lock of a process that is gone (%s)", holder)
                    self._lock_token = token
                    return
                con.execute("COMMIT")
            waited = time.monotonic() - start
            if waited > wait_s:
                raise StoreError(f"{self.path} is locked by another surveyor process (process {holder.get('pid')} "
                                 f"on {holder.get('host')}).",
                                 fix="Wait for the other merge to finish, then run this again.")
            if not told and waited > 2:
                log.warning("waiting for another surveyor writer on %s", self.path)
                told = True
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _release_lock(self) -> None:
        token, self._lock_token = self._lock_token, None
        if token is None:
            return
        with suppress(sqlite3.Error), self._sql() as con:
            con.execute("DELETE FROM meta WHERE key = ? AND value = ?", (WRITER_LOCK, token))

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        con = _connect(self.path)
        try:
            yield con
        finally:
            con.close()

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own connection (:meth:`_sql`)."""

    # -- merges -----------------------------------------------------------------------------------
    @contextmanager
    def bulk_load(self, merge_id: int) -> Iterator[None]:
        """Append a merge's samples without per-row R-tree triggers, then index them in one pass.

        GDAL maintains a GeoPackage's spatial index with triggers, one R-tree insert per row, which
        is most of the cost of appending to an existing layer. The triggers are dropped for the
        merge and restored after; a merge killed in between leaves them missing, which the next
        writer notices (:meth:`cleanup_unfinished`) and repairs by rebuilding the index.
        """
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            for name, _ in con.execute(RTREE_TRIGGERS_SQL).fetchall():
                con.execute(f'DROP TRIGGER "{name}"')
            con.execute('DROP INDEX IF EXISTS "samples_merge_id"')
            # Into an empty table (a first import), the indexes are built once at the end, which is
            # several times faster than keeping them up row by row. The merge then checks for
            # duplicates in memory (there is nothing else to be a duplicate of).
            empty = not con.execute("SELECT EXISTS (SELECT 1 FROM samples)").fetchone()[0]
            if empty:
                for name, _ in SAMPLE_INDEXES:
                    con.execute(f'DROP INDEX IF EXISTS "{name}"')
            start_fid = int(con.execute(SEQUENCE_SQL).fetchone()[0])
            con.execute("COMMIT")
        self._bulk = _Bulk(merge_id=merge_id, start_fid=start_fid, last_fid=start_fid, empty=empty)
        try:
            yield
        finally:
            bulk, self._bulk = self._bulk, None
            self._finish_bulk(bulk)

    def _finish_bulk(self, bulk: _Bulk) -> None:
        """Indexes back after a bulk load: the unique sample_id index, then the R-tree, either
        filled with the merge's rows or, when they are most of the table, packed anew."""
        total = bulk.added
        if not bulk.empty:
            with self._sql() as con:
                total = int(con.execute("SELECT count(*) FROM samples").fetchone()[0])
        # Packing holds every position in memory (about 100 bytes a sample while it runs); past
        # PACK_MAX_ROWS the index is filled by SQLite instead, slower but in flat memory.
        pack = max(50_000, total // 2) <= bulk.added and total <= PACK_MAX_ROWS
        positions = None  # (fid, lon, lat) when packing
        if pack:
            positions = bulk.positions()
            if positions is None:
                positions = self._positions()
            elif not bulk.empty:
                # Read before the write transaction: GDAL reads on its own connection.
                old = self._positions(f"fid <= {bulk.start_fid}")
                fid, lon, lat = (np.concatenate([a, b]) for a, b in zip(old, positions))
                positions = (fid, lon, lat)
        with self._sql() as con:
            con.execute("PRAGMA cache_size = -65536")  # 64 MB for building the indexes
            con.execute("BEGIN IMMEDIATE")
            if positions is not None:  # packing
                from concurrent.futures import ThreadPoolExecutor

                # The R-tree is planned (numpy) while SQLite builds the sample_id index: both let
                # go of the GIL, so a laptop's second core does one while the first does the other.
                with ThreadPoolExecutor(max_workers=1) as pool:
                    image = pool.submit(rtree.plan, *positions, rtree.node_size(con, RTREE))
                    self._restore_indexes(con)
                    rtree.write(con, RTREE, image.result())
            else:
                self._restore_indexes(con)
                con.execute(RTREE_FILL.format(cond="AND fid > ? AND merge_id = ?"), (bulk.start_fid, bulk.merge_id))
            self._restore_triggers(con)
            con.execute("COMMIT")

    def _pack_rtree(self) -> None:
        """Rebuild the samples' spatial index from scratch and put its triggers back."""
        with self._sql() as con:
            large = con.execute("SELECT count(*) FROM samples").fetchone()[0] > PACK_MAX_ROWS
        # Positions are read before the write transaction: GDAL opens its own connection.
        positions = None if large else self._positions()
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            if positions is None:  # too many to hold in memory: SQLite fills it, in flat memory
                con.execute(f'DELETE FROM "{RTREE}"')
                con.execute(RTREE_FILL.format(cond=""))
            else:
                rtree.rebuild(con, RTREE, *positions)
            self._restore_triggers(con)
            con.execute("COMMIT")

    def _positions(self, where: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """fid, lon, lat of every placed sample, as arrays (Arrow keeps a million rows small)."""
        import pyogrio

        cond = "geom IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL" + (f" AND {where}" if where else "")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ss]patial index.*")
            _, table = pyogrio.read_arrow(self.path, layer="samples", columns=["lon", "lat"], read_geometry=False,
                                          return_fids=True, where=cond)
        return (table.column("fid").to_numpy().astype(np.int64),
                table.column("lon").to_numpy(zero_copy_only=False).astype(np.float64),
                table.column("lat").to_numpy(zero_copy_only=False).astype(np.float64))

    @staticmethod
    def _restore_indexes(con: sqlite3.Connection) -> None:
        for _name, sql in SAMPLE_INDEXES:
            con.execute(sql.replace("INDEX ", "INDEX IF NOT EXISTS ", 1))

    def _restore_triggers(self, con: sqlite3.Connection) -> bool:
        """Recreate missing R-tree triggers; True when some were missing."""
        present = {name for name, _ in con.execute(RTREE_TRIGGERS_SQL).fetchall()}
        saved = json.loads(con.execute("SELECT value FROM meta WHERE key = 'rtree_triggers'").fetchone()[0])
        missing = [(name, sql) for name, sql in saved if name not in present]
        for _, sql in missing:
            con.execute(sql)
        return bool(missing)

    def cleanup_unfinished(self) -> int:
        """Delete rows of merges that never wrote their ``merges`` row.

        Merges run one at a time under the writer lock and each starts with this cleanup, so rows of
        an unfinished merge always carry a merge_id above every finished one.
        """
        deleted = 0
        unfinished = "merge_id > coalesce((SELECT max(merge_id) FROM merges), 0)"
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            self._restore_indexes(con)
            repair = self._restore_triggers(con)
            row = con.execute("SELECT value FROM meta WHERE key = ?", (COMMITTED_FID,)).fetchone()
            committed = int(json.loads(row[0])) if row else 0
            # fid > committed keeps this a look at the table's tail, not a scan of all samples.
            deleted += con.execute(f"DELETE FROM samples WHERE fid > ? AND {unfinished}", (committed,)).rowcount
            for t in ("quarantine", "neighbours", "tracks", "towers"):
                deleted += con.execute(f'DELETE FROM "{t}" WHERE {unfinished}').rowcount
            con.execute("COMMIT")
        if repair:
            # A merge died in bulk mode: rebuild the index from the rows that remain.
            log.warning("repaired the spatial index after a merge that did not finish")
            self._pack_rtree()
        if deleted:
            log.warning("removed %d rows of a merge that did not finish", deleted)
        return deleted

    def find_merges(self, content_hash: str) -> list[MergeRecord]:
        return [m for m in self.merges() if m.content_hash == content_hash]

    def new_merge_id(self) -> int:
        """A merge id no other merge has or will get: the counter in ``meta`` raised in one
        transaction (and never below an id already in the tables)."""
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            # The last sample by fid carries the newest merge_id that wrote samples.
            row = con.execute("SELECT max(m) FROM (SELECT max(merge_id) AS m FROM merges UNION ALL "
                              "SELECT merge_id FROM samples WHERE fid = (SELECT max(fid) FROM samples) UNION ALL "
                              "SELECT max(merge_id) FROM quarantine UNION ALL "
                              "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?)", (LAST_MERGE_ID,)).fetchone()
            new = int(row[0] or 0) + 1
            con.execute("DELETE FROM meta WHERE key = ?", (LAST_MERGE_ID,))
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (LAST_MERGE_ID, json.dumps(new)))
            con.execute("COMMIT")
        return new

    def has_samples(self, other_than_merge: int | None = None) -> bool:
        with self._sql() as con:
            row = con.execute("SELECT EXISTS (SELECT 1 FROM samples WHERE merge_id IS NOT ?)",
                              (other_than_merge,)).fetchone()
        return bool(row[0])

    def existing_sample_ids(self, sample_ids) -> np.ndarray:
        ids = np.asarray(sample_ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros(0, dtype=bool)
        with self._sql() as con:
            found = con.execute("SELECT sample_id FROM samples WHERE sample_id IN "
                                "(SELECT value FROM json_each(?))", (json.dumps(ids.tolist()),)).fetchall()
        return np.isin(ids, np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found)))

    def append(self, layer: str, rows) -> None:
        if layer == "samples":
            check_samples(rows)
        if len(rows) == 0:
            return
        if layer in POINT_LAYERS:
            import pyogrio

            table = drop_empty_columns(rows if layer == "samples" else frame_to_arrow(rows, POINT_LAYERS[layer]))
            with warnings.catch_warnings():
                # During bulk_load GDAL sees an R-tree behind the table and says so; it is rebuilt after.
                warnings.filterwarnings("ignore", message=".*[Ss]patial index.*")
                pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": "256"})  # MB of page cache for the write
                try:
                    pyogrio.write_arrow(table, self.path, layer=layer, driver="GPKG", geometry_name="geom",
                                        geometry_type="Point", crs="EPSG:4326", append=True)
                finally:
                    pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": None})
            if layer == "samples" and self._bulk is not None:
                with self._sql() as con:
                    last = int(con.execute(SEQUENCE_SQL).fetchone()[0])
                self._bulk.wrote(table, last)
            return
        fields = ATTRIBUTE_TABLES[layer]
        table = frame_to_arrow(rows, fields, geometry=False)
        rows = list(zip(*(_sqlite_values(table.column(n)) for n in fields)))
        cols = ", ".join(f'"{n}"' for n in fields)
        marks = ", ".join("?" for _ in fields)
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(f'INSERT INTO "{layer}" ({cols}) VALUES ({marks})', rows)
            con.execute("COMMIT")

    def commit_merge(self, record: MergeRecord, sessions: pd.DataFrame | None = None) -> None:
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "INSERT INTO merges (merge_id, source_file, content_hash, format, merged_at, "
                + ", ".join(MERGE_COUNT_KEYS) + ", options) VALUES (?, ?, ?, ?, ?, "
                + ", ".join("?" for _ in MERGE_COUNT_KEYS) + ", ?)",
                (record.merge_id, record.source_file, record.content_hash, record.format, record.merged_at,
                 *(int(record.counts.get(k, 0)) for k in MERGE_COUNT_KEYS), json.dumps(record.options)))
            if sessions is None:
                self._refresh_sessions(con)
            else:
                self._add_sessions(con, sessions)
            con.execute("DELETE FROM meta WHERE key = ?", (COMMITTED_FID,))
            con.execute(f"INSERT INTO meta (key, value) SELECT ?, ({SEQUENCE_SQL})", (COMMITTED_FID,))
            con.execute("COMMIT")

    def _add_sessions(self, con: sqlite3.Connection, new: pd.DataFrame) -> None:
        """Fold one merge's per-session aggregates into the sessions table (no rescan of samples)."""
        if len(new) == 0:
            return
        keys = [str(k) for k in new["session"]]
        marks = ",".join("?" for _ in keys)
        old = pd.read_sql_query(f"SELECT * FROM sessions WHERE session IN ({marks})", con, params=keys)
        if len(old):
            old = old.drop(columns=["fid"])
            old["first"] = pd.to_datetime(old["first"], utc=True, format="ISO8601")
            old["last"] = pd.to_datetime(old["last"], utc=True, format="ISO8601")
            both = pd.concat([old, new], ignore_index=True)
            new = combine_sessions(both)
            con.execute(f"DELETE FROM sessions WHERE session IN ({marks})", keys)
        fields = list(SESSION_FIELDS)
        table = frame_to_arrow(new, SESSION_FIELDS, geometry=False)
        rows = list(zip(*(_sqlite_values(table.column(n)) for n in fields)))
        con.executemany(f"INSERT INTO sessions ({', '.join(chr(34) + f + chr(34) for f in fields)}) "
                        f"VALUES ({', '.join('?' for _ in fields)})", rows)

    def _refresh_sessions(self, con: sqlite3.Connection) -> None:
        con.execute("DELETE FROM sessions")
        con.execute(
            "INSERT INTO sessions (session, device, device_model, volunteer, route, operators, first, last, "
            "samples, placed, source_format) "
            "SELECT coalesce(session, '(none) ' || source_file), max(device), max(device_model), max(volunteer), "
            "max(route), group_concat(DISTINCT operator), min(time), max(time), count(*), "
            "sum(placed_by IS NOT NULL), max(source_format) "
            f"FROM samples WHERE {VISIBLE} GROUP BY coalesce(session, '(none) ' || source_file)")

    def delete_merges(self, merge_ids: list[int]) -> dict[str, int]:
        removed: dict[str, int] = {}
        if not merge_ids:
            return removed
        ids = json.dumps([int(i) for i in merge_ids])
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            for t in ("samples", "quarantine", "neighbours", "tracks", "towers", "merges"):
                removed[t] = con.execute(f'DELETE FROM "{t}" WHERE merge_id IN (SELECT value FROM json_each(?))',
                                         (ids,)).rowcount
            self._refresh_sessions(con)
            con.execute("COMMIT")
        return removed

    def delete_samples(self, *, session: str | None = None, device: str | None = None) -> int:
        if (session is None) == (device is None):
            raise ValueError("give exactly one of session, device")
        column, value = ("session", session) if session is not None else ("device", device)
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            n = con.execute(f"DELETE FROM samples WHERE {column} = ?", (value,)).rowcount
            con.execute("DELETE FROM neighbours WHERE sample_id NOT IN (SELECT sample_id FROM samples)")
            self._refresh_sessions(con)
            con.execute("COMMIT")
        return n

    def update_positions(self, df: pd.DataFrame) -> int:
        if len(df) == 0:
            return 0
        rows = [
            (float(r.lat), float(r.lon), None if pd.isna(r.accuracy_m) else float(r.accuracy_m), r.placed_by,
             None if pd.isna(r.h3_10) else int(r.h3_10), gpkg_point_blob(float(r.lon), float(r.lat)),
             int(r.sample_id))
            for r in df.itertuples(index=False)
        ]
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("UPDATE samples SET lat = ?, lon = ?, accuracy_m = ?, placed_by = ?, h3_10 = ?, "
                            "geom = ? WHERE sample_id = ?", rows)
            self._refresh_sessions(con)
            con.execute("COMMIT")
        return len(rows)

    # -- reading ----------------------------------------------------------------------------------
    def read_samples(self, columns: list[str] | None = None, where: str | None = None, *,
                     area: str | None = None) -> pd.DataFrame:
        import pyogrio

        cond = VISIBLE if not where else f"({VISIBLE}) AND ({where})"
        cols = list(columns) if columns is not None else list(ALL_FIELDS)
        read = list(cols)
        if area is not None:
            from surveyor.geo.areas import AreaIndex, find_area

            areas = self.read_layer("areas")
            selected = find_area(areas, area)
            if selected is None:
                cond = "1 = 0"  # the code selects nothing
            read += [c for c in ("lat", "lon") if c not in cols]
        _, table = pyogrio.read_arrow(self.path, layer="samples", columns=read, where=cond, read_geometry=False)
        df = _fix_types(_arrow_to_pandas(table), ALL_FIELDS)
        if area is not None and selected is not None and len(df):  # (no samples when nothing is selected)
            # Each sample belongs to the smallest area containing it, as the PostGIS store records it.
            at = AreaIndex.of(areas).codes_at(pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float),
                                              pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float))
            df = df[pd.Series(at).isin(selected.codes).to_numpy()].reset_index(drop=True)
        return df[cols] if area is not None else df

    def read_layer(self, layer: str, where: str | None = None):
        import pyogrio

        if layer == "samples":
            return self.read_samples(where=where)
        if layer not in self.layers():
            return pd.DataFrame()
        if layer in ATTRIBUTE_TABLES:
            with self._sql() as con:
                df = pd.read_sql_query(f'SELECT * FROM "{layer}"' + (f" WHERE {where}" if where else ""), con)
            return _fix_types(df.drop(columns=["fid"]), ATTRIBUTE_TABLES[layer])
        cond = where
        if layer in ("tracks", "towers"):
            cond = VISIBLE if not where else f"({VISIBLE}) AND ({where})"
        gdf = pyogrio.read_dataframe(self.path, layer=layer, where=cond, use_arrow=True)
        return _fix_types(gdf, POINT_LAYERS.get(layer, {}))

    def write_layer(self, layer: str, gdf) -> None:
        import pyogrio

        if layer in POINT_LAYERS or layer in ATTRIBUTE_TABLES:
            raise StoreError(f"Layer {layer} is written by merge, not replaced.")
        with self.writer_lock():
            if layer == "areas":
                gdf = self._with_other_areas(gdf)
            kwargs: dict[str, Any] = {}
            if len(gdf) == 0:
                kwargs["geometry_type"] = "Unknown"
            pyogrio.write_dataframe(gdf, self.path, layer=layer, driver="GPKG", **kwargs)

    def _with_other_areas(self, incoming):
        """The areas to write: ``incoming`` and the stored areas of other codes."""
        import geopandas as gpd

        have = self.read_layer("areas")
        if len(have) == 0 or "code" not in have.columns or len(incoming) == 0:
            return incoming
        keep = have[~have["code"].astype(str).isin(incoming["code"].astype(str))]
        if len(keep) == 0:
            return incoming
        columns = [c for c in incoming.columns if c != incoming.geometry.name]
        old = gpd.GeoDataFrame(pd.DataFrame({c: keep[c] if c in keep.columns else None for c in columns}),
                               geometry=keep.geometry.values, crs=keep.crs or "EPSG:4326")
        new = gpd.GeoDataFrame(pd.DataFrame(incoming[columns]), geometry=incoming.geometry.values,
                               crs=incoming.crs or "EPSG:4326")
        return gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs="EPSG:4326")

    def replace_layers(self, layers: dict[str, Any], meta: dict[str, Any]) -> None:
        """Replace whole layers and set meta keys in one SQLite transaction.

        GDAL writes one layer at a time, each in its own transaction, so the new layers are first
        written by pyogrio into a temporary GeoPackage beside the database. Then one transaction
        drops the old tables and copies the new ones in (table, rows, spatial index, triggers and
        the gpkg_* catalogue rows), together with the meta keys. A failure at any point before the
        commit leaves the old layers as they were; the temporary file is always removed.
        """
        import pyogrio

        from surveyor.store.base import BASEMAP_GEOMETRY

        for layer in layers:
            if layer in POINT_LAYERS or layer in ATTRIBUTE_TABLES or layer == "samples":
                raise StoreError(f"Layer {layer} is written by merge, not replaced.")
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".surveyor-layers-", suffix=".gpkg", dir=folder)
        os.close(fd)
        os.unlink(tmp)  # GDAL makes the file itself
        try:
            for layer, gdf in layers.items():
                kind = BASEMAP_GEOMETRY.get(layer) or ("Unknown" if len(gdf) == 0 else None)
                kwargs: dict[str, Any] = {"geometry_type": "Unknown" if kind == "Geometry" else kind} if kind else {}
                pyogrio.write_dataframe(gdf, tmp, layer=layer, driver="GPKG", **kwargs)
            with self.writer_lock(), self._sql() as con:
                con.execute("ATTACH DATABASE ? AS src", (tmp,))
                try:
                    con.execute("BEGIN IMMEDIATE")
                    try:
                        for layer in layers:
                            _transplant_layer(con, layer)
                        for key, value in meta.items():
                            con.execute("DELETE FROM meta WHERE key = ?", (key,))
                            con.execute("INSERT INTO meta (key, value) VALUES (?, ?)",
                                        (key, json.dumps(value, default=str)))
                        con.execute("COMMIT")
                    except BaseException:
                        con.execute("ROLLBACK")
                        raise
                finally:
                    con.execute("DETACH DATABASE src")
        except sqlite3.Error as exc:
            raise StoreError(f"Could not replace the layers {', '.join(layers)} in {self.path} ({exc}); "
                             "the old layers are unchanged.", fix="Check the disk space and run it again.") from None
        finally:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with suppress(OSError):
                    os.unlink(tmp + suffix)

    def layers(self) -> list[str]:
        with self._sql() as con:
            return [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]

    def merges(self) -> list[MergeRecord]:
        with self._sql() as con:
            rows = con.execute("SELECT merge_id, source_file, content_hash, format, merged_at, "
                               + ", ".join(MERGE_COUNT_KEYS) + ", options FROM merges ORDER BY merge_id").fetchall()
        out = []
        for r in rows:
            counts = dict(zip(MERGE_COUNT_KEYS, r[5:5 + len(MERGE_COUNT_KEYS)]))
            out.append(MergeRecord(r[0], r[1], r[2], r[3], r[4], counts, json.loads(r[-1] or "{}")))
        return out

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._sql() as con:
            row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute("DELETE FROM meta WHERE key = ?", (key,))
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value, default=str)))
            con.execute("COMMIT")

    def status(self, *, area: str | None = None) -> StoreStatus:
        if area is not None:
            return self._area_status(area)
        with self._sql() as con:

            def q(sql):
                return con.execute(sql).fetchall()

            total, first, last, unplaced = q(
                f"SELECT count(*), min(time), max(time), sum(placed_by IS NULL) FROM samples WHERE {VISIBLE}")[0]
            return StoreStatus(
                db=self.path,
                samples=total,
                by_operator=dict(q(f"SELECT coalesce(operator, '(unknown)'), count(*) FROM samples WHERE {VISIBLE} "
                                   "GROUP BY 1 ORDER BY 2 DESC")),
                by_kind=dict(q(f"SELECT coalesce(kind, 'signal'), count(*) FROM samples WHERE {VISIBLE} "
                               "GROUP BY 1 ORDER BY 2 DESC")),
                by_source_format=dict(q(f"SELECT source_format, count(*) FROM samples WHERE {VISIBLE} GROUP BY 1")),
                sessions=q("SELECT count(*) FROM sessions")[0][0],
                devices=q(f"SELECT count(DISTINCT device) FROM samples WHERE {VISIBLE}")[0][0],
                days=q(f"SELECT count(DISTINCT substr(time, 1, 10)) FROM samples WHERE {VISIBLE}")[0][0],
                first=first,
                last=last,
                unplaced=unplaced,
                quarantined=q(f"SELECT count(*) FROM quarantine WHERE {VISIBLE}")[0][0],
                quarantine_by_reason=dict(q(f"SELECT reason, count(*) FROM quarantine WHERE {VISIBLE} "
                                            "GROUP BY 1 ORDER BY 2 DESC")),
                merges=q("SELECT count(*) FROM merges")[0][0],
                neighbours=q(f"SELECT count(*) FROM neighbours WHERE {VISIBLE}")[0][0],
                track_points=q(f"SELECT count(*) FROM tracks WHERE {VISIBLE}")[0][0],
                towers=q(f"SELECT count(*) FROM towers WHERE {VISIBLE}")[0][0],
                analysed_at=self.get_meta("analysed_at"),
            )

    def _area_status(self, area: str) -> StoreStatus:
        """The status of one area's samples (a village's database is small enough to count them
        in memory); quarantined rows, tracks, towers and merges of the merges that brought them."""
        import pandas as pd

        df = self.read_samples(columns=["time", "device", "session", "source_file", "operator", "kind",
                                        "source_format", "placed_by", "merge_id"], area=area)
        times = pd.to_datetime(df["time"], utc=True, errors="coerce")
        session = df["session"].where(df["session"].notna(), "(none) " + df["source_file"].astype(str))
        merges = sorted({int(m) for m in df["merge_id"].dropna()})
        listed = ",".join(str(m) for m in merges) or "NULL"
        with self._sql() as con:
            q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
            quarantine = dict(q(f"SELECT reason, count(*) FROM quarantine WHERE merge_id IN ({listed}) "
                                "GROUP BY 1 ORDER BY 2 DESC"))
            counts = {t: q(f"SELECT count(*) FROM {t} WHERE merge_id IN ({listed})")[0][0]
                      for t in ("neighbours", "tracks", "towers")}

        def iso(t) -> str | None:
            return None if pd.isna(t) else t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

        def by(column: str, missing: str | None = None) -> dict:
            values = df[column] if missing is None else df[column].fillna(missing)
            return {str(k): int(v) for k, v in values.value_counts().items()}

        return StoreStatus(
            db=self.path, samples=len(df), by_operator=by("operator", "(unknown)"), by_kind=by("kind", "signal"),
            by_source_format=by("source_format"), sessions=int(session.nunique()),
            devices=int(df["device"].nunique()), days=int(times.dt.strftime("%Y-%m-%d").nunique()),
            first=iso(times.min()), last=iso(times.max()), unplaced=int(df["placed_by"].isna().sum()),
            quarantined=sum(quarantine.values()), quarantine_by_reason=quarantine, merges=len(merges),
            neighbours=counts["neighbours"], track_points=counts["tracks"], towers=counts["towers"],
            analysed_at=self.get_meta("analysed_at"), area=area)


@dataclass
class _Bulk:
    """What a bulk load wrote: the fids GDAL gave its samples and their positions, so the R-tree
    is built from memory instead of reading a million rows back."""

    merge_id: int
    start_fid: int
    last_fid: int
    empty: bool
    added: int = 0
    parts: list | None = field(default_factory=list)

    def wrote(self, table, last_fid: int) -> None:
        n = table.num_rows
        self.added += n
        if self.parts is not None and last_fid - self.last_fid == n and self.added <= PACK_MAX_ROWS:
            fid = np.arange(self.last_fid + 1, last_fid + 1, dtype=np.int64)
            lon = _floats(table, "lon", n)
            lat = _floats(table, "lat", n)
            ok = np.isfinite(lon) & np.isfinite(lat)
            self.parts.append((fid[ok], lon[ok], lat[ok]))
        else:  # fids not consecutive (should not happen under the writer lock): read them back
            self.parts = None
        self.last_fid = last_fid

    def positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if self.parts is None:
            return None
        if not self.parts:
            return (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        fid, lon, lat = (np.concatenate(column) for column in zip(*self.parts))
        return fid, lon, lat


def _floats(table, name: str, n: int) -> np.ndarray:
    if name not in table.column_names:
        return np.full(n, np.nan)
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)


# GeoPackage catalogue tables that name a layer in their table_name column.
_CATALOGUE = ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents",
              "gpkg_data_columns", "gpkg_metadata_reference")


def _transplant_layer(con: sqlite3.Connection, layer: str) -> None:
    """Inside the caller's transaction: drop ``layer`` from the main database and copy it in from
    the attached database ``src`` (both GeoPackages), with its R-tree, triggers and catalogue rows.

    The R-tree is copied row by row rather than rebuilt, and the triggers are created after the
    rows are in, so no trigger (and none of GDAL's SQL functions) runs during the copy.
    """
    def tables(schema: str) -> set[str]:
        return {r[0] for r in con.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}

    def columns(schema: str, table: str) -> list[str]:
        return [r[1] for r in con.execute(f'PRAGMA {schema}.table_info("{table}")')]

    main_tables, src_tables = tables("main"), tables("src")
    rtree = f"rtree_{layer}_geom"
    # Old layer out (its triggers go with the table).
    con.execute(f'DROP TABLE IF EXISTS main."{rtree}"')
    con.execute(f'DROP TABLE IF EXISTS main."{layer}"')
    for cat in _CATALOGUE:
        if cat in main_tables:
            con.execute(f"DELETE FROM main.{cat} WHERE lower(table_name) = lower(?)", (layer,))
    # New layer in.
    (sql,) = con.execute("SELECT sql FROM src.sqlite_master WHERE type = 'table' AND name = ?", (layer,)).fetchone()
    con.execute(sql)
    cols = ", ".join(f'"{c}"' for c in columns("src", layer))
    con.execute(f'INSERT INTO main."{layer}" ({cols}) SELECT {cols} FROM src."{layer}"')
    for (index_sql,) in con.execute("SELECT sql FROM src.sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                    "AND sql IS NOT NULL", (layer,)).fetchall():
        con.execute(index_sql)
    if rtree in src_tables:
        (rtree_sql,) = con.execute("SELECT sql FROM src.sqlite_master WHERE name = ?", (rtree,)).fetchone()
        con.execute(rtree_sql)
        con.execute(f'INSERT INTO main."{rtree}" SELECT * FROM src."{rtree}"')
    if "gpkg_spatial_ref_sys" in main_tables:
        con.execute("INSERT OR IGNORE INTO main.gpkg_spatial_ref_sys SELECT * FROM src.gpkg_spatial_ref_sys "
                    "WHERE srs_id IN (SELECT srs_id FROM src.gpkg_contents WHERE table_name = ?)", (layer,))
    for cat in _CATALOGUE:
        if cat in main_tables and cat in src_tables:
            shared = [c for c in columns("src", cat) if c in set(columns("main", cat))]
            names = ", ".join(f'"{c}"' for c in shared)
            con.execute(f"INSERT INTO main.{cat} ({names}) SELECT {names} FROM src.{cat} WHERE table_name = ?",
                        (layer,))
    for (trigger_sql,) in con.execute("SELECT sql FROM src.sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                                      (layer,)).fetchall():
        con.execute(trigger_sql)


def _sqlite_values(column) -> list:
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        return [None if v is None else v.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                for v in column.to_pylist()]
    return column.to_pylist()


def _arrow_to_pandas(table) -> pd.DataFrame:
    """Arrow -> pandas keeping 64-bit integers with nulls exact (H3 ids and sample ids exceed 2**53,
    which the default conversion through float64 would round)."""
    import pyarrow as pa

    table = table.drop_columns([c for c in ("OGC_FID", "fid") if c in table.column_names])
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype()}.get)


def _fix_types(df: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """GDAL may hand back naive datetimes and float ints; give them their layer types."""
    for name, kind in fields.items():
        if name not in df.columns:
            continue
        s = df[name]
        if kind == "time":
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                df[name] = s.dt.tz_convert("UTC")
            elif pd.api.types.is_datetime64_any_dtype(s.dtype):
                df[name] = s.dt.tz_localize("UTC")
            else:
                df[name] = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        elif kind == "int" and not pd.api.types.is_integer_dtype(s.dtype):
            df[name] = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif kind == "bool" and s.dtype != bool:
            df[name] = s.astype("boolean")
    return df
