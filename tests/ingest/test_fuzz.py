"""Property-based fuzzing of every reader through the merge: valid and broken rows of each format
(empty cells, all-null columns, NUL bytes, byte-order marks, mixed line ends, huge fields, bytes
that are not UTF-8, extreme numbers, swapped coordinates) never end in an unexpected exception,
and every data row lands in exactly one place:

    read == added + duplicates + quarantined + neighbours + track_points + towers

where ``read`` is checked against the number of data rows the test itself wrote (an independent
count, not the reader's). A file may be refused as a whole, but only with a surveyor error (a
message naming the file), never a traceback; files without any breakage are never refused.

The example budget is fixed (``FUZZ_EXAMPLES``, 25 per format by default) and the examples are
derandomised, so CI runs the same cases every time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveyor.ingest.merge import MergeOptions, merge_sources
from surveyor.store import open_store

from helpers import GNETTRACK_HEADER

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
BUCKETS = ("added", "duplicates", "quarantined", "neighbours", "track_points", "towers")
T0 = datetime(2026, 7, 14, 1, 0, 0, tzinfo=UTC)

# What a broken cell may hold: nothing, text, NUL, bytes that are not UTF-8, a huge value, numbers
# no radio or GPS reports, a quote, the delimiter's neighbours.
BROKEN_CELLS = st.sampled_from(["", " ", "-", "n/a", "abc", "\x00", "\udcff", "9" * 400, "1e308", "-1e308", "nan",
                                "inf", "2147483647", "0", "\"", "x\"y", ";", "\t", "é", "\u202e"])
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


def _encode(text: str) -> bytes:
    # Lone surrogates stand for bytes that are not UTF-8 (a file saved in another encoding).
    return text.encode("utf-8", errors="surrogateescape")


@dataclass
class Case:
    name: str
    data: bytes
    rows: int  # the data rows written: what `read` must be
    broken: bool  # whether anything was broken on purpose (an unbroken file is never refused)


@st.composite
def numbers(draw, low: float, high: float, places: int = 6):
    return round(draw(st.floats(low, high, allow_nan=False, allow_infinity=False)), places)


@st.composite
def sample_rows(draw, n_max: int = 12):
    """Plain sample values: time, lat, lon, rsrp, operator (some of them broken later)."""
    n = draw(st.integers(1, n_max))
    rows = []
    for _ in range(n):
        rows.append({
            "t": T0 + timedelta(seconds=draw(st.integers(0, 86_400))),
            "lat": draw(numbers(-7.46, -7.42)), "lon": draw(numbers(109.84, 109.88)),
            "rsrp": draw(st.integers(-140, -44)), "op": draw(st.sampled_from(["Telkomsel", "Indosat", "IM3", "XL"])),
        })
    return rows


@st.composite
def breakage(draw, n_rows: int, n_cols: int, csv_like: bool = True):
    """Which cells to break and how: {(row, col): text}, columns emptied, swapped coordinates,
    line ends, a byte-order mark."""
    cells = {}
    if csv_like and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 4))):
            cells[(draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_cols - 1)))] = draw(BROKEN_CELLS)
    null_col = draw(st.one_of(st.none(), st.integers(0, n_cols - 1))) if csv_like else None
    swap = draw(st.booleans())
    ends = draw(st.lists(LINE_ENDS, min_size=n_rows + 1, max_size=n_rows + 1)) if draw(st.booleans()) \
        else ["\n"] * (n_rows + 1)
    bom = draw(st.booleans())
    return cells, null_col, swap, ends, bom


def table(header: list[str], rows: list[list[str]], brk, delimiter: str = ",",
          quote: bool = False) -> tuple[bytes, bool]:
    cells, null_col, swap, ends, bom = brk
    out = []
    broken = bool(cells) or null_col is not None or swap
    for r, row in enumerate(rows):
        row = list(row)
        for (ri, ci), text in cells.items():
            if ri == r and ci < len(row):
                row[ci] = text
        if null_col is not None and null_col < len(row):
            row[null_col] = ""
        if quote:
            row = ['"' + c.replace('"', '""') + '"' for c in row]
        out.append(delimiter.join(row))
    text = delimiter.join(header) + ends[0] + "".join(line + end for line, end in zip(out, ends[1:]))
    return (b"\xef\xbb\xbf" if bom else b"") + _encode(text), broken


# -- one strategy per format ------------------------------------------------------------------------

@st.composite
def journal_case(draw):
    rows = draw(sample_rows())
    cells, _, swap, ends, bom = draw(breakage(len(rows), 6, csv_like=True))
    lines = []
    for i, r in enumerate(rows):
        obj = {"v": 1, "time": r["t"].isoformat().replace("+00:00", "Z"), "lat": r["lat"], "lon": r["lon"],
               "kind": "signal", "operator": r["op"], "tech": "LTE", "rsrp_dbm": r["rsrp"], "device": "fuzz",
               "session": "s"}
        if swap:
            obj["lat"], obj["lon"] = obj["lon"], obj["lat"]
        keys = list(obj)
        for (ri, ci), text in cells.items():
            if ri == i:
                obj[keys[ci]] = text if ci % 2 else (None if text == "" else text)
        if draw(st.booleans()) and i == 0:
            obj = {k: v for k, v in obj.items() if k not in ("lat", "lon")} | {"no_fix": True}
        lines.append(json.dumps(obj, ensure_ascii=draw(st.booleans())))
    text = "".join(line + end for line, end in zip(lines, ends))
    truncated = draw(st.booleans())
    if truncated:
        text += lines[0][: draw(st.integers(1, max(1, len(lines[0]) - 1)))]
    return Case("journal.jsonl", (b"\xef\xbb\xbf" if bom else b"") + _encode(text), len(rows) + truncated,
                bool(cells) or swap or truncated)


@st.composite
def gnettrack_case(draw):
    rows = draw(sample_rows())
    header = GNETTRACK_HEADER.split(",")
    body = []
    for r in rows:
        local = r["t"] + timedelta(hours=7)
        lat, lon = r["lat"], r["lon"]
        body.append([f"{local:%Y.%m.%d_%H.%M.%S}", str(lon), str(lat), "3", "IND " + r["op"].upper(), "12",
                     draw(st.sampled_from(["LTE", "HSPA+", "EDGE", "NR", "-"])), str(r["rsrp"]), "-11", "5.0", "9",
                     "-70", "0", "0", "D", "-", "-", "-", "-", "-", "C", "2A1F", "1B2", "10805003", "-", "-"])
    brk = draw(breakage(len(rows), len(header)))
    if brk[2]:
        for b in body:
            b[1], b[2] = b[2], b[1]
    data, broken = table(header, body, brk, delimiter=draw(st.sampled_from([",", ";"])) if not brk[0] else ",")
    return Case("gnettrack.csv", data, len(rows), broken)


@st.composite
def generic_case(draw):
    rows = draw(sample_rows())
    header = ["time", "lat", "lon", "operator", "rsrp_dbm", "note"]
    body = [[r["t"].isoformat(), str(r["lat"]), str(r["lon"]), r["op"], str(r["rsrp"]), "catatan"] for r in rows]
    brk = draw(breakage(len(rows), len(header)))
    if brk[2]:
        for b in body:
            b[1], b[2] = b[2], b[1]
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    data, broken = table(header, body, brk, delimiter=delimiter, quote=draw(st.booleans()))
    return Case("table.csv", data, len(rows), broken)


@st.composite
def ookla_case(draw):
    rows = draw(sample_rows())
    header = ["Date", "ConnType", "Lat", "Lon", "Download", "Upload", "Latency", "ServerName", "InternalIp",
              "ExternalIp"]
    body = [[f"{r['t'] + timedelta(hours=7):%Y-%m-%d %H:%M}", draw(st.sampled_from(["Cell", "Wifi", "Lte"])),
             str(r["lat"]), str(r["lon"]), str(draw(st.integers(0, 200_000))), str(draw(st.integers(0, 50_000))),
             str(draw(st.integers(1, 900))), "Jakarta", "10.0.0.2", "1.2.3.4"] for r in rows]
    brk = draw(breakage(len(rows), len(header)))
    # Ookla's own quirk: every field quoted. A broken cell may hold a quote or a delimiter; the
    # record is then cut or joined differently, so only breakage-free records are counted exactly.
    cells = {k: v for k, v in brk[0].items() if '"' not in v and "\r" not in v and "\n" not in v}
    brk = (cells,) + tuple(brk[1:])
    if brk[2]:
        for b in body:
            b[2], b[3] = b[3], b[2]
    data, broken = table(header, body, brk, quote=True)
    return Case("ookla.csv", data, len(rows), broken)


@st.composite
def towercollector_case(draw):
    rows = draw(sample_rows())
    header = ["mcc", "mnc", "lac", "cell_id", "psc", "asu", "dbm", "ta", "lat", "lon", "accuracy", "speed", "bearing",
              "altitude", "measured_at", "net_type", "neighboring", "device", "rsrp", "rsrq"]
    body = [["510", "10", "12345", str(45678901 + i), "123", "40", str(r["rsrp"]), "5", str(r["lat"]), str(r["lon"]),
             "4", "1.2", "90", "820", r["t"].isoformat().replace("+00:00", ".000Z"), "LTE", "false", "SM-A125F",
             str(r["rsrp"]), "-11"] for i, r in enumerate(rows)]
    brk = draw(breakage(len(rows), len(header)))
    if brk[2]:
        for b in body:
            b[8], b[9] = b[9], b[8]
    data, broken = table(header, body, brk)
    return Case("towercollector.csv", data, len(rows), broken)


@st.composite
def opencellid_case(draw):
    n = draw(st.integers(1, 12))
    body = [[draw(st.sampled_from(["LTE", "GSM", "UMTS", "NR"])), "510", str(draw(st.sampled_from([10, 1, 11, 99]))),
             "12345", str(1234567 + i), "0", str(draw(numbers(109.84, 109.88))), str(draw(numbers(-7.46, -7.42))),
             str(draw(st.integers(0, 5000))), "12", "1", "1700000000", "1710000000", "-95"] for i in range(n)]
    brk = draw(breakage(n, 14))
    cells, null_col, swap, ends, bom = brk
    if swap:
        for b in body:
            b[6], b[7] = b[7], b[6]
    # A headerless file: the first "line end" belongs to no header, so the rows are joined alone.
    text = "".join(",".join(cells.get((r, c), v) if (r, c) in cells else ("" if c == null_col else v)
                            for c, v in enumerate(row)) + end for r, (row, end) in enumerate(zip(body, ends[1:])))
    return Case("cells.csv", (b"\xef\xbb\xbf" if bom else b"") + _encode(text), n, bool(cells) or swap or
                null_col is not None)


@st.composite
def gpx_case(draw):
    rows = draw(sample_rows())
    swap = draw(st.booleans())
    pts = []
    broken = swap
    for r in rows:
        lat, lon = (r["lon"], r["lat"]) if swap else (r["lat"], r["lon"])
        t = r["t"].isoformat().replace("+00:00", "Z")
        if draw(st.integers(0, 5)) == 0:
            t, broken = draw(st.sampled_from(["", "yesterday", "2026-13-45T99:00:00Z"])), True
        if draw(st.integers(0, 5)) == 0:
            lat, broken = draw(st.sampled_from(["1e308", "-999", "nan", "abc"])), True
        pts.append(f'<trkpt lat="{lat}" lon="{lon}"><ele>800</ele><time>{t}</time></trkpt>')
    end = draw(LINE_ENDS)
    text = ('<?xml version="1.0" encoding="UTF-8"?>' + end + '<gpx version="1.1" creator="Fuzz" '
            'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>' + end + end.join(pts) + end
            + "</trkseg></trk></gpx>" + end)
    return Case("track.gpx", (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode(), len(rows), broken)


def _nmea(body: str) -> str:
    checksum = 0
    for ch in body:
        checksum ^= ord(ch)
    return f"${body}*{checksum:02X}"


@st.composite
def nmea_case(draw):
    n = draw(st.integers(1, 12))
    end = draw(LINE_ENDS.filter(lambda e: e != "\r"))
    lines = ["# Date: 2026-07-14"]
    broken = False
    for i in range(n):
        hhmmss = f"{(2 + i // 3600) % 24:02d}{(i // 60) % 60:02d}{i % 60:02d}.00"
        fix = draw(st.booleans())
        broken |= not fix
        lat, lon = "0726.2329", "10951.4580"
        rmc = _nmea(f"GNRMC,{hhmmss},{'A' if fix else 'V'},{lat},S,{lon},E,0.1,,140726,,,A")
        gga = _nmea(f"GNGGA,{hhmmss},{lat},S,{lon},E,{1 if fix else 0},07,1.3,612.4,M,13.1,M,,")
        if draw(st.integers(0, 6)) == 0:
            rmc, gga = rmc[:-2] + "00", gga[:-2] + "00"  # both checksums wrong: the epoch is bad_checksum
            broken = True
        lines += [rmc, gga]
    return Case("gps.nmea", _encode(end.join(lines) + end), n, broken)


FORMATS = {"journal": journal_case, "gnettrack": gnettrack_case, "generic": generic_case, "ookla": ookla_case,
           "towercollector": towercollector_case, "opencellid": opencellid_case, "gpx": gpx_case, "nmea": nmea_case}


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    with open_store(str(tmp_path_factory.mktemp("fuzz") / "fuzz.gpkg"), create=True) as store:
        yield store, tmp_path_factory.mktemp("fuzz-files")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_reader_accounts_for_every_row_and_never_crashes(fmt, fuzz_store):
    store, folder = fuzz_store

    @FUZZ
    @given(case=FORMATS[fmt](), forced=st.booleans())
    def check(case: Case, forced: bool) -> None:
        path = folder / f"{fmt}-{abs(hash(case.data))}-{case.name}"
        path.write_bytes(case.data)
        options = MergeOptions(fmt=fmt if forced else "auto", operator="Telkomsel", date_order="dmy")
        summary = merge_sources(store, [str(path)], options)
        (result,) = summary.per_file
        if result.error is not None:
            # Refused as a whole: a surveyor message naming the file, and nothing counted as kept.
            assert case.broken or (not forced and fmt == "generic"), (result.error, case.data[:300])
            assert str(path) in result.error or "-" in result.error, result.error
            assert result.read == sum(getattr(result, k) for k in BUCKETS) == 0
            return
        assert result.format == fmt, (result.format, case.data[:300])
        assert result.read == sum(getattr(result, k) for k in BUCKETS), result.to_dict()
        assert result.read == case.rows, (result.to_dict(), case.data[:500])
        assert sum(result.by_reason.values()) == result.quarantined

    check()


def test_an_unbroken_file_of_every_format_merges_whole(tmp_path):
    """The same generators without breakage: nothing refused, nothing quarantined for no reason."""
    from hypothesis import find

    with open_store(str(tmp_path / "s.gpkg"), create=True) as store:
        for fmt, strategy in FORMATS.items():
            case = find(strategy(), lambda c: not c.broken, settings=settings(database=None, derandomize=True,
                                                                             max_examples=500))
            path = tmp_path / case.name
            path.write_bytes(case.data)
            (result,) = merge_sources(store, [str(path)], MergeOptions(operator="Telkomsel",
                                                                       date_order="dmy")).per_file
            assert result.error is None and result.format == fmt, (fmt, result.to_dict())
            assert result.read == case.rows
