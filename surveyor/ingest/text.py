"""Reading text exports line by line and record by record, so that one broken row costs one row.

Files come from phones, spreadsheets and e-mail: Windows, Unix and old Mac line ends (a bare
carriage return), a byte-order mark, UTF-16 from some Excel versions, records wrapped over several
lines by a mailer, and stray double quotes typed into a note. A quote that opens a value and never
closes makes a plain CSV parser read the rest of the file as that one value: seventy rows vanish
into a volunteer's note, with the totals still adding up. :func:`records` reads a delimited file
with quotes honoured, but never lets an unclosed quote run past its own row: a value may span
lines only while the lines it swallows are not rows of their own, for at most
``MAX_RECORD_LINES`` lines; otherwise the row with the stray quote is read with the quote as
plain text (when that gives the header's number of fields) or quarantined alone, and reading goes
on at the next line.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

# A quoted value spanning more lines than this is a quote that never closed, not a wrapped record.
MAX_RECORD_LINES = 8
READ_BYTES = 1 << 20


def open_text(path: Path) -> io.TextIOWrapper:
    """Open a text export for streaming: BOM removed, UTF-16 recognised, bad bytes replaced.

    ``newline=""`` splits lines at ``\\r\\n``, ``\\n`` and a bare ``\\r`` alike and returns them
    with their line ends, so the record assembly below sees where each physical line ended.
    """
    with open(path, "rb") as fh:
        start = fh.read(4)
    encoding = "utf-16" if start.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    return open(path, encoding=encoding, errors="replace", newline="")


def binary_lines(fh: BinaryIO) -> Iterator[tuple[int, bytes, bool]]:
    """``(line_number, line, complete)`` for every physical line of a binary file.

    Lines end at ``\\r\\n``, ``\\n`` or a bare ``\\r`` (files saved by old Mac tools and some
    serial loggers); the line end is removed. ``complete`` is False only for a last line without a
    line end: what a crash mid-write leaves.
    """
    buf = b""
    line_no = 0
    while True:
        chunk = fh.read(READ_BYTES)
        buf += chunk
        start = 0
        while True:
            cr, lf = buf.find(b"\r", start), buf.find(b"\n", start)
            ends = [i for i in (cr, lf) if i >= 0]
            if not ends:
                break
            end = min(ends)
            if buf[end:end + 1] == b"\r":
                if end + 1 == len(buf) and chunk:
                    break  # a \r at the end of the block may be the first half of \r\n
                step = 2 if buf[end + 1:end + 2] == b"\n" else 1
            else:
                step = 1
            line_no += 1
            yield line_no, buf[start:end], True
            start = end + step
        buf = buf[start:]
        if not chunk:
            break
    if buf:
        yield line_no + 1, buf, False


def open_quote(text: str, delimiter: str) -> bool:
    """Whether a quoted value is still open at the end of ``text``, by the csv module's rules:
    a quote is special only at the start of a value, and ``""`` inside a quoted value is a quote."""
    if '"' not in text:
        return False
    inside = False
    at_start = True
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if inside:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    inside = False
            at_start = False
        elif c == '"' and at_start:
            inside = True
            at_start = False
        elif c == delimiter or c in "\r\n":
            at_start = True
        else:
            at_start = False
        i += 1
    return inside


def split_fields(text: str, delimiter: str, *, literal: bool = False) -> list[str]:
    """The fields of one record (quotes honoured, or taken as plain text with ``literal``)."""
    try:
        return next(csv.reader([text], delimiter=delimiter, quoting=csv.QUOTE_NONE if literal else csv.QUOTE_MINIMAL,
                               strict=False))
    except (csv.Error, StopIteration):
        return []


def records(lines: Iterable[tuple[int, str]], *, delimiter: str, width: int,
            join: Callable[[str, str, bool], str] | None = None,
            starts_record: Callable[[str], bool] | None = None,
            complete: Callable[[list[str]], bool] | None = None,
            ) -> Iterator[tuple[int, str, list[str] | None]]:
    """Assemble physical lines into records: ``(first_line, raw_text, fields)``.

    ``fields`` is None for a row that could not be read (the caller quarantines it). Blank lines
    are skipped.

    Parameters
    ----------
    lines
        ``(line_number, text)`` of each physical line, line ends removed.
    delimiter, width
        The table's delimiter and its number of columns (the header's).
    join
        How a line continues a record: ``join(record_so_far, line, inside_quote)``; default a
        line break inside a quoted value (what spreadsheets write for a cell with several lines).
    starts_record
        When given, a line for which it is true outside a quoted value begins a new record even if
        the previous one is still short (Ookla exports wrapped by a mailer).
    complete
        Whether a record with closed quotes is complete (default: always; Ookla needs the
        header's number of fields, because mailers also wrap outside quotes).
    """
    join = join or (lambda text, piece, inside: text + "\n" + piece)
    complete = complete or (lambda fields: True)
    source = iter(lines)
    backlog: deque[tuple[int, str]] = deque()
    parts: list[tuple[int, str]] = []
    text = ""

    def alone(piece: str) -> bool:
        # A row in its own right: balanced quotes and the header's number of fields.
        return not open_quote(piece, delimiter) and len(split_fields(piece, delimiter)) >= width

    def give_up() -> tuple[int, str, list[str] | None]:
        # The first line's quote never closed properly: read it with its quotes as plain text
        # when that gives the header's columns, else set it aside; its followers are read again.
        line_no, piece = parts[0]
        backlog.extendleft(reversed(parts[1:]))
        literal = split_fields(piece, delimiter, literal=True)
        return line_no, piece, (literal if len(literal) == width else None)

    while True:
        item = backlog.popleft() if backlog else next(source, None)
        if item is None:
            if not parts:
                return
            if len(parts) == 1 and not open_quote(text, delimiter):
                yield parts[0][0], parts[0][1], None  # a short last record that never completed
                parts, text = [], ""
                continue
            yield give_up()
            parts, text = [], ""
            continue
        _line_no, piece = item
        if not parts:
            if not piece.strip():
                continue
            parts, text = [item], piece
        else:
            inside = open_quote(text, delimiter)
            if alone(piece) or (not inside and starts_record is not None and starts_record(piece)):
                backlog.appendleft(item)  # read again as the start of the next record
                if len(parts) == 1 and not inside:
                    yield parts[0][0], parts[0][1], None  # short, and the next row has begun
                else:
                    yield give_up()
                parts, text = [], ""
                continue
            parts.append(item)
            text = join(text, piece, inside)
        if not open_quote(text, delimiter):
            fields = split_fields(text, delimiter)
            if complete(fields):
                if len(parts) > 1 and len(fields) > width:
                    yield give_up()
                else:
                    yield parts[0][0], "\n".join(p for _, p in parts), fields
                parts, text = [], ""
                continue
        if len(parts) >= MAX_RECORD_LINES:
            yield give_up()
            parts, text = [], ""


def text_lines(fh: io.TextIOWrapper) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` of a text file opened by :func:`open_text`, line ends removed."""
    for line_no, line in enumerate(fh, 1):
        yield line_no, line.rstrip("\r\n")


def csv_records(path: Path, delimiter: str = ",", width: int | None = None
                ) -> Iterator[tuple[int, str, list[str] | None]]:
    """``(first_line, raw_text, fields)`` for every non-blank record of a delimited file, the
    header first. ``width`` (default: the header's) bounds how far a quoted value may run."""
    with open_text(path) as fh:
        lines = text_lines(fh)
        for line_no, header in lines:
            if header.strip():
                fields = split_fields(header, delimiter)
                yield line_no, header, fields
                break
        else:
            return
        yield from records(lines, delimiter=delimiter, width=width or len(fields))
