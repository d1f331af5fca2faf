"""The shared PostGIS store: one PostgreSQL/PostGIS database holds many villages' surveys.

Same :class:`surveyor.store.base.Store` interface as the GeoPackage, so no command knows which one it
has. Design (the README section "The shared PostGIS database" has the long version):

- **Schema** created on first use (``create=True``) and versioned in ``surveyor_schema``; the steps
  of :data:`MIGRATIONS` are applied in order on open, under a transaction-level advisory lock, so an
  older schema is migrated and a newer one refused with a message.
- **Merges are transactions.** :meth:`append` COPYs rows into *temporary* staging tables of this
  connection; :meth:`commit_merge` moves them in one transaction (``INSERT ... SELECT ... ORDER BY
  sample_id ON CONFLICT (sample_id) DO NOTHING``, geometry built with ``ST_SetSRID(ST_MakePoint())``)
  together with the ``merges`` row. A merge killed midway (process killed, server gone) leaves only
  temporary tables, which PostgreSQL drops with the connection: nothing half-written, nothing to
  clean up. Concurrent writers are made safe by the unique ``sample_id`` key, not by a check-then-
  insert; inserting in ``sample_id`` order keeps two transactions from deadlocking on each other's
  uncommitted keys. :meth:`writer_lock` is a session advisory lock that serialises the per-source
  bookkeeping (was this file merged already?) across the district, like the GeoPackage's lock file.
- **Areas**: ``areas`` holds village/dusun boundaries with codes. Each sample gets an ``area_code``
  at merge (the smallest area polygon containing it); ``--area CODE`` selects that code, every code
  below it in the ``parent_code`` tree, and every code that starts with ``CODE.`` (Kemendagri codes
  are hierarchical: ``33.07`` is Kabupaten Wonosobo, ``33.07.05.2002`` Lipursari).
- **Analysis at scale** runs in the database (:mod:`surveyor.analyse.sql`, on the connections of
  :meth:`sql_sessions`), grouping by the integer ``h3_10`` column (Debian's PostgreSQL has no H3
  extension); :meth:`read_samples_chunks` streams samples through a server-side cursor.

Credentials come from the URL, ``PGPASSWORD`` or ``~/.pgpass`` (libpq reads them); the password is
never printed: every message and ``status().db`` use :func:`mask_url`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time as _time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from surveyor.errors import NothingToDo, StoreError
from surveyor.model import ALL_FIELDS
from surveyor.store._arrow import check_samples
from surveyor.store.base import (
    MERGE_COUNT_KEYS,
    NEIGHBOUR_FIELDS,
    QUARANTINE_FIELDS,
    SESSION_FIELDS,
    TOWER_FIELDS,
    TRACK_FIELDS,
    MergeRecord,
    Store,
    StoreStatus,
)

if TYPE_CHECKING:
    from surveyor.geo.areas import AreaIndex

log = logging.getLogger(__name__)

# Advisory lock keys (two int4): a class id for surveyor, then one key per purpose.
LOCK_CLASS = 0x53555256  # "SURV"
LOCK_WRITER = 1
LOCK_SCHEMA = 2
LOCK_LOAD = 3
LOCK_WAIT_S = 3600.0

SAMPLE_EXTRA = {"area_code": "str"}
POINT_LAYERS = {"samples": ALL_FIELDS, "tracks": TRACK_FIELDS, "towers": TOWER_FIELDS}
MERGE_LAYERS = {"samples": ALL_FIELDS, "quarantine": QUARANTINE_FIELDS, "neighbours": NEIGHBOUR_FIELDS,
                "tracks": TRACK_FIELDS, "towers": TOWER_FIELDS}
ANALYSIS_LAYERS = ("cells", "dead_zones", "sites")
AREA_FIELDS = {"code": "str", "name": "str", "level": "str", "parent_code": "str"}
_PG_TYPES = {"int": "bigint", "float": "double precision", "str": "text", "bool": "boolean",
             "time": "timestamptz"}
# The session key: a session's name, or the source file for samples without one. Compared in the C
# collation (bytes), which is what the session-order index holds: sorting and matching by bytes is
# several times faster than a language collation and means the same for equality.
SESSION_KEY = "(coalesce(session, '(none) ' || source_file) COLLATE \"C\")"
# The most specific area containing a point: its smallest polygon.
AREA_LOOKUP = ("(SELECT a.code FROM areas a WHERE a.geom IS NOT NULL AND ST_Intersects(a.geom, {pt}) "
               "ORDER BY ST_Area(a.geom), a.code LIMIT 1)")


def _cols(fields: dict[str, str]) -> str:
    return ", ".join(f'"{n}" {_PG_TYPES[t]}' for n, t in fields.items())


def _create_v1() -> list[str]:
    """The first schema: every layer of docs/layers.md (analysis layers are made by write_layer)."""
    return [
        "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text)",
        f"CREATE TABLE samples ({_cols(ALL_FIELDS)}, geom geometry(Point, 4326), PRIMARY KEY (sample_id))",
        "CREATE INDEX samples_geom ON samples USING gist (geom)",
        "CREATE INDEX samples_merge_id ON samples (merge_id)",
        "CREATE INDEX samples_session_key ON samples ((coalesce(session, '(none) ' || source_file)))",
        # No index on device, time or h3_10: every index costs each merge (measured), and what reads
        # by them (analysis, status) scans the rows of an area anyway.
        "CREATE INDEX samples_unplaced ON samples (sample_id) WHERE placed_by IS NULL",
        f"CREATE TABLE quarantine (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {_cols(QUARANTINE_FIELDS)})",
        f"CREATE TABLE neighbours (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {_cols(NEIGHBOUR_FIELDS)})",
        "CREATE INDEX neighbours_sample_id ON neighbours (sample_id)",
        f"CREATE TABLE tracks (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {_cols(TRACK_FIELDS)}, "
        "geom geometry(Point, 4326))",
        "CREATE INDEX tracks_geom ON tracks USING gist (geom)",
        "CREATE INDEX tracks_time ON tracks (time)",
        f"CREATE TABLE towers (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {_cols(TOWER_FIELDS)}, "
        "geom geometry(Point, 4326))",
        "CREATE INDEX towers_geom ON towers USING gist (geom)",
        *[f"CREATE INDEX {t}_merge_id ON {t} (merge_id)" for t in ("quarantine", "neighbours", "tracks", "towers")],
        f"CREATE TABLE sessions ({_cols(SESSION_FIELDS)}, PRIMARY KEY (session))",
        "CREATE TABLE merges (merge_id bigint PRIMARY KEY, source_file text, content_hash text, format text, "
        "merged_at text, " + ", ".join(f"{k} bigint" for k in MERGE_COUNT_KEYS) + ", options text)",
        "CREATE INDEX merges_hash ON merges (content_hash)",
        "CREATE SEQUENCE merge_id_seq",
        "CREATE TABLE areas (code text PRIMARY KEY, name text, level text, parent_code text, "
        "geom geometry(Geometry, 4326))",
        "CREATE INDEX areas_geom ON areas USING gist (geom)",
    ]


def _create_v2() -> list[str]:
    """Samples learn which area they lie in, so one server can hold many villages."""
    return [
        "ALTER TABLE samples ADD COLUMN area_code text",
        "CREATE INDEX samples_area_code ON samples (area_code text_pattern_ops)",
        "UPDATE samples s SET area_code = " + AREA_LOOKUP.format(pt="s.geom") + " WHERE s.geom IS NOT NULL",
    ]


def _create_v3() -> list[str]:
    """Indexes for a district: the analysis in the database, and loading at the speed of COPY.

    - The effective-sample rule walks each session and operator in time order: this B-tree gives
      that order without sorting the district (and serves the session refresh of merges, as the
      index it replaces did). Merges write a walk's rows together, in time order, so reading in
      index order is nearly sequential on disk.
    - Position, area and merge are BRIN indexes (block ranges with their bounds): a merge writes a
      village's rows together, so ranges are tight, and a BRIN index costs next to nothing per row
      loaded where a GiST or B-tree insert costs as much as the COPY of the row itself.
    """
    return [
        "DROP INDEX IF EXISTS samples_session_key",
        f"CREATE INDEX samples_session_order ON samples ({SESSION_KEY}, operator, time, sample_id)",
        "DROP INDEX IF EXISTS samples_geom",
        "CREATE INDEX samples_geom ON samples USING brin (geom) WITH (autosummarize = on)",
        "DROP INDEX IF EXISTS samples_area_code",
        "CREATE INDEX samples_area_code ON samples USING brin (area_code) WITH (autosummarize = on)",
        "DROP INDEX IF EXISTS samples_merge_id",
        "CREATE INDEX samples_merge_id ON samples USING brin (merge_id) WITH (autosummarize = on)",
    ]


# version -> (description, SQL steps). Append new versions; never edit a released one.
MIGRATIONS: dict[int, tuple[str, list[str]]] = {
    1: ("layers of DESIGN section 3", _create_v1()),
    2: ("samples.area_code filled from areas", _create_v2()),
    3: ("samples in session and time order by index (analysis in the database)", _create_v3()),
}
POSTGIS_SCHEMA_VERSION = max(MIGRATIONS)


# -- URLs and messages ----------------------------------------------------------------------------

def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe to print and log)."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "postgresql://***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostport}"
    query = "&".join(f"{k}=***" if k.lower() == "password" else f"{k}={v}"
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class _Target:
    """What a URL points at, for libpq and for messages."""

    def __init__(self, url: str):
        self.url = str(url)
        _scheme, rest = self.url.split("://", 1)
        self.conninfo = "postgresql://" + rest  # libpq knows neither "+psycopg" nor SQLAlchemy dialects
        parts = urlsplit(self.conninfo)
        params = dict(parse_qsl(parts.query))
        self.password = unquote(parts.password) if parts.password else params.get("password")
        self.user = unquote(parts.username) if parts.username else params.get("user")
        self.host = parts.hostname or params.get("host") or "localhost"
        try:
            port = parts.port
        except ValueError:
            port = None
        self.port = port or int(params.get("port") or 5432)
        self.dbname = unquote(parts.path.lstrip("/")) or params.get("dbname") or self.user or "postgres"
        self.params = params
        self.masked = mask_url(self.url)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def scrub(self, text: object) -> str:
        """Remove the password from any text (a driver message may quote the connection string)."""
        text = str(text)
        if self.password:
            text = text.replace(self.password, "***")
        return text.replace(self.url, self.masked)


def _connect_error(target: _Target, exc: Exception) -> StoreError:
    raw = target.scrub(exc)
    low = raw.lower()
    who = f"user {target.user!r}" if target.user else "the default user"
    if "password authentication failed" in low or "no password supplied" in low \
            or "password is required" in low:
        return StoreError(f"PostgreSQL at {target.where} refused the password for {who} "
                          f"(database {target.dbname!r}): wrong password or no password given.",
                          fix="Give the right password in the URL, in PGPASSWORD or in ~/.pgpass "
                              "(host:port:database:user:password, chmod 600).")
    if "does not exist" in low and "database" in low:
        return StoreError(f"Database {target.dbname!r} does not exist on {target.where}.",
                          fix=f"Ask the server admin to create it: createdb {target.dbname} && "
                              f"psql -d {target.dbname} -c 'CREATE EXTENSION postgis;'.")
    if "role" in low and "does not exist" in low:
        return StoreError(f"PostgreSQL at {target.where} has no role {target.user!r}.",
                          fix="Ask the server admin for a team role (the README's section on the shared PostGIS "
                              "database), or fix the user in the URL.")
    if "pg_hba.conf" in low:
        return StoreError(f"PostgreSQL at {target.where} does not accept connections from this computer "
                          f"for {who} (pg_hba.conf).",
                          fix="Ask the server admin to add a `host` line for your network in pg_hba.conf.")
    if any(s in low for s in ("connection refused", "could not connect", "timeout expired", "timed out",
                              "could not translate host name", "no route to host", "network is unreachable",
                              "name or service not known", "server closed the connection", "connection failed")):
        return StoreError(f"Cannot reach the PostgreSQL server at {target.where} ({_first_line(raw)}).",
                          fix=f"Check that the server runs and listens on {target.where} (listen_addresses, "
                              "firewall, VPN), and the host and port in --db.")
    return StoreError(f"Cannot open PostgreSQL database {target.masked}: {_first_line(raw)}",
                      fix="Check the --db URL (postgresql://USER@HOST:PORT/DATABASE).")


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else str(text)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- reading helpers ------------------------------------------------------------------------------

def _kind_of_pg(udt: str) -> str:
    if udt in ("int2", "int4", "int8"):
        return "int"
    if udt in ("float4", "float8", "numeric"):
        return "float"
    if udt == "bool":
        return "bool"
    if udt in ("timestamptz", "timestamp"):
        return "time"
    if udt == "geometry":
        return "geom"
    return "str"


def _select_expr(name: str, kind: str, table_alias: str = "") -> str:
    col = f'{table_alias}"{name}"'
    if kind == "time":
        return f"(extract(epoch FROM {col}) * 1000)::bigint AS \"{name}\""
    if kind == "geom":
        return f"encode(ST_AsBinary({col}), 'hex') AS \"{name}\""
    return f"{col} AS \"{name}\""


def _typed_frame(columns: list[str], kinds: dict[str, str], data: dict[str, Any] | None) -> pd.DataFrame:
    """Columns from raw arrays (Arrow or lists) with the layer types of the GeoPackage store."""
    out = {}
    for name in columns:
        kind = kinds.get(name, "str")
        values = None if data is None else data[name]
        if kind == "time":
            s = pd.Series(values if values is not None else [], dtype="Int64")
            out[name] = pd.to_datetime(s.astype("float64"), unit="ms", utc=True).astype("datetime64[ms, UTC]")
        elif kind == "int":
            s = pd.Series(values if values is not None else [], dtype="Int64")
            out[name] = s if s.isna().any() else s.astype("int64")
        elif kind == "float":
            out[name] = pd.Series(values if values is not None else [], dtype="float64")
        elif kind == "bool":
            out[name] = pd.Series(values if values is not None else [], dtype="boolean")
        else:
            out[name] = pd.Series(values if values is not None else [], dtype=object)
    return pd.DataFrame(out, columns=columns)


def _arrow_read_types(columns: list[str], kinds: dict[str, str]):
    import pyarrow as pa

    m = {"int": pa.int64(), "time": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
         "str": pa.string(), "geom": pa.string()}
    return {c: m[kinds.get(c, "str")] for c in columns}


def _csv_to_frame(raw: bytes, columns: list[str], kinds: dict[str, str]) -> pd.DataFrame:
    import pyarrow.csv as pcsv

    if not raw:
        return _typed_frame(columns, kinds, None)
    table = pcsv.read_csv(
        io.BytesIO(raw),
        read_options=pcsv.ReadOptions(column_names=columns, block_size=1 << 24),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types=_arrow_read_types(columns, kinds),
                                            null_values=[""], strings_can_be_null=True,
                                            quoted_strings_can_be_null=False,
                                            true_values=["t"], false_values=["f"]))
    data = {}
    for c in columns:
        col = table.column(c)
        data[c] = col.to_pandas() if kinds.get(c, "str") not in ("int", "time") else \
            pd.array(col.to_pylist(), dtype="Int64") if col.null_count else col.to_numpy()
    return _typed_frame(columns, kinds, data)


class PostgisStore(Store):
    """A shared survey database in PostgreSQL/PostGIS, addressed by a ``postgresql://`` URL."""

    counts_in_database = True

    def __init__(self, url: str, *, create: bool = False):
        try:
            import psycopg  # noqa: F401
        except ImportError:  # pragma: no cover - depends on the installation
            raise StoreError("The PostGIS store needs psycopg 3.",
                             fix="Install it: pip install 'surveyor[postgis]'.") from None
        self._t = _Target(url)
        self.url = self._t.masked
        self._conn = None
        self._generation = 0
        # The merge being loaded: its own connection and open transaction (see _load_connection).
        self._load = None
        self._load_generation = 0
        self._staged: dict[int, int] = {}  # merge_id -> load connection generation its rows went to
        self._load_rows: dict[int, int] = {}  # merge_id -> samples sent
        self._load_added: dict[int, int] = {}  # merge_id -> samples added
        self._load_sessions: dict[int, set[str]] = {}  # merge_id -> session keys of its samples
        self._stage_tables: set[str] = set()
        # sample_ids loaded in the open transaction and not committed yet (sorted), so a sample seen in
        # an earlier batch of the same file counts as a duplicate, as in the GeoPackage store
        self._staged_ids = np.zeros(0, dtype=np.int64)
        self._lock_depth = 0
        self._areas_cache: tuple[Any, AreaIndex] | None = None  # (the areas' fingerprint, their index)
        self.last_commit_added = 0
        self._open(create)

    # -- connections ------------------------------------------------------------------------------
    def _new_connection(self):
        import psycopg

        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self._t.params:
            kwargs["connect_timeout"] = 10
        if "application_name" not in self._t.params:
            kwargs["application_name"] = "surveyor"
        try:
            conn = psycopg.connect(self._t.conninfo, **kwargs)
        except psycopg.Error as exc:
            raise _connect_error(self._t, exc) from None
        conn.execute("SET TimeZone TO 'UTC'")
        return conn

    def _connection(self):
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._drop_connection()
            self._conn = self._new_connection()
            self._generation += 1
        return self._conn

    def _drop_connection(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:  # the connection is already gone
            pass
        self._conn = None
        self._lock_depth = 0

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """psycopg errors as StoreError with the fix, the password scrubbed."""
        import psycopg

        try:
            yield
        except StoreError:
            raise
        except psycopg.OperationalError as exc:
            main_lost = self._conn is None or self._conn.closed or self._conn.broken
            load_lost = self._load is not None and (self._load.closed or self._load.broken)
            if main_lost or load_lost:
                if main_lost:
                    self._drop_connection()
                if load_lost:
                    self._close_load(rollback=False)
                raise StoreError(f"Lost the connection to PostgreSQL at {self._t.where} while {action} "
                                 f"({_first_line(self._t.scrub(exc))}); nothing of an unfinished merge was kept.",
                                 fix="Check that the server is up, then run the same command again.") from None
            raise StoreError(f"PostgreSQL error while {action}: {_first_line(self._t.scrub(exc))}",
                             fix="Run the command again; if it persists, ask the server admin.") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(f"The role {self._t.user!r} may not do this while {action}: "
                             f"{_first_line(self._t.scrub(exc))}",
                             fix="Ask the server admin to grant the team role its rights (the README's section on "
                                 "the shared PostGIS database).") from None
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL error while {action}: {_first_line(self._t.scrub(exc))}",
                             fix="Check the condition or the data given; run with -v for details.") from None

    def close(self) -> None:
        self._close_load(rollback=True)
        self._drop_connection()

    # -- schema -----------------------------------------------------------------------------------
    def _open(self, create: bool) -> None:
        conn = self._connection()
        with self._errors("opening the database"):
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
            if row is None:
                raise StoreError(f"Database {self._t.dbname!r} on {self._t.where} has no PostGIS.",
                                 fix=f"As the database owner run: psql -d {self._t.dbname} -c "
                                     "'CREATE EXTENSION postgis;' (Debian package postgresql-15-postgis-3).")
            version = self._schema_version(conn)
            if version is None and not create:
                raise NothingToDo(f"No surveyor data in database {self._t.masked} yet.",
                                  fix=f"Merge or push into it first: `surveyor merge FILES --db {self._t.masked}`.")
            if version is not None and version > POSTGIS_SCHEMA_VERSION:
                raise StoreError(f"Database {self._t.masked} was written by a newer surveyor (schema {version}, "
                                 f"this one knows {POSTGIS_SCHEMA_VERSION}).",
                                 fix="Upgrade surveyor on this computer: pip install -U surveyor.")
            if version is None or version < POSTGIS_SCHEMA_VERSION:
                self._migrate(conn)

    @staticmethod
    def _schema_version(conn) -> int | None:
        if conn.execute("SELECT to_regclass('surveyor_schema')").fetchone()[0] is None:
            return None
        return conn.execute("SELECT max(version) FROM surveyor_schema").fetchone()[0] or 0

    def _migrate(self, conn) -> None:
        with conn.transaction():
            # One migrating process at a time; the others wait, then find nothing left to do.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, LOCK_SCHEMA))
            conn.execute("CREATE TABLE IF NOT EXISTS surveyor_schema (version int PRIMARY KEY, "
                          "applied_at timestamptz NOT NULL DEFAULT now(), description text)")
            current = self._schema_version(conn) or 0
            if current > POSTGIS_SCHEMA_VERSION:
                raise StoreError(f"Database {self._t.masked} was written by a newer surveyor (schema {current}).",
                                 fix="Upgrade surveyor: pip install -U surveyor.")
            for version in sorted(v for v in MIGRATIONS if v > current):
                description, steps = MIGRATIONS[version]
                for sql in steps:
                    conn.execute(sql)
                conn.execute("INSERT INTO surveyor_schema (version, description) VALUES (%s, %s)",
                             (version, description))
                log.info("database schema migrated to version %d (%s)", version, description)
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", (json.dumps(POSTGIS_SCHEMA_VERSION),))
            conn.execute("INSERT INTO meta (key, value) VALUES ('created_at', %s) ON CONFLICT (key) DO NOTHING",
                         (json.dumps(_now_iso()),))

    # -- locking ----------------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        conn = self._connection()
        if self._lock_depth == 0:
            with self._errors("waiting for the writer lock"):
                start = _time.monotonic()
                told = False
                while not conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                       (LOCK_CLASS, LOCK_WRITER)).fetchone()[0]:
                    waited = _time.monotonic() - start
                    if waited > LOCK_WAIT_S:
                        raise StoreError(f"{self.url} is locked by another surveyor writer for an hour.",
                                         fix="Wait for the other merge to finish, then run this again.")
                    if not told and waited > 2:
                        log.warning("waiting for another surveyor writer on %s", self.url)
                        told = True
                    _time.sleep(0.1)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._conn is not None and not self._conn.broken:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, LOCK_WRITER))
                except Exception:  # a dead connection released it already
                    pass

    # -- merges -----------------------------------------------------------------------------------
    def cleanup_unfinished(self) -> int:
        """Rows of a merge that did not finish live only in its open load transaction.

        A killed process or a dead connection took that transaction with it, so there is nothing to
        delete in the shared tables; here only a merge this process began and abandoned is rolled
        back (the rows it had loaded are counted).
        """
        deleted = sum(self._load_rows.values())
        self._close_load(rollback=True)
        if deleted:
            log.warning("removed %d rows of a merge that did not finish", deleted)
        return deleted

    def find_merges(self, content_hash: str) -> list[MergeRecord]:
        return self._merges("WHERE content_hash = %s", (content_hash,))

    def new_merge_id(self) -> int:
        with self._errors("allocating a merge id"):
            return int(self._connection().execute("SELECT nextval('merge_id_seq')").fetchone()[0])

    def has_samples(self, other_than_merge: int | None = None) -> bool:
        """Whether any committed sample exists (a running merge's rows are not committed, never counted)."""
        with self._errors("looking up samples"):
            return bool(self._connection().execute("SELECT EXISTS (SELECT 1 FROM samples)").fetchone()[0])

    @contextmanager
    def bulk_load(self, merge_id: int) -> Iterator[None]:
        """Nothing to switch: appends are always COPYs into the merge's own transaction."""
        yield

    def existing_sample_ids(self, sample_ids) -> np.ndarray:
        ids = np.asarray(sample_ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros(0, dtype=bool)
        found: list[int] = []
        with self._errors("looking up samples"):
            conn = self._connection()
            step = 500_000
            for i in range(0, ids.size, step):
                chunk = ids[i:i + step].tolist()
                found.extend(r[0] for r in conn.execute(
                    "SELECT sample_id FROM samples WHERE sample_id = ANY(%s::bigint[])", (chunk,)))
        return np.isin(ids, np.asarray(found, dtype=np.int64)) | np.isin(ids, self._staged_ids)

    # -- the load transaction of a merge ------------------------------------------------------------
    def _load_connection(self, merge_id: int):
        """The connection whose one open transaction holds the rows of the merge being loaded.

        Rows are COPYed straight into the shared tables inside that transaction, so they become
        visible all at once when :meth:`commit_merge` commits it, and vanish with it when the
        process or the connection dies before (PostgreSQL rolls it back).
        """
        if self._load is None or self._load.closed or self._load.broken:
            if self._load is not None:
                self._close_load(rollback=False)
            conn = self._new_connection()
            conn.autocommit = False
            # The transaction begins (the COPYs below are its savepoints) holding a lock of its own
            # besides the writer lock of the store's connection: if that connection dies and another
            # writer takes the writer lock, its load still waits for this one to end.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, LOCK_LOAD))
            self._load = conn
            self._load_generation += 1
            self._stage_tables = set()
        self._staged.setdefault(int(merge_id), self._load_generation)
        self._load_rows.setdefault(int(merge_id), 0)
        return self._load

    def _close_load(self, *, rollback: bool) -> None:
        conn, self._load = self._load, None
        self._staged.clear()
        self._load_rows.clear()
        self._load_added.clear()
        self._load_sessions.clear()
        self._stage_tables = set()
        self._staged_ids = np.zeros(0, dtype=np.int64)
        if conn is None:
            return
        try:
            if rollback and not conn.closed and not conn.broken:
                conn.rollback()
            conn.close()
        except Exception:  # a connection already gone is closed enough
            pass

    def _stage_table(self, conn, layer: str) -> str:
        name = f"surveyor_stage_{layer}"
        if name not in self._stage_tables:
            fields = {**ALL_FIELDS, **SAMPLE_EXTRA} if layer == "samples" else MERGE_LAYERS[layer]
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({_cols(fields)})")
            self._stage_tables.add(name)
        return name

    def _copy_frame(self, table: str, df: pd.DataFrame, fields: dict[str, str], conn=None) -> None:
        """COPY a frame into ``table`` (only the columns the frame has; the others stay null)."""
        from surveyor.store._arrow import frame_to_arrow

        present = {n: k for n, k in fields.items() if n in df.columns}
        if present:
            self._copy_arrow(table, frame_to_arrow(df, present, geometry=False), conn)

    def _copy_arrow(self, table: str, arrow, conn=None) -> None:
        """COPY an Arrow table's columns into the same columns of ``table``."""
        import pyarrow.csv as pcsv

        cols = ", ".join(f'"{n}"' for n in arrow.column_names)
        conn = conn if conn is not None else self._connection()
        with conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                for batch in arrow.to_batches(max_chunksize=100_000):
                    buf = io.BytesIO()
                    pcsv.write_csv(batch, buf, pcsv.WriteOptions(include_header=False))
                    copy.write(buf.getvalue())

    def append(self, layer: str, rows) -> None:
        if layer not in MERGE_LAYERS:
            raise StoreError(f"Layer {layer} is not written by merge.", fix="Use write_layer for it.")
        if layer == "samples":
            check_samples(rows)
        if len(rows) == 0:
            return
        if layer == "samples":
            self._append_samples(rows)
            return
        if "merge_id" not in rows.columns or rows["merge_id"].isna().any():
            raise StoreError(f"Rows appended to {layer} need a merge_id.")
        mids = [int(m) for m in pd.unique(rows["merge_id"])]
        with self._errors(f"loading {layer}"):
            conn = self._load_connection(mids[0])
            for mid in mids[1:]:
                self._load_connection(mid)
            self._copy_frame(self._stage_table(conn, layer), rows, MERGE_LAYERS[layer], conn)
        for mid, n in rows["merge_id"].astype("int64").value_counts().items():
            self._load_rows[int(mid)] = self._load_rows.get(int(mid), 0) + int(n)

    def _append_samples(self, table) -> None:
        """COPY a batch of samples (an Arrow table of the samples layer) into ``samples``, inside the
        merge's transaction: each with its area code and its point (EWKB), in time order so a walk's
        rows lie together on disk. A sample another writer (not surveyor, which takes the writer lock)
        stored meanwhile makes the COPY fail on the unique key: that batch then goes through a
        staging table and ``INSERT ... ON CONFLICT DO NOTHING`` instead."""
        import psycopg
        import pyarrow as pa
        import pyarrow.compute as pc

        if "geom" in table.column_names:
            table = table.drop_columns(["geom"])
        if "time" in table.column_names and "sample_id" in table.column_names and not _in_time_order(table):
            table = table.take(pc.sort_indices(table, [("time", "ascending"), ("sample_id", "ascending")]))
        n = table.num_rows
        if "lat" in table.column_names and "lon" in table.column_names:
            lat = table.column("lat").to_numpy(zero_copy_only=False)
            lon = table.column("lon").to_numpy(zero_copy_only=False)
            table = table.append_column("area_code", pa.array(self._area_codes(lat, lon), type=pa.string()))
            table = table.append_column("geom", _point_ewkb_hex(lat, lon))
        mids = pc.unique(table.column("merge_id")).to_pylist()
        keys = _session_keys(table)
        with self._errors("loading samples"):
            conn = self._load_connection(int(mids[0]))
            for mid in mids[1:]:
                self._load_connection(int(mid))
            try:
                with conn.transaction():
                    self._copy_arrow("samples", table, conn)
                added = n
            except psycopg.errors.UniqueViolation:
                stage = self._stage_table(conn, "samples")
                self._copy_arrow(f"pg_temp.{stage}", table.drop_columns(["geom"]), conn)
                added = self._insert_staged(conn)
        mid = int(mids[0])
        self._load_rows[mid] = self._load_rows.get(mid, 0) + n
        self._load_added[mid] = self._load_added.get(mid, 0) + added
        self._load_sessions.setdefault(mid, set()).update(keys)
        if "sample_id" in table.column_names:
            ids = pc.drop_null(table.column("sample_id")).to_numpy().astype(np.int64)
            self._staged_ids = np.union1d(self._staged_ids, ids)

    @staticmethod
    def _insert_staged(conn) -> int:
        """The staged samples into ``samples``, those already there skipped; the staging emptied."""
        names = list(ALL_FIELDS)
        cols = ", ".join(f'"{n}"' for n in names)
        point = ("CASE WHEN s.lat IS NOT NULL AND s.lon IS NOT NULL "
                 "THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) END")
        # Time, then sample_id order: one order for every transaction (the time is part of what makes
        # a sample's id), so two writers inserting the same samples take the unique keys in the same
        # order and wait for each other instead of deadlocking.
        added = conn.execute(
            f"INSERT INTO samples ({cols}, geom, area_code) "
            f"SELECT {', '.join('s.' + chr(34) + n + chr(34) for n in names)}, {point}, s.area_code "
            "FROM pg_temp.surveyor_stage_samples s WHERE s.sample_id IS NOT NULL "
            "ORDER BY s.time, s.sample_id ON CONFLICT (sample_id) DO NOTHING").rowcount
        conn.execute("DELETE FROM pg_temp.surveyor_stage_samples")
        return added

    def commit_merge(self, record: MergeRecord, sessions=None) -> None:
        """Commit the merge's transaction: its rows, the other layers' staged rows, its ``merges`` row
        and the refresh of the sessions it touched become visible together.

        ``sessions`` (the merge's own per-session aggregates) is not folded in: a session may have
        samples of earlier merges, so the touched sessions are recounted from the stored samples
        (through the session-order index).
        """
        mid = int(record.merge_id)
        staged_on = self._staged.get(mid)
        if staged_on is not None and (staged_on != self._load_generation or self._load is None
                                      or self._load.closed or self._load.broken):
            self._close_load(rollback=False)
            raise StoreError(f"The connection to {self._t.where} was lost after rows of merge {mid} were "
                             "loaded; they were discarded.", fix="Run the same command again.")
        with self._errors("committing the merge"):
            conn = self._load_connection(mid)
            try:
                self._move_staged(conn)
                conn.execute(
                    "INSERT INTO merges (merge_id, source_file, content_hash, format, merged_at, "
                    + ", ".join(MERGE_COUNT_KEYS) + ", options) VALUES (%s, %s, %s, %s, %s, "
                    + ", ".join("%s" for _ in MERGE_COUNT_KEYS) + ", %s)",
                    (mid, record.source_file, record.content_hash, record.format, record.merged_at,
                     *(int(record.counts.get(k, 0)) for k in MERGE_COUNT_KEYS),
                     json.dumps(record.options, default=str)))
                self._refresh_sessions(conn, sorted(self._load_sessions.get(mid, ())))
                conn.commit()
            except BaseException:
                if not (conn.closed or conn.broken):  # a lost connection is told apart just below
                    self._close_load(rollback=True)
                raise
        added = self._load_added.get(mid, 0)
        self._close_load(rollback=False)
        self.last_commit_added = added
        log.debug("merge %d committed: %d new samples", mid, added)

    def _move_staged(self, conn) -> None:
        """The other layers' staged rows into the shared tables (inside the merge's transaction)."""
        for layer in ("quarantine", "neighbours", "tracks", "towers"):
            stage = f"surveyor_stage_{layer}"
            if stage not in self._stage_tables:
                continue
            fields = MERGE_LAYERS[layer]
            cols = ", ".join(f'"{n}"' for n in fields)
            if layer in POINT_LAYERS:
                conn.execute(f"INSERT INTO {layer} ({cols}, geom) SELECT {cols}, CASE WHEN lat IS NOT NULL AND "
                             f"lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END FROM pg_temp.{stage}")
            else:
                conn.execute(f"INSERT INTO {layer} ({cols}) SELECT {cols} FROM pg_temp.{stage}")
            conn.execute(f"DELETE FROM pg_temp.{stage}")

    def _refresh_sessions(self, conn, keys: list[str]) -> None:
        """Recompute the ``sessions`` rows of these session keys only (a district has many)."""
        if not keys:
            return
        conn.execute("DELETE FROM sessions WHERE session = ANY(%s)", (keys,))
        conn.execute(
            "INSERT INTO sessions (session, device, device_model, volunteer, route, operators, first, last, "
            "samples, placed, source_format) "
            f"SELECT {SESSION_KEY}, max(device), max(device_model), max(volunteer), max(route), "
            "string_agg(DISTINCT operator, ','), min(time), max(time), count(*), count(placed_by), "
            f"max(source_format) FROM samples WHERE {SESSION_KEY} = ANY(%s) GROUP BY 1", (keys,))

    def delete_merges(self, merge_ids: list[int]) -> dict[str, int]:
        removed: dict[str, int] = {}
        if not merge_ids:
            return removed
        ids = [int(i) for i in merge_ids]
        conn = self._connection()
        with self._errors("removing merges"), conn.transaction():
            keys = [r[0] for r in conn.execute(
                f"SELECT DISTINCT {SESSION_KEY} FROM samples WHERE merge_id = ANY(%s)", (ids,))]
            for t in ("samples", "quarantine", "neighbours", "tracks", "towers", "merges"):
                removed[t] = conn.execute(f"DELETE FROM {t} WHERE merge_id = ANY(%s)", (ids,)).rowcount
            self._refresh_sessions(conn, keys)
        return removed

    def delete_samples(self, *, session: str | None = None, device: str | None = None) -> int:
        if (session is None) == (device is None):
            raise ValueError("give exactly one of session, device")
        column, value = ("session", session) if session is not None else ("device", device)
        conn = self._connection()
        with self._errors("removing samples"), conn.transaction():
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS surveyor_deleted (sample_id bigint, key text)")
            conn.execute("TRUNCATE pg_temp.surveyor_deleted")
            n = conn.execute(
                f"WITH d AS (DELETE FROM samples WHERE {column} = %s RETURNING sample_id, {SESSION_KEY} AS key) "
                "INSERT INTO pg_temp.surveyor_deleted SELECT sample_id, key FROM d", (value,)).rowcount
            conn.execute("DELETE FROM neighbours n USING pg_temp.surveyor_deleted d WHERE n.sample_id = d.sample_id")
            keys = [r[0] for r in conn.execute("SELECT DISTINCT key FROM pg_temp.surveyor_deleted")]
            self._refresh_sessions(conn, keys)
        return n

    def update_positions(self, df: pd.DataFrame) -> int:
        if len(df) == 0:
            return 0
        fields = {"sample_id": "int", "lat": "float", "lon": "float", "accuracy_m": "float",
                  "placed_by": "str", "h3_10": "int"}
        conn = self._connection()
        with self._errors("placing samples"), conn.transaction():
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS surveyor_positions ({_cols(fields)})")
            conn.execute("TRUNCATE pg_temp.surveyor_positions")
            self._copy_frame("pg_temp.surveyor_positions", df, fields)
            point = "ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)"
            n = conn.execute(
                "UPDATE samples s SET lat = p.lat, lon = p.lon, accuracy_m = p.accuracy_m, placed_by = p.placed_by, "
                f"h3_10 = p.h3_10, geom = {point}, area_code = " + AREA_LOOKUP.format(pt=point) +
                " FROM pg_temp.surveyor_positions p WHERE s.sample_id = p.sample_id").rowcount
            session_key = SESSION_KEY.replace("session", "s.session").replace("source_file", "s.source_file")
            keys = [r[0] for r in conn.execute(
                f"SELECT DISTINCT {session_key} FROM samples s JOIN pg_temp.surveyor_positions p USING (sample_id)")]
            self._refresh_sessions(conn, keys)
        return n

    # -- areas ----------------------------------------------------------------------------------
    def _area_codes(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """The code of the smallest area containing each point (None outside every area, or where
        ``lat``/``lon``, float arrays, are NaN): :class:`surveyor.geo.areas.AreaIndex`, done here
        rather than by a GiST probe per row in SQL (see the README, "The shared PostGIS database")."""
        conn = self._connection()
        # The areas change rarely and are read again only when they did (another team may have
        # pushed new boundaries since the last merge): a fingerprint of the rows costs a fraction of
        # reading a district's polygons before every merge.
        fingerprint = conn.execute("SELECT count(*), coalesce(max(xmin::text::bigint), 0), "
                                   "coalesce(sum(hashtext(code)::bigint), 0) FROM areas").fetchone()
        if self._areas_cache is None or self._areas_cache[0] != fingerprint:
            import shapely

            from surveyor.geo.areas import AreaIndex

            rows = conn.execute(
                "SELECT code, encode(ST_AsBinary(geom), 'hex') FROM areas WHERE geom IS NOT NULL").fetchall()
            self._areas_cache = (fingerprint, AreaIndex([r[0] for r in rows],
                                                        list(shapely.from_wkb([r[1] for r in rows])) if rows else []))
        return self._areas_cache[1].codes_at(lat, lon)

    def _area_condition(self, area: str | None, column: str = "area_code", *, codes=None) -> str:
        """An SQL condition selecting the rows of what an area code selects (:meth:`area`: the code
        and every area inside it), or "TRUE" for no area. ``codes``: the codes it selects, when the
        caller has them already (saves reading the areas again)."""
        if area is None:
            return "TRUE"
        from psycopg import sql

        if codes is None:
            selected = self.area(area)
            codes = selected.codes if selected is not None else ()
        codes = sorted({str(area), *codes})
        listed = sql.SQL(", ").join(sql.Literal(c) for c in codes).as_string(self._connection())
        return f"({column} IN ({listed}))"

    def _sample_condition(self, where: str | None, area: str | None) -> str:
        conds = []
        if where:
            conds.append(f"({where})")
        if area is not None:
            conds.append(self._area_condition(area))
        return " AND ".join(conds) if conds else "TRUE"

    # -- reading ----------------------------------------------------------------------------------
    def _copy_out(self, query: str, params: tuple = ()) -> bytes:
        conn = self._connection()
        buf = io.BytesIO()
        with conn.cursor() as cur:
            with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)", params or None) as copy:
                for block in copy:
                    buf.write(block)
        return buf.getvalue()

    def _sample_kinds(self) -> dict[str, str]:
        return {**ALL_FIELDS, **SAMPLE_EXTRA}

    def read_samples(self, columns: list[str] | None = None, where: str | None = None, *,
                     area: str | None = None) -> pd.DataFrame:
        kinds = self._sample_kinds()
        cols = list(columns) if columns is not None else list(ALL_FIELDS)
        unknown = [c for c in cols if c not in kinds]
        if unknown:
            raise StoreError(f"samples has no column {', '.join(unknown)}.")
        select = ", ".join(_select_expr(c, kinds[c]) for c in cols) or "1"
        cond = self._sample_condition(where, area)
        with self._errors("reading samples"):
            raw = self._copy_out(f"SELECT {select} FROM samples WHERE {cond}")
        return _csv_to_frame(raw, cols, kinds)

    def read_samples_chunks(self, columns: list[str] | None = None, where: str | None = None, *,
                            chunk_rows: int = 200_000, area: str | None = None,
                            order_by: str | None = None) -> Iterator[pd.DataFrame]:
        """Samples in DataFrames of at most ``chunk_rows`` rows, through a server-side cursor.

        Memory stays at one chunk whatever the size of the district. ``order_by`` (e.g.
        ``"session, time"``) lets a consumer work per session in one pass. Uses its own connection,
        closed when the iteration ends or is abandoned.
        """
        kinds = self._sample_kinds()
        cols = list(columns) if columns is not None else list(ALL_FIELDS)
        select = ", ".join(_select_expr(c, kinds[c]) for c in cols)
        cond = self._sample_condition(where, area)
        query = f"SELECT {select} FROM samples WHERE {cond}" + (f" ORDER BY {order_by}" if order_by else "")
        conn = self._new_connection()
        conn.autocommit = False
        try:
            with self._errors("reading samples"):
                with conn.cursor(name=f"surveyor_{uuid.uuid4().hex[:8]}") as cur:
                    cur.itersize = chunk_rows
                    cur.execute(query)
                    while True:
                        rows = cur.fetchmany(chunk_rows)
                        if not rows:
                            break
                        data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
                        yield _typed_frame(cols, kinds, data)
        finally:
            conn.close()

    @contextmanager
    def sql_sessions(self, n: int = 2) -> Iterator[list[SqlSession]]:
        """``n`` connections of their own that see one snapshot of the database, for a long job that
        runs its statements side by side (the analysis in the database: one statement per core).

        Each session has its own temporary tables and functions. They share the snapshot of the
        first (REPEATABLE READ, ``pg_export_snapshot``), so a merge committed meanwhile is seen by
        none or all of them. Nothing they do is committed: the transactions are rolled back and the
        connections closed at the end, so a job that fails (or a server that goes away) leaves
        nothing behind.
        """
        import psycopg

        sessions: list[SqlSession] = []
        try:
            with self._errors("opening connections for the analysis"):
                for i in range(n):
                    conn = self._new_connection()
                    conn.autocommit = False
                    session = SqlSession(self, conn)
                    sessions.append(session)
                    session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    if i == 0:
                        snapshot = session.rows("SELECT pg_export_snapshot()")[0][0]
                    else:
                        session.execute("SET TRANSACTION SNAPSHOT " + psycopg.sql.Literal(snapshot).as_string(conn))
            yield sessions
        finally:
            for session in sessions:
                session.close()

    def _table_kinds(self, table: str) -> dict[str, str]:
        rows = self._connection().execute(
            "SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()
        return {name: _kind_of_pg(udt) for name, udt in rows}

    def read_layer(self, layer: str, where: str | None = None, *, area: str | None = None):
        if layer == "samples":
            return self.read_samples(where=where, area=area)
        with self._errors(f"reading {layer}"):
            kinds = self._table_kinds(layer)
            if not kinds:
                return pd.DataFrame()
            kinds.pop("fid", None)
            cols = list(kinds)
            conds = [f"({where})"] if where else []
            if area is not None:
                if layer == "areas":
                    conds.append(self._area_condition(area, "code"))
                elif "area_code" in kinds:
                    conds.append(self._area_condition(area))
            cond = " AND ".join(conds) or "TRUE"
            order = " ORDER BY fid" if layer in ("quarantine", "neighbours", "tracks", "towers") else \
                " ORDER BY merge_id" if layer == "merges" else ""
            select = ", ".join(_select_expr(c, kinds[c]) for c in cols)
            raw = self._copy_out(f'SELECT {select} FROM "{layer}" WHERE {cond}{order}')
        df = _csv_to_frame(raw, cols, kinds)
        geom_cols = [c for c, k in kinds.items() if k == "geom"]
        if not geom_cols:
            return df
        import geopandas as gpd
        import shapely

        g = geom_cols[0]
        hexes = df.pop(g).to_numpy(dtype=object)
        geoms = np.full(len(hexes), None, dtype=object)
        ok = pd.notna(hexes)
        if ok.any():
            # An object array of hex strings as it is: astype(str) would make a fixed-width array as
            # wide as the longest polygon for every row.
            geoms[ok] = shapely.from_wkb(hexes[ok])
        for extra in geom_cols[1:]:
            df.pop(extra)
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326", index=df.index),
                                crs="EPSG:4326")

    def write_layer(self, layer: str, gdf, *, area: str | None = None) -> None:
        """Replace an analysis layer (``area``: only that area's rows), or add/replace ``areas`` rows.

        ``areas`` is shared by every village, so writing it replaces the rows of the codes given and
        keeps the others; samples inside the changed areas get their ``area_code`` again.
        """
        if layer in MERGE_LAYERS or layer in ("merges", "sessions", "meta"):
            raise StoreError(f"Layer {layer} is written by merge, not replaced.")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", layer):
            raise StoreError(f"Not a layer name: {layer!r}.")
        gdf = _to_4326(gdf)
        with self.writer_lock():
            if layer == "areas":
                self._write_areas(gdf)
            else:
                self._write_analysis(layer, gdf, area)

    def _write_areas(self, gdf) -> None:
        if len(gdf) == 0:
            return
        df = pd.DataFrame({k: (gdf[k] if k in gdf.columns else None) for k in AREA_FIELDS}, index=gdf.index)
        if df["code"].isna().any():
            raise StoreError("Every area needs a code.", fix="Give each boundary its Kemendagri code.")
        import shapely

        geom = getattr(gdf, "geometry", None)
        df["geom"] = shapely.to_wkb(np.asarray(geom.values), hex=True) if geom is not None else None
        conn = self._connection()
        fields = {**AREA_FIELDS, "geom": "str"}
        with self._errors("writing areas"), conn.transaction():
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS surveyor_areas_in (code text, name text, level text, "
                         "parent_code text, geom text)")
            conn.execute("TRUNCATE pg_temp.surveyor_areas_in")
            self._copy_frame("pg_temp.surveyor_areas_in", df, fields)
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, LOCK_SCHEMA))
            old_codes = [r[0] for r in conn.execute("SELECT code FROM pg_temp.surveyor_areas_in")]
            conn.execute(
                "INSERT INTO areas (code, name, level, parent_code, geom) "
                "SELECT DISTINCT ON (code) code, name, level, parent_code, "
                "ST_SetSRID(ST_GeomFromWKB(decode(geom, 'hex')), 4326) FROM pg_temp.surveyor_areas_in "
                "ORDER BY code ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, "
                "parent_code = excluded.parent_code, geom = excluded.geom")
            self._areas_cache = None
            conn.execute(
                "UPDATE samples s SET area_code = " + AREA_LOOKUP.format(pt="s.geom") +
                " WHERE s.geom IS NOT NULL AND (s.area_code = ANY(%s) OR EXISTS (SELECT 1 FROM areas a "
                "WHERE a.code = ANY(%s) AND ST_Intersects(a.geom, s.geom)))", (old_codes, old_codes))

    def _write_analysis(self, layer: str, gdf, area: str | None, *, codes=None) -> None:
        import geopandas as gpd

        geom_name = (gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) and gdf._geometry_column_name in gdf
                     else None)
        frame = pd.DataFrame(gdf.drop(columns=[geom_name]) if geom_name else gdf)
        fields: dict[str, str] = {}
        for col in frame.columns:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(col)):
                raise StoreError(f"Column name {col!r} of {layer} is not a plain identifier.")
            fields[str(col)] = _kind_of_dtype(frame[col])
        if geom_name:
            import shapely

            frame = frame.copy()
            frame["geom"] = pd.Series(shapely.to_wkb(np.asarray(gdf.geometry.values), hex=True), index=frame.index,
                                      dtype=object)
            frame.loc[gdf.geometry.isna().to_numpy(), "geom"] = None
        conn = self._connection()
        with self._errors(f"writing {layer}"), conn.transaction():
            exists = bool(self._table_kinds(layer))
            if area is None or not exists:
                conn.execute(f'DROP TABLE IF EXISTS "{layer}"')
                defs = ["fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
                if fields:
                    defs.append(_cols(fields))
                if geom_name:
                    defs.append("geom geometry(Geometry, 4326)")
                conn.execute(f'CREATE TABLE "{layer}" ({", ".join(defs)})')
                if geom_name:
                    conn.execute(f'CREATE INDEX "{layer}_geom" ON "{layer}" USING gist (geom)')
            else:
                have = self._table_kinds(layer)
                for col, kind in fields.items():
                    if col not in have:
                        conn.execute(f'ALTER TABLE "{layer}" ADD COLUMN "{col}" {_PG_TYPES[kind]}')
                if geom_name and "geom" not in have:
                    conn.execute(f'ALTER TABLE "{layer}" ADD COLUMN geom geometry(Geometry, 4326)')
                if "area_code" in have:
                    conn.execute(f'DELETE FROM "{layer}" WHERE {self._area_condition(area, codes=codes)}')
            copy_fields = dict(fields)
            if geom_name:
                copy_fields["geom"] = "str"
            if len(frame):
                self._copy_frame(f'"{layer}"', frame, copy_fields)

    def replace_layers(self, layers: dict[str, Any], meta: dict[str, Any], *, area_codes=None) -> None:
        """Replace whole layers and set meta keys in one transaction (each layer as by
        :meth:`write_layer` without ``area``; psycopg makes the inner blocks savepoints of it).

        With ``area_codes``, only the rows of those area codes are replaced; the other rows stay
        (an analysis of one village on a district's server)."""
        for layer in layers:
            if layer in MERGE_LAYERS or layer in ("merges", "sessions", "meta", "areas"):
                raise StoreError(f"Layer {layer} is not replaced as a whole.")
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", layer):
                raise StoreError(f"Not a layer name: {layer!r}.")
        with self.writer_lock():
            conn = self._connection()
            with self._errors(f"replacing {', '.join(layers)}"), conn.transaction():
                for layer, gdf in layers.items():
                    if area_codes is None:
                        self._write_analysis(layer, _to_4326(gdf), None)
                    else:
                        codes = sorted(set(area_codes))
                        self._write_analysis(layer, _to_4326(gdf), codes[0], codes=codes)
                for key, value in meta.items():
                    conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) "
                                 "DO UPDATE SET value = excluded.value", (key, json.dumps(value, default=str)))

    def merges(self) -> list[MergeRecord]:
        return self._merges("", ())

    def _merges(self, cond: str, params: tuple) -> list[MergeRecord]:
        with self._errors("reading merges"):
            rows = self._connection().execute(
                "SELECT merge_id, source_file, content_hash, format, merged_at, " + ", ".join(MERGE_COUNT_KEYS)
                + f", options FROM merges {cond} ORDER BY merge_id", params).fetchall()
        out = []
        for r in rows:
            counts = {k: int(v or 0) for k, v in zip(MERGE_COUNT_KEYS, r[5:5 + len(MERGE_COUNT_KEYS)])}
            out.append(MergeRecord(int(r[0]), r[1], r[2], r[3], r[4], counts, json.loads(r[-1] or "{}")))
        return out

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._errors("reading meta"):
            row = self._connection().execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._errors("writing meta"):
            self._connection().execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, default=str)))

    def status(self, *, area: str | None = None) -> StoreStatus:
        """What the database holds, or (``area``) what it holds of one area."""
        cond = self._sample_condition(None, area)
        iso = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        with self._errors("reading the status"):
            conn = self._connection()

            def q(sql, p=None):
                return conn.execute(sql, p).fetchall()

            total, first, last, unplaced, devices, days = q(
                f"SELECT count(*), {iso.format('min(time)')}, {iso.format('max(time)')}, "
                "count(*) FILTER (WHERE placed_by IS NULL), count(DISTINCT device), "
                f"count(DISTINCT (time AT TIME ZONE 'UTC')::date) FROM samples WHERE {cond}")[0]
            by_operator = dict(q(f"SELECT coalesce(operator, '(unknown)'), count(*) FROM samples WHERE {cond} "
                                 "GROUP BY 1 ORDER BY 2 DESC, 1"))
            by_kind = dict(q(f"SELECT coalesce(kind, 'signal'), count(*) FROM samples WHERE {cond} "
                             "GROUP BY 1 ORDER BY 2 DESC, 1"))
            by_source_format = dict(q(f"SELECT source_format, count(*) FROM samples WHERE {cond} GROUP BY 1"))
            if area is None:
                sessions = q("SELECT count(*) FROM sessions")[0][0]
                qcond = "TRUE"
            else:
                sessions = q(f"SELECT count(DISTINCT {SESSION_KEY}) FROM samples WHERE {cond}")[0][0]
                qcond = f"merge_id IN (SELECT DISTINCT merge_id FROM samples WHERE {cond})"
            quarantined = q(f"SELECT count(*) FROM quarantine WHERE {qcond}")[0][0]
            by_reason = dict(q(f"SELECT reason, count(*) FROM quarantine WHERE {qcond} GROUP BY 1 ORDER BY 2 DESC, 1"))
            merges = q(f"SELECT count(*) FROM merges WHERE {qcond}")[0][0]
            tracks = q(f"SELECT count(*) FROM tracks WHERE {qcond}")[0][0]
            towers = q(f"SELECT count(*) FROM towers WHERE {qcond}")[0][0]
            neighbours = q(f"SELECT count(*) FROM neighbours WHERE {qcond}")[0][0]
        return StoreStatus(db=self.url, samples=total, by_operator=by_operator, by_kind=by_kind,
                           by_source_format=by_source_format, sessions=sessions, devices=devices, days=days,
                           first=first, last=last, unplaced=unplaced, quarantined=quarantined,
                           quarantine_by_reason=by_reason, merges=merges, neighbours=neighbours,
                           track_points=tracks, towers=towers, analysed_at=self.get_meta("analysed_at"), area=area)


class SqlSession:
    """One connection of :meth:`PostgisStore.sql_sessions`: statements, result rows and frames,
    COPY in, with the store's error messages (a lost connection names the server and the fix)."""

    def __init__(self, store: PostgisStore, conn) -> None:
        self._store = store
        self.conn = conn

    def literal(self, value: Any) -> str:
        """A value as an SQL literal, quoted by the driver (for statements that take no parameters,
        such as CREATE TABLE AS)."""
        from psycopg import sql

        return sql.Literal(value).as_string(self.conn)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            if self.conn.closed or self.conn.broken:
                t = self._store._t
                raise StoreError(f"Lost the connection to PostgreSQL at {t.where} while {action} "
                                 f"({_first_line(t.scrub(exc))}); nothing was written.",
                                 fix="Check that the server is up, then run the same command again.") from None
            raise
        except psycopg.Error:
            with self._store._errors(action):
                raise

    def execute(self, statement: str, params: Any = None, *, action: str = "analysing in the database") -> None:
        with self._errors(action):
            self.conn.execute(statement, params)

    def rows(self, statement: str, params: Any = None, *, action: str = "analysing in the database") -> list[tuple]:
        with self._errors(action):
            return self.conn.execute(statement, params).fetchall()

    def frame(self, statement: str, params: Any = None, *, action: str = "analysing in the database") -> pd.DataFrame:
        """The result as a DataFrame: integer columns as int64 (nullable Int64 with NULLs, never
        floats: H3 cells do not survive float64), floats as float64, anything else (text, arrays
        as lists) as objects."""
        with self._errors(action):
            cur = self.conn.execute(statement, params)
            names = [d.name for d in cur.description]
            rows = cur.fetchall()
        out = {}
        for i, name in enumerate(names):
            values = [r[i] for r in rows]
            present = [v for v in values if v is not None]
            if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
                out[name] = pd.array(values, dtype="Int64") if len(present) < len(values) else \
                    np.asarray(values, dtype=np.int64)
            elif present and all(isinstance(v, float) for v in present):
                out[name] = np.asarray([np.nan if v is None else v for v in values], dtype=float)
            else:
                col = np.empty(len(values), dtype=object)
                col[:] = values
                out[name] = col
        return pd.DataFrame(out, columns=names)

    def copy_rows(self, table: str, columns: list[str], rows, *, action: str = "analysing in the database") -> None:
        """COPY rows (tuples) into ``table``."""
        cols = ", ".join(f'"{c}"' for c in columns)
        with self._errors(action):
            with self.conn.cursor() as cur:
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

    def close(self) -> None:
        try:
            if not self.conn.closed:
                if not self.conn.broken:
                    self.conn.rollback()
                self.conn.close()
        except Exception:  # a connection already gone is closed enough
            pass



def _point_ewkb_hex(lat: np.ndarray, lon: np.ndarray):
    """Points (SRID 4326) as hex EWKB text for COPY, null where a coordinate is missing: built
    from two arrays at once rather than point by point."""
    import binascii

    import pyarrow as pa

    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    ok = np.isfinite(la) & np.isfinite(lo)
    rec = np.empty(int(ok.sum()), dtype=_EWKB_POINT)
    rec["order"], rec["type"], rec["srid"], rec["x"], rec["y"] = 1, 0x20000001, 4326, lo[ok], la[ok]
    hexed = np.frombuffer(binascii.hexlify(rec.tobytes()), dtype=f"S{2 * _EWKB_POINT.itemsize}")
    out = np.full(len(la), None, dtype=object)
    out[ok] = hexed.astype(str) if len(hexed) else hexed
    return pa.array(out, type=pa.string())


_EWKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])


def _in_time_order(table) -> bool:
    """Whether a batch is in (time, sample_id) order already (files usually are: no sort then)."""
    t = table.column("time").to_numpy(zero_copy_only=False).astype("datetime64[ms]").astype(np.int64)
    ids = table.column("sample_id").to_numpy(zero_copy_only=False)
    if len(t) < 2 or np.isnan(ids.astype(float)).any():
        return len(t) < 2
    ids = ids.astype(np.int64)
    same = t[1:] == t[:-1]
    return bool((t[1:] >= t[:-1]).all() and (ids[1:][same] > ids[:-1][same]).all())


def _session_keys(table) -> set[str]:
    """The session keys (the session, or '(none) ' and the source file) of a batch of samples."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    session = table.column("session") if "session" in table.column_names else pa.nulls(n, pa.string())
    source = table.column("source_file") if "source_file" in table.column_names else pa.nulls(n, pa.string())
    fallback = pc.binary_join_element_wise(pa.array(["(none) "] * n, pa.string()), source, "")
    keys = pc.unique(pc.coalesce(session, fallback)).to_pylist()
    return {k for k in keys if k is not None}

def _kind_of_dtype(s: pd.Series) -> str:
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "time"
    return "str"


def _to_4326(gdf):
    crs = getattr(gdf, "crs", None)
    if crs is not None and getattr(gdf, "geometry", None) is not None:
        try:
            if crs.to_epsg() != 4326:
                return gdf.to_crs(4326)
        except Exception:  # an unusual CRS: let to_crs say why
            return gdf.to_crs(4326)
    return gdf
