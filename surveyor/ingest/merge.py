"""``surveyor merge``: files in, samples (or quarantined rows) out, idempotently.

Per source file, under the store's writer lock:

1. unfinished rows of a merge that was killed are deleted (they were never visible);
2. the file's content hash is looked up: a source merged before is skipped (``--replace`` removes
   the earlier merge first and reads the file again, e.g. with a corrected ``--tz``);
3. its format is recognised by content (or forced with ``--format``) and read in batches;
4. every row is validated; rejects go to ``quarantine`` with the line, raw text, reason and message;
5. samples get their ``sample_id`` and H3 cell; those already stored count as duplicates;
6. the ``merges`` row is written last: only then do the file's rows become visible. A merge that
   dies midway therefore leaves a database that opens and holds nothing of that file.

After each file, samples without a position are placed by time from GPS tracks when possible.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from surveyor import __version__
from surveyor.config import TimeZone, check_value
from surveyor.errors import InputError, InvalidRequest, SurveyorError
from surveyor.geo.cells import h3_cells
from surveyor.ingest import detect
from surveyor.ingest.base import Batch, ReadContext
from surveyor.ingest.helper import Helper, HelperFailed
from surveyor.ingest.identity import file_hash, sample_ids
from surveyor.ingest.large_files import merge_helper, wanted
from surveyor.ingest.normalize import choose
from surveyor.ingest.place import Placement, place_unplaced
from surveyor.ingest.validate import validate
from surveyor.store._arrow import drop_empty_columns, sample_table
from surveyor.store.base import MERGE_COUNT_KEYS, MergeRecord, Store
from surveyor.store.sessions import combine_sessions, session_aggregates

log = logging.getLogger(__name__)

# Extensions a folder scan passes over: outputs and documents, never survey data.
NOT_DATA = {".gpkg", ".pdf", ".png", ".jpg", ".jpeg", ".html", ".htm", ".md", ".toml", ".py", ".zip",
            ".xlsx", ".kml", ".lock", ".json~", ".gpkg-journal", ".gpkg-wal", ".gpkg-shm", ".pyc",
            ".geojson", ".parquet", ".bak"}
# Folders surveyor writes its outputs into (``init`` makes maps/ and reports/; backups go to
# backups/; the demo writes surveyor-demo/): a folder scan (``merge .``) passes over them and says so.
OUTPUT_FOLDERS = ("maps", "reports", "exports", "backups", "surveyor-demo")
# Standard input is copied to a temporary file before it is read; more than this is refused.
STDIN_MAX_BYTES = 1 << 30


@dataclass
class FileResult:
    """What one source brought: its format and where each of its rows went (``read`` is always the
    sum of the others), why rows were quarantined, and whether it was merged before (``skipped``)
    or could not be read (``error``)."""

    file: str
    format: str | None = None
    read: int = 0
    added: int = 0
    duplicates: int = 0
    quarantined: int = 0
    neighbours: int = 0
    track_points: int = 0
    towers: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    skipped: bool = False
    error: str | None = None
    # Input columns no field took; samples that were in the database already (from another copy
    # of the same walk: a re-saved, cut or exported file); warnings (e.g. a missing --operator).
    unused_columns: list[str] = field(default_factory=list)
    already_stored: int = 0
    warnings: list[str] = field(default_factory=list)
    # Samples outside the survey's scope (kept, but left out of outputs): far from the area,
    # outside the period, of operators not configured, and likely misspellings of configured ones.
    far_from_area: int = 0
    outside_period: int = 0
    other_operators: dict[str, int] = field(default_factory=dict)
    near_misses: dict[str, str] = field(default_factory=dict)
    far_example: tuple[float, float] | None = None

    def counts(self) -> dict[str, int]:
        """The row counts, by the keys of :data:`surveyor.store.base.MERGE_COUNT_KEYS`."""
        return {k: getattr(self, k) for k in MERGE_COUNT_KEYS}

    def to_dict(self) -> dict[str, Any]:
        """An entry of ``per_file`` in ``surveyor merge --json``."""
        d: dict[str, Any] = {"file": self.file, "format": self.format, **self.counts(), "by_reason": self.by_reason}
        if self.skipped:
            d["skipped"] = "merged before (use --replace to read it again)"
        if self.error:
            d["error"] = self.error
        d["unused_columns"] = list(self.unused_columns)
        d["already_stored"] = self.already_stored
        d["out_of_scope"] = {"far_from_area": self.far_from_area, "outside_period": self.outside_period,
                             "other_operators": dict(self.other_operators), "near_misses": dict(self.near_misses)}
        if self.warnings:
            d["warnings"] = list(self.warnings)
        return d


@dataclass
class MergeSummary:
    """What a merge did: one :class:`FileResult` per source, and the samples then placed from GPS
    tracks. The totals add up the files; :meth:`to_dict` is ``surveyor merge --json``."""

    per_file: list[FileResult] = field(default_factory=list)
    placed_from_tracks: Placement | None = None
    # What a folder scan passed over, with why: (path, reason).
    passed_over: list[tuple[str, str]] = field(default_factory=list)

    def _total(self, key: str) -> int:
        return sum(getattr(r, key) for r in self.per_file)

    @property
    def files(self) -> int:
        return len(self.per_file)

    @property
    def read(self) -> int:
        return self._total("read")

    @property
    def added(self) -> int:
        return self._total("added")

    @property
    def duplicates(self) -> int:
        return self._total("duplicates")

    @property
    def quarantined(self) -> int:
        return self._total("quarantined")

    @property
    def neighbours(self) -> int:
        return self._total("neighbours")

    @property
    def track_points(self) -> int:
        return self._total("track_points")

    @property
    def towers(self) -> int:
        return self._total("towers")

    @property
    def by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.per_file:
            for k, v in r.by_reason.items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def failed(self) -> list[FileResult]:
        """The sources that could not be read."""
        return [r for r in self.per_file if r.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            **{k: self._total(k) for k in MERGE_COUNT_KEYS},
            "by_reason": self.by_reason,
            "placed_from_tracks": self.placed_from_tracks.to_dict() if self.placed_from_tracks else None,
            "failed_files": len(self.failed),
            "passed_over": [{"path": p, "reason": r} for p, r in self.passed_over],
            "per_file": [r.to_dict() for r in self.per_file],
        }


@dataclass
class MergeOptions:
    fmt: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    tz: str = "Asia/Jakarta"
    operator: str | None = None
    volunteer: str | None = None
    device: str | None = None
    max_gap_s: float = 30.0
    replace: bool = False
    chunk_rows: int = 100_000
    date_order: str | None = None
    stdin_max_bytes: int = STDIN_MAX_BYTES
    # The survey's settings: with them, samples outside its scope (far from the area, outside the
    # period, operators not configured or misspelt) are counted and reported per file.
    settings: Any = None


def expand_sources(sources: Iterable[str], passed_over: list[tuple[str, str]] | None = None
                   ) -> list[tuple[str, Path | None]]:
    """(display name, path) for every file named or found in a folder; '-' is standard input.

    A path that does not exist comes back with path None so it is reported, not fatal. A folder
    scan passes over hidden files, documents and outputs, surveyor's output folders and the files
    surveyor wrote (a GPX of ``revisit``); those are added to ``passed_over`` with the reason.
    """
    out: list[tuple[str, Path | None]] = []
    skipped = passed_over if passed_over is not None else []
    for src in sources:
        if src == "-":
            out.append(("-", None))
            continue
        p = Path(src)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if any(part.startswith(".") for part in rel.parts) or not f.is_file():
                    continue
                folder = next((part for part in rel.parts[:-1] if part in OUTPUT_FOLDERS), None)
                if folder is not None:
                    top = p / Path(*rel.parts[:rel.parts.index(folder) + 1])
                    if not any(s == str(top) for s, _ in skipped):
                        skipped.append((str(top), "a folder surveyor writes its outputs into"))
                    continue
                if f.suffix.lower() in NOT_DATA:
                    continue
                if _written_by_surveyor(f):
                    skipped.append((str(f), "written by surveyor (revisit or export), not survey data"))
                    continue
                out.append((str(f), f))
        elif p.is_file():
            out.append((str(p), p))
        else:
            out.append((str(p), None))
    return out


def _written_by_surveyor(path: Path) -> bool:
    """A GPX surveyor wrote (``revisit --format gpx``): waypoints to walk to, not measurements."""
    if path.suffix.lower() != ".gpx":
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(2048)
    except OSError:
        return False
    return b'creator="surveyor' in head


def _raw_lines(path: Path, wanted: set[int]) -> dict[int, str]:
    """The text of some lines of a file (for quarantined rows), in one streaming pass."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    last = max(wanted)
    with open(path, "rb") as fh:
        for i, raw in enumerate(fh, 1):
            if i in wanted:
                found[i] = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if i >= last:
                break
    return found


def merge_sources(store: Store, sources: Iterable[str], options: MergeOptions | None = None, *,
                  progress: Callable[[FileResult], None] | None = None,
                  helper: Helper | None = None) -> MergeSummary:
    """Merge files into the store; returns what was done (``surveyor merge --json`` is its ``to_dict()``).

    A file that cannot be read at all is reported in its :class:`FileResult` (``error``) while the
    other files still merge; the caller exits 1 when any file failed. ``progress`` is given each
    file's result as soon as it is merged. Large files are prepared in ``helper`` (one is started
    when needed, and stopped at the end, if none is given).
    """
    if helper is None:
        own = merge_helper()
        try:
            return merge_sources(store, sources, options, progress=progress, helper=own)
        finally:
            own.stop()
    opts = options or MergeOptions()
    problem = check_value("timezone", opts.tz)
    if problem:
        raise InvalidRequest(f"time zone {opts.tz!r} {problem}.", fix=f"Use {TimeZone().describe()}.")
    tz = ZoneInfo(opts.tz)
    forced = None if opts.fmt == "auto" else detect.get_reader(opts.fmt)
    _remember_settings(store, opts.settings)
    scope = None
    if opts.settings is not None:
        from surveyor.geo.scope import Scope

        scope = Scope.of(opts.settings)
    summary = MergeSummary()
    for display, path in expand_sources(sources, summary.passed_over):
        result = FileResult(file=display)
        summary.per_file.append(result)
        tmp: Path | None = None
        try:
            if path is None and display == "-":
                tmp = path = _stdin_copy(opts.stdin_max_bytes)
            if path is None:
                raise InputError("no such file or folder.", path=display, fix="Check the path.")
            _merge_one(store, display, path, tz, forced, opts, result, helper, scope)
            if progress:
                progress(result)
        except SurveyorError as exc:
            _forget_counts(result)
            result.error = str(exc)
            log.debug("%s", exc)
        except OSError as exc:
            _forget_counts(result)
            result.error = f"{display}: cannot read ({exc.strerror or exc})."
            log.debug("%s", result.error)
        except KeyboardInterrupt:
            raise MergeStopped(display) from None
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    helper.release()  # it exits while the merge places samples and reports
    with store.writer_lock():
        summary.placed_from_tracks = place_unplaced(store, max_gap_s=opts.max_gap_s)
    return summary


class MergeStopped(SurveyorError):
    """The merge was stopped (Ctrl-C, SIGTERM) while merging a file: nothing of it was kept
    (files merged before it in the same command were)."""

    def __init__(self, display: str) -> None:
        super().__init__(f"stopped: nothing of {display} was kept; run the same command again.")


def _forget_counts(result: FileResult) -> None:
    """A file that failed kept nothing (its merge never became visible): its counts say so."""
    for key in MERGE_COUNT_KEYS:
        setattr(result, key, 0)
    result.by_reason = {}
    result.already_stored = 0


def _stdin_copy(limit: int) -> Path:
    """Standard input copied to a temporary file, at most ``limit`` bytes (an endless stream is
    refused, not spooled until the disk is full); the file is removed when the copy fails. Copies
    left by a merge that was killed (kill -9: no code runs) are removed by the next one."""
    _sweep_stdin_copies()
    fd, name = tempfile.mkstemp(prefix=f"surveyor-stdin-{os.getpid()}-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = 0
            source = sys.stdin.buffer
            while True:
                block = source.read(1 << 20)
                if not block:
                    break
                size += len(block)
                if size > limit:
                    raise InputError(f"standard input is larger than {limit // (1 << 20)} MB; nothing of it was kept.",
                                     path="-", fix="Save it to a file and merge the file, or raise --max-stdin-mb.")
                out.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _sweep_stdin_copies() -> None:
    """Remove standard-input copies whose merge process is gone."""
    import re

    for f in Path(tempfile.gettempdir()).glob("surveyor-stdin-*"):
        m = re.match(r"surveyor-stdin-(\d+)-", f.name)
        if m is None:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except (PermissionError, OverflowError, OSError):
            continue


def _merge_one(store: Store, display: str, path: Path, tz: ZoneInfo, forced, opts: MergeOptions,
               result: FileResult, helper: Helper | None = None, scope=None) -> None:
    content_hash = file_hash(path)
    with store.writer_lock():
        store.cleanup_unfinished()
        earlier = store.find_merges(content_hash)
        if earlier and not opts.replace:
            rec = earlier[-1]
            result.format = rec.format
            result.skipped = True
            c = rec.counts
            result.by_reason = dict(rec.options.get("by_reason") or {})
            # Everything it brought is in the store already: its samples count as duplicates now.
            result.read, result.added = c.get("read", 0), 0
            result.duplicates = c.get("added", 0) + c.get("duplicates", 0)
            result.quarantined, result.neighbours = c.get("quarantined", 0), c.get("neighbours", 0)
            result.track_points, result.towers = c.get("track_points", 0), c.get("towers", 0)
            return
        reader = forced or detect.detect(path, display, opts.mapping)
        result.format = reader.name
        if earlier:
            store.delete_merges([m.merge_id for m in earlier])
        ctx = ReadContext(source_file=display, path=path, content_hash=content_hash, tz=tz,
                          operator=opts.operator, volunteer=opts.volunteer, device=opts.device,
                          mapping=dict(opts.mapping), max_gap_s=opts.max_gap_s, chunk_rows=opts.chunk_rows,
                          date_order=opts.date_order,
                          scope_area=_wkb(scope.area) if scope is not None and scope.area is not None else None)
        if reader.name == "ookla" and not opts.operator:
            result.warnings.append("Ookla exports do not name the operator: its samples are stored without one "
                                   "(give --operator NAME, e.g. --operator Telkomsel, with --replace).")
        merge_id = store.new_merge_id()
        quarantine: list[dict] = []
        # Repeats within the file are caught while preparing; the database is asked only when it
        # holds samples of other merges (never for a first import).
        check_store = store.has_samples(other_than_merge=merge_id)
        sessions: list[pd.DataFrame] | None = []  # None once they no longer fit what was added
        times: list[np.ndarray] = []
        operators: dict[str, int] = {}
        with store.bulk_load(merge_id):
            for prepared in prepared_batches(reader, path, ctx, merge_id, helper):
                if not _store_batch(store, prepared, result, quarantine, check_store, sessions):
                    sessions = None  # some samples were stored already: sessions are recounted from the table
                if scope is not None:
                    _tally_scope(prepared, result, times, operators)
        if scope is not None:
            _scope_report(store, scope, result, times, operators)
        _store_quarantine(store, path, display, merge_id, quarantine, result)
        if result.read == 0:
            raise InputError("has a header but no data rows." if path.stat().st_size else "the file is empty.",
                             path=display, fix="Check that the export finished and copy the file again.")
        session_rows = combine_sessions(pd.concat(sessions, ignore_index=True)) if sessions else None
        store.commit_merge(MergeRecord(
            merge_id=merge_id, source_file=display, content_hash=content_hash, format=reader.name,
            merged_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            counts=result.counts(),
            options={"tz": opts.tz, "operator": opts.operator, "volunteer": opts.volunteer, "device": opts.device,
                     "mapping": opts.mapping, "by_reason": result.by_reason, "surveyor": __version__}),
            **({"sessions": session_rows} if session_rows is not None else {}))


def _remember_settings(store: Store, settings) -> None:
    """The database keeps its survey's settings (outputs made from elsewhere find its exclusion
    zones); a merge without settings records the defaults it merged with, if none are kept yet."""
    from surveyor.config import Settings
    from surveyor.store.survey import remember

    try:
        with store.writer_lock():
            remember(store, settings if settings is not None else Settings())
    except Exception as exc:  # never a reason for a merge to fail
        log.debug("settings not kept in the database: %s", exc)


def _wkb(geom) -> bytes:
    import shapely

    return shapely.to_wkb(geom)


def _tally_scope(p: Prepared, result: FileResult, times: list[np.ndarray], operators: dict[str, int]) -> None:
    result.far_from_area += p.far
    if result.far_example is None and p.far_example is not None:
        result.far_example = p.far_example
    if p.times is not None and len(p.times):
        times.append(p.times)
    for name, n in (p.operators or {}).items():
        operators[name] = operators.get(name, 0) + n


def _scope_report(store: Store, scope, result: FileResult, times: list[np.ndarray], operators: dict[str, int]) -> None:
    """Samples of the file outside the period, and operators that are not the survey's."""
    from surveyor.geo.scope import near_miss

    if times:
        t = np.concatenate(times).astype(float)
        newest = None
        try:
            sessions = store.read_layer("sessions")
            if len(sessions) and "last" in sessions.columns:
                last = pd.to_datetime(sessions["last"], utc=True, errors="coerce").max()
                newest = None if pd.isna(last) else last.timestamp()
        except Exception:  # a report, never a reason for a merge to fail
            newest = None
        result.outside_period = int(scope.old(t, newest).sum())
    wanted = {o.lower() for o in scope.operators}
    for name, n in sorted(operators.items()):
        if name.lower() in wanted:
            continue
        result.other_operators[name] = n
        guess = near_miss(name, scope.operators)
        if guess:
            result.near_misses[name] = guess


class _SeenIds:
    """sample_ids seen so far in one file: sorted runs searched with numpy, merged as they grow so
    there are only ever a few. A table of which low bits have been seen answers "never seen" for
    almost every new id without a search (ids are hashes, so their low bits are spread evenly)."""

    LOW_BITS = 24  # a 16 MB table: under one id in sixteen needs the search at a million ids

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []
        self.low_seen = np.zeros(1 << self.LOW_BITS, dtype=bool)

    def _low(self, ids: np.ndarray) -> np.ndarray:
        return ids & ((1 << self.LOW_BITS) - 1)

    def known(self, ids: np.ndarray) -> np.ndarray:
        found = np.zeros(len(ids), dtype=bool)
        maybe = np.flatnonzero(self.low_seen[self._low(ids)])
        if not len(maybe):
            return found
        candidates = ids[maybe]
        hit = np.zeros(len(candidates), dtype=bool)
        for run in self.runs:
            pos = np.searchsorted(run, candidates).clip(0, len(run) - 1)
            hit |= run[pos] == candidates
        found[maybe] = hit
        return found

    def add(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        self.low_seen[self._low(ids)] = True
        self.runs.append(np.sort(ids))
        while len(self.runs) > 1 and len(self.runs[-1]) * 2 >= len(self.runs[-2]):
            last = self.runs.pop()
            # Two sorted runs: a stable (Timsort) sort merges them in linear time.
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")


@dataclass
class Prepared:
    """A batch after all the work that needs no database, ready to store.

    ``samples`` holds the batch's samples not seen earlier in the file, as an Arrow table of the
    samples layer (geometry included), with their ``sample_ids``; ``sessions`` their per-session
    aggregates. Neighbours, track points and towers carry their merge_id (and links) already.
    """

    rows: int
    rejects: list[dict]
    samples: Any = None
    sample_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    repeated: int = 0
    sessions: pd.DataFrame | None = None
    neighbours: pd.DataFrame | None = None
    tracks: pd.DataFrame | None = None
    towers: pd.DataFrame | None = None
    unused_columns: list[str] | None = None
    # For the scope report: samples outside the area (and one of them), times (s), operators.
    far: int = 0
    far_example: tuple[float, float] | None = None
    times: np.ndarray | None = None
    operators: dict[str, int] | None = None


@lru_cache(maxsize=4)
def _area(wkb: bytes):
    import shapely

    geom = shapely.from_wkb(wkb)
    shapely.prepare(geom)
    return geom


def _scope_counts(good: pd.DataFrame, ctx: ReadContext, out: Prepared) -> None:
    lat = good["lat"].to_numpy(dtype=float)
    lon = good["lon"].to_numpy(dtype=float)
    if ctx.scope_area is not None:
        import shapely

        placed = np.isfinite(lat) & np.isfinite(lon)
        far = np.zeros(len(lat), dtype=bool)
        far[placed] = ~shapely.contains_xy(_area(ctx.scope_area), lon[placed], lat[placed])
        out.far = int(far.sum())
        if out.far:
            i = int(np.flatnonzero(far)[0])
            out.far_example = (round(float(lat[i]), 5), round(float(lon[i]), 5))
    t = good["time"]
    out.times = (t.astype("datetime64[s, UTC]").astype("int64").to_numpy(dtype=np.int64)
                 if isinstance(t.dtype, pd.DatetimeTZDtype) else None)
    if "operator" in good.columns:
        counts = good["operator"].value_counts(dropna=True)
        out.operators = {str(k): int(v) for k, v in counts.items()}


def prepare(batch: Batch, ctx: ReadContext, fmt: str, merge_id: int, seen: _SeenIds) -> Prepared:
    """Validate a batch, give its samples identities, cells and provenance, drop repeats within the
    file and convert them for the store (pure, no I/O; runs in the reading process)."""
    rejects = [{"line": r.line, "raw": r.raw, "reason": r.reason, "message": r.message} for r in batch.rejects]
    out = Prepared(batch.rows, rejects, unused_columns=batch.unused_columns)
    line_to_id: dict[int, int] = {}
    df = batch.samples
    if df is not None and len(df):
        good, bad = validate(df)
        for row in bad.itertuples(index=False):
            rejects.append({"line": None if pd.isna(row.source_line) else int(row.source_line), "raw": None,
                            "reason": row.reason, "message": row.message})
        if len(good):
            good = good.reset_index(drop=True)
            ids = sample_ids(good, ctx.content_hash)
            if batch.neighbours is not None and len(batch.neighbours) and "source_line" in good.columns:
                line_to_id = dict(zip(good["source_line"].astype("int64"), ids))
            first = ~pd.Series(ids).duplicated().to_numpy() & ~seen.known(ids)
            seen.add(ids[first])
            out.repeated = int((~first).sum())
            if first.any():
                good = good[first].reset_index(drop=True)
                good["sample_id"] = ids[first]
                good["h3_10"] = h3_cells(good["lat"], good["lon"], 10)
                good["placed_by"] = choose((good["lat"].notna() & good["lon"].notna()).to_numpy(), "gps", None)
                good["source_format"] = fmt
                good["source_file"] = ctx.source_file
                good["merge_id"] = merge_id
                if ctx.scope_area is not None:
                    _scope_counts(good, ctx, out)
                table = sample_table(good)
                out.sessions = session_aggregates(table)
                # Dropped here already, so the hand-over to the merging process carries less.
                out.samples = drop_empty_columns(table)
                out.sample_ids = ids[first]
    if batch.neighbours is not None and len(batch.neighbours):
        nb = batch.neighbours.copy()
        serving = nb["serving_line"] if "serving_line" in nb.columns else pd.Series([None] * len(nb))
        nb["sample_id"] = [line_to_id.get(int(v)) if pd.notna(v) else None for v in serving]
        nb["merge_id"] = merge_id
        out.neighbours = nb
    if batch.tracks is not None and len(batch.tracks):
        tr = batch.tracks.copy()
        tr["merge_id"] = merge_id
        tr["source_file"] = ctx.source_file
        if ctx.device and "device" not in tr.columns:
            tr["device"] = ctx.device
        out.tracks = tr
    if batch.towers is not None and len(batch.towers):
        tw = batch.towers.copy()
        tw["merge_id"] = merge_id
        out.towers = tw
    return out


def prepared_batches(reader, path: Path, ctx: ReadContext, merge_id: int,
                     helper: Helper | None = None) -> Iterator[Prepared]:
    """The file's batches, prepared: in the helper process for large files, else in this one."""
    if helper is None or not wanted(path):
        yield from prepare_file(reader, path, ctx, merge_id)
        return

    def died(code: int | None) -> Exception:
        return InputError(f"the process reading it stopped (exit code {code}).", path=ctx.source_file,
                          fix="Run the merge again; if it stops again, the machine may be out of memory.")

    try:
        yield from helper.run(prepare_file, (reader, path, ctx, merge_id), died)
    except HelperFailed as exc:
        raise InputError(f"cannot be read ({exc}).", path=ctx.source_file) from None


def prepare_file(reader, path: Path, ctx: ReadContext, merge_id: int) -> Iterator[Prepared]:
    """Read a file and prepare its batches one by one (in this process or in the helper)."""
    seen = _SeenIds()
    for batch in reader.read(path, ctx):
        yield prepare(batch, ctx, reader.name, merge_id, seen)


def _store_batch(store: Store, p: Prepared, result: FileResult, quarantine: list[dict], check_store: bool,
                 sessions: list[pd.DataFrame] | None) -> bool:
    """Store a prepared batch; False when some of its samples were in the database already (its
    session aggregates then do not fit what was added)."""
    result.read += p.rows
    result.duplicates += p.repeated
    quarantine.extend(p.rejects)
    if p.unused_columns:
        result.unused_columns.extend(c for c in p.unused_columns if c not in result.unused_columns)
    exact = True
    table, ids = p.samples, p.sample_ids
    if table is not None and table.num_rows:
        if check_store:
            stored = np.asarray(store.existing_sample_ids(ids), dtype=bool)
            if stored.any():
                table, ids = table.filter(pa.array(~stored)), ids[~stored]
                result.duplicates += int(stored.sum())
                result.already_stored += int(stored.sum())
                exact = False
        result.added += len(ids)
        if len(ids):
            store.append("samples", table)
            if sessions is not None and p.sessions is not None:
                sessions.append(p.sessions)
    result.neighbours += _append(store, "neighbours", p.neighbours)
    result.track_points += _append(store, "tracks", p.tracks)
    result.towers += _append(store, "towers", p.towers)
    return exact


def _append(store: Store, layer: str, frame: pd.DataFrame | None) -> int:
    """Append a batch's rows of one layer; how many there were."""
    if frame is None or not len(frame):
        return 0
    store.append(layer, frame)
    return len(frame)


def _store_quarantine(store: Store, path: Path, display: str, merge_id: int, rows: list[dict],
                      result: FileResult) -> None:
    if not rows:
        return
    need = {r["line"] for r in rows if r["raw"] is None and r["line"] is not None}
    raw = _raw_lines(path, need)
    for r in rows:
        if r["raw"] is None:
            r["raw"] = raw.get(r["line"], "")
        result.by_reason[r["reason"]] = result.by_reason.get(r["reason"], 0) + 1
    result.quarantined += len(rows)
    df = pd.DataFrame(rows)
    df["merge_id"] = merge_id
    df["source_file"] = display
    store.append("quarantine", df)
