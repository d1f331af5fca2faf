"""One malformed row costs one row: stray double quotes, bare carriage returns and cut-off files
never swallow the rows after them, and `read` always equals an independent count of data rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from surveyor.ingest import generic, gnettrack, gpx, journal, ookla, opencellid
from surveyor.ingest.text import binary_lines, records

from .common import assert_every_row_lands_once, read_all, reasons
from helpers import GNETTRACK_HEADER, journal_sample, walk_rows


def data_rows(text: str) -> int:
    """Independent count: non-blank physical lines after the header (no quoting rules at all)."""
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if ln.strip()]
    return len(lines) - 1


def generic_rows(n: int, stray_at: int | None = None, last_column_note: bool = True) -> str:
    t0 = datetime(2026, 7, 14, 1, 0, tzinfo=UTC)
    head = "time,lat,lon,rsrp_dbm,operator,note" if last_column_note else "time,note,lat,lon,rsrp_dbm,operator"
    out = [head]
    for i in range(n):
        note = '"dekat warung' if i == stray_at else f"titik {i}"  # a quote opens it and never closes
        t = (t0 + timedelta(seconds=30 * i)).isoformat().replace("+00:00", "Z")
        vals = [t, f"{-7.437 + i * 1e-4:.6f}", f"{109.858 + i * 1e-4:.6f}", str(-90 - i % 30), "Telkomsel"]
        if last_column_note:
            out.append(",".join(vals + [note]))
        else:
            out.append(",".join([vals[0], note] + vals[1:]))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("last_column_note", [True, False])
@pytest.mark.parametrize("stray_at", [0, 29, 98, 99])
def test_generic_csv_stray_quote_costs_at_most_its_row(tmp_path, stray_at, last_column_note):
    text = generic_rows(100, stray_at, last_column_note)
    path = tmp_path / "walk.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(generic.READER, path)
    assert res["rows"] == data_rows(text) == 100
    assert_every_row_lands_once(res)
    # The row with the quote is kept with the quote as text (it has the header's columns).
    assert len(res["samples"]) == 100, reasons(res)
    assert set(res["samples"]["note"]) == {'"dekat warung'} | {f"titik {i}" for i in range(100) if i != stray_at}


def test_generic_csv_two_stray_quotes_and_a_real_multiline_note(tmp_path):
    rows = generic_rows(40).splitlines()
    rows[5] = rows[5].replace("titik 4", '"catatan panjang')  # an opening quote that never closes
    rows[9] = rows[9].replace("titik 8", 'ujung"')  # a stray closing quote four rows later
    rows[20] = rows[20].replace("titik 19", '"baris satu\nbaris dua"')  # a real two-line cell
    text = "\n".join(rows) + "\n"
    path = tmp_path / "walk.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(generic.READER, path)
    assert_every_row_lands_once(res)
    assert res["rows"] == 40
    assert len(res["samples"]) == 40, reasons(res)
    assert "baris satu\nbaris dua" in set(res["samples"]["note"])


def test_generic_row_with_an_unclosed_quote_and_too_few_columns_is_quarantined_alone(tmp_path):
    rows = generic_rows(30).splitlines()
    rows[10] = '2026-07-14T01:05:00Z,-7.43,"109.85'  # cut, and a quote opens the last value
    text = "\n".join(rows) + "\n"
    path = tmp_path / "walk.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(generic.READER, path)
    assert_every_row_lands_once(res)
    assert res["rows"] == 30 and len(res["samples"]) == 29
    assert [r.line for r in res["rejects"]] == [11]
    assert res["rejects"][0].reason == "malformed_row" and "quote" in res["rejects"][0].message


def test_gnettrack_stray_quote_is_text(tmp_path):
    rows = walk_rows(1013)
    rows[70] = rows[70].replace("IND TELKOMSEL", '"IND TELKOMSEL')
    text = GNETTRACK_HEADER + "\n" + "\n".join(rows) + "\n"
    path = tmp_path / "G-NetTrack_log.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(gnettrack.READER, path)
    assert_every_row_lands_once(res)
    assert res["rows"] == data_rows(text) == 1013
    assert len(res["samples"]) == 1013
    assert all(len(r.raw) < 1000 for r in res["rejects"])


OOKLA_HEADER = '"Date","ConnType","Lat","Lon","Download","Upload","Latency","ServerName","InternalIp","ExternalIp"'


def ookla_record(i: int, server: str = "Jakarta") -> str:
    return (f'"2026-07-1{i} 09:0{i}","Lte","-7.43{i}","109.85{i}","{5000 + i}","{900 + i}","4{i}",'
            f'"{server}","10.0.0.{i}","1.2.3.{i}"')


def test_ookla_stray_quote_does_not_take_the_other_records(tmp_path):
    recs = [ookla_record(i) for i in range(8)]
    recs[1] = recs[1].replace('"Jakarta"', '"Jakarta')  # the server name's quote never closes
    text = OOKLA_HEADER + "\n" + "\n".join(recs) + "\n"
    path = tmp_path / "ookla.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(ookla.READER, path, operator="Telkomsel")
    assert_every_row_lands_once(res)
    assert res["rows"] == 8
    assert len(res["samples"]) >= 7 and len(res["rejects"]) <= 1, reasons(res)
    assert sorted(res["samples"]["source_line"]) == [n for n in range(2, 10) if n != 3] or len(res["samples"]) == 8


def test_ookla_records_wrapped_by_a_mailer_still_join(tmp_path):
    recs = [ookla_record(i, server="Jakarta Pusat Data") for i in range(4)]
    wrapped = [recs[0], recs[1].replace("Jakarta Pusat ", "Jakarta\nPusat "), recs[2].replace(',"4', ',\n"4'), recs[3]]
    text = OOKLA_HEADER + "\n" + "\n".join(wrapped) + "\n"
    path = tmp_path / "ookla.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(ookla.READER, path, operator="Telkomsel")
    assert_every_row_lands_once(res)
    assert len(res["samples"]) == 4 and res["rejects"] == []


def test_journal_with_bare_carriage_returns(tmp_path):
    samples = [journal_sample(i) for i in range(442)]
    path = tmp_path / "walk.jsonl"
    path.write_bytes("\r".join(json.dumps(s) for s in samples).encode() + b"\r")
    res = read_all(journal.READER, path)
    assert res["rows"] == 442 and len(res["samples"]) == 442 and res["rejects"] == []


def test_journal_cut_last_line_after_bare_cr(tmp_path):
    samples = [journal_sample(i) for i in range(10)]
    path = tmp_path / "walk.jsonl"
    path.write_bytes(("\r\n".join(json.dumps(s) for s in samples) + "\r\n" + '{"v":1,"ti').encode())
    res = read_all(journal.READER, path)
    assert len(res["samples"]) == 10 and reasons(res) == {"truncated": 1}


def test_truncated_gpx_keeps_the_points_before_the_break(tmp_path):
    pts = "".join(f'<trkpt lat="{-7.43 + i * 1e-4:.5f}" lon="109.85"><time>2026-07-14T01:{i // 60:02d}:{i % 60:02d}Z'
                  f"</time></trkpt>\n" for i in range(200))
    text = ('<?xml version="1.0"?>\n<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n'
            + pts + "</trkseg></trk></gpx>\n")
    cut = text[: text.index('<trkpt lat="-7.41710"') + 25]  # in the middle of point 130
    path = tmp_path / "walk.gpx"
    path.write_text(cut, encoding="utf-8")
    res = read_all(gpx.READER, path)
    assert len(res["tracks"]) == 129
    assert reasons(res) == {"truncated": 1}
    assert res["rows"] == 130


def test_opencellid_stray_quote(tmp_path):
    text = ("radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal\n"
            + "".join(f"LTE,510,10,1,{i},0,109.8{i},-7.4{i},1000,3,1,1700000000,1700000000,0\n" for i in range(20)))
    text = text.replace("LTE,510,10,1,5,", '"LTE,510,10,1,5,')
    path = tmp_path / "cells.csv"
    path.write_text(text, encoding="utf-8")
    res = read_all(opencellid.READER, path)
    assert res["rows"] == 20
    assert len(res["towers"]) + len(res["rejects"]) == 20 and len(res["towers"]) >= 19


def test_binary_lines_every_line_end():
    import io

    data = b"a\r\nb\nc\rd\r\r\ne"
    assert list(binary_lines(io.BytesIO(data))) == [(1, b"a", True), (2, b"b", True), (3, b"c", True),
                                                     (4, b"d", True), (5, b"", True), (6, b"e", False)]


def test_binary_lines_crlf_split_across_blocks(monkeypatch):
    import io

    from surveyor.ingest import text

    monkeypatch.setattr(text, "READ_BYTES", 4)
    data = b"abc\r\ndef\r\n"
    assert list(text.binary_lines(io.BytesIO(data))) == [(1, b"abc", True), (2, b"def", True)]


def test_records_give_up_only_on_the_broken_line():
    lines = list(enumerate(['a,"b,c', "d,e,f", "g,h,i"], 1))
    out = list(records(lines, delimiter=",", width=3))
    assert [r[0] for r in out] == [1, 2, 3]
    assert out[0][2] == ["a", '"b', "c"] and out[1][2] == ["d", "e", "f"]
