"""What every input reader produces, and how readers are found.

A reader is a module in ``surveyor.ingest`` with a module-level ``READER = Reader(...)``. It turns
one file into :class:`Batch` objects: rows that became samples, rows it rejected (with the line,
the raw text, a reason code and a message), and rows that are not samples (neighbour cells, GPS
track points, towers). Every data row of the file lands in exactly one of those, so the merge can
prove ``read == added + duplicates + quarantined + neighbours + track_points + towers``.

Readers stream: they never hold a whole file in memory (a 500 MB export must merge), yielding
batches of about ``ctx.chunk_rows`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd


@dataclass
class Reject:
    """One input row that cannot be used, with why: it goes to the ``quarantine`` layer."""

    line: int | None
    raw: str
    reason: str
    message: str


@dataclass
class ReadContext:
    """What a reader knows about the file it reads and the user's options.

    ``source_file`` is the name shown to users and stored as provenance; ``path`` is where the
    bytes are (a temporary copy for standard input). ``tz`` interprets local timestamps without a
    zone. ``operator``, ``volunteer`` and ``device`` fill (never override) fields a format lacks.
    ``mapping`` is ``--map COLUMN=FIELD`` for generic tables.
    """

    source_file: str
    path: Path
    content_hash: str
    tz: ZoneInfo
    operator: str | None = None
    volunteer: str | None = None
    device: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    max_gap_s: float = 30.0
    chunk_rows: int = 100_000
    date_order: str | None = None  # "dmy" or "mdy" for slash dates; None: decided from the data
    # The survey's area grown by its max_distance_m (WKB, EPSG:4326): samples outside are counted.
    scope_area: bytes | None = None


@dataclass
class Batch:
    """Part of a file, as read.

    ``samples``: a DataFrame of sample fields (any subset of :data:`surveyor.model.SAMPLE_FIELDS`),
    with ``time`` as tz-aware UTC timestamps (NaT when unreadable: the merge quarantines it) and a
    ``source_line`` column (1-based line in the file where the row starts).
    ``neighbours``: neighbour-cell rows with the ``serving_line`` of their serving sample.
    ``tracks``: GPS track points (``time``, ``lat``, ``lon``, optional ``accuracy_m``, ``altitude_m``,
    ``speed_kmh``, ``device``, ``source_line``). ``towers``: tower rows (see ``TOWER_FIELDS``).
    """

    samples: pd.DataFrame | None = None
    rejects: list[Reject] = field(default_factory=list)
    neighbours: pd.DataFrame | None = None
    tracks: pd.DataFrame | None = None
    towers: pd.DataFrame | None = None
    # Columns of the input that no field takes (said in the merge summary); the first batch says.
    unused_columns: list[str] | None = None

    @property
    def rows(self) -> int:
        return sum(len(x) for x in (self.samples, self.neighbours, self.tracks, self.towers)
                   if x is not None) + len(self.rejects)


@dataclass(frozen=True)
class Reader:
    """A file format: how to recognise it and how to read it."""

    name: str
    description: str
    # sniff(head_text, path) -> True when the file is in this format. ``head_text`` is the first
    # 64 KiB decoded as UTF-8 (BOM removed, undecodable bytes replaced).
    sniff: Callable[[str, Path], bool]
    read: Callable[[Path, ReadContext], Iterator[Batch]]
    # Generic readers are tried last.
    generic: bool = False
