"""Tower Collector, Ookla, generic tables and OpenCelliD: detection, quirks and every row accounted for."""

from __future__ import annotations

import pandas as pd
import pytest

from surveyor.errors import InputError
from surveyor.ingest import detect, generic, ookla, opencellid, towercollector
from surveyor.ingest.detect import read_head

from .common import FIXTURES, assert_every_row_lands_once, context, read_all, reasons


@pytest.mark.parametrize("name, fmt", [
    ("towercollector.csv", "towercollector"),
    ("towercollector_short.csv", "towercollector"),
    ("ookla_wrapped.csv", "ookla"),
    ("generic_excel.csv", "generic"),
    ("phone_b_signal.csv", "generic"),
    ("opencellid_noheader.csv", "opencellid"),
    ("track_1_0.gpx", "gpx"),
    ("walk.gpx", "gpx"),
    ("gnss.nmea", "nmea"),
])
def test_detected_by_content(name, fmt):
    assert detect.detect(FIXTURES / name, name).name == fmt


def test_file_matching_no_format_names_the_formats_and_the_options():
    with pytest.raises(InputError) as err:
        detect.detect(FIXTURES / "notes.txt", "notes.txt")
    msg = str(err.value)
    assert "notes.txt" in msg
    for fmt in ("towercollector", "ookla", "opencellid", "gpx", "nmea", "generic"):
        assert fmt in msg
    assert "--format" in msg and "--map" in msg


# -- Tower Collector -------------------------------------------------------------------------------

def test_towercollector_serving_cells_become_samples_with_units_and_fields():
    r = read_all(towercollector.READER, FIXTURES / "towercollector.csv")
    assert_every_row_lands_once(r)
    s = r["samples"].set_index("source_line")
    assert list(s.index) == [2, 5, 6, 7, 8, 10]
    lte = s.loc[2]
    assert lte["time"] == pd.Timestamp("2024-05-01T02:30:00Z")
    assert str(lte["time"].tz) == "UTC"
    assert (lte["operator"], lte["mcc"], lte["mnc"], lte["tech"]) == ("Telkomsel", 510, 10, "LTE")
    assert (lte["rsrp_dbm"], lte["rsrq_db"], lte["rssi_dbm"], lte["sinr_db"]) == (-100, -11, -71, 12)
    assert (lte["tac"], lte["cell_id"], lte["pci"], lte["arfcn"]) == (12345, 45678901, 123, 1850)
    assert pd.isna(lte["lac"])
    assert lte["speed_kmh"] == pytest.approx(1.2 * 3.6)  # Android Location speed is m/s
    assert (lte["accuracy_m"], lte["altitude_m"]) == (4, 820)
    assert lte["device"] == "Samsung SM-A125F" and lte["device_model"] == "Samsung SM-A125F"
    umts = s.loc[6]
    assert (umts["tech"], umts["rscp_dbm"], umts["ecno_db"], umts["lac"]) == ("UMTS", -85, -9, 2101)
    gsm = s.loc[7]
    assert (gsm["tech"], gsm["rssi_dbm"]) == ("GSM", -83)  # from the rssi column (dbm agrees)
    nr = s.loc[8]
    assert (nr["tech"], nr["operator"], nr["nr_rsrp_dbm"], nr["nr_rsrq_db"], nr["nr_sinr_db"]) == \
        ("NR", "XL", -95, -11, 15)
    # MCC 510 with an MNC that is no known network keeps the raw code.
    assert s.loc[10]["operator"] == "51099"


def test_towercollector_neighbours_point_at_their_serving_row_and_orphans_are_quarantined():
    r = read_all(towercollector.READER, FIXTURES / "towercollector.csv")
    nb = r["neighbours"]
    assert list(nb["source_line"]) == [3, 4]
    assert list(nb["serving_line"]) == [2, 2]
    # Neighbours lack MCC/MNC in the export; they are on the serving cell's network.
    assert list(nb["operator"]) == ["Telkomsel", "Telkomsel"]
    assert list(nb["pci"]) == [301, 302]
    assert list(nb["rsrp_dbm"]) == [-110, -116]
    assert reasons(r) == {"orphan_neighbour": 1}
    orphan = r["rejects"][0]
    assert orphan.line == 9 and "true" in orphan.raw and "serving" in orphan.message


def test_towercollector_old_short_header_uses_dbm_by_technology():
    r = read_all(towercollector.READER, FIXTURES / "towercollector_short.csv")
    assert_every_row_lands_once(r)
    s = r["samples"].set_index("source_line")
    assert s.loc[2, "rsrp_dbm"] == -100  # LTE: dbm is RSRP
    assert s.loc[4, "rscp_dbm"] == -91  # UMTS: dbm is RSCP
    assert s.loc[5, "rssi_dbm"] == -97  # GSM: dbm is RSSI
    assert set(s["operator"]) == {"Telkomsel", "Indosat"}
    assert list(r["neighbours"]["serving_line"]) == [2]


def test_towercollector_batches_never_split_a_measurement():
    # chunk_rows=1 forces a batch cut at every opportunity; neighbours must still find their serving row.
    r = read_all(towercollector.READER, FIXTURES / "towercollector.csv", chunk_rows=1)
    assert r["batches"] > 3
    assert list(r["neighbours"]["serving_line"]) == [2, 2]
    assert reasons(r) == {"orphan_neighbour": 1}


def test_towercollector_forced_on_a_file_without_neighboring_reads_every_row_as_a_serving_cell(tmp_path):
    # Detection needs the column; `--format towercollector` does not (this crashed once).
    table = pd.read_csv(FIXTURES / "towercollector.csv", dtype=str, keep_default_na=False)
    serving = table[table["neighboring"] == "false"].drop(columns="neighboring")
    path = tmp_path / "no-neighboring.csv"
    serving.to_csv(path, index=False)
    r = read_all(towercollector.READER, path)
    assert_every_row_lands_once(r)
    assert len(r["samples"]) == len(serving) > 0 and len(r["neighbours"]) == 0


def test_towercollector_forced_on_another_table_is_an_input_error_naming_the_column(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("time,lat,lon,rsrp\n2024-05-01T02:30:00Z,-7.43,109.85,-100\n", encoding="utf-8")
    with pytest.raises(InputError, match="measured_at") as err:
        read_all(towercollector.READER, path)
    assert err.value.fix and "--format" in err.value.fix


def test_towercollector_device_option_names_the_phone():
    r = read_all(towercollector.READER, FIXTURES / "towercollector.csv", device="phone-A")
    assert set(r["samples"]["device"]) == {"phone-A"}
    assert set(r["samples"]["device_model"]) == {"Samsung SM-A125F"}


# -- Ookla -----------------------------------------------------------------------------------------

def test_ookla_wrapped_records_are_joined_and_bad_rows_quarantined_with_reasons():
    r = read_all(ookla.READER, FIXTURES / "ookla_wrapped.csv", operator="Telkomsel")
    assert_every_row_lands_once(r)
    assert r["rows"] == 9
    assert reasons(r) == {"wifi": 1, "latlon_swapped": 1, "bad_position": 1, "truncated_record": 1}
    s = r["samples"].set_index("source_line")
    assert list(s.index) == [2, 3, 5, 9, 12]
    # Line 3-4: wrapped between two numbers; line 5-6: wrapped inside a quoted server name.
    assert s.loc[3, "upload_mbps"] == pytest.approx(1.45)
    assert s.loc[5, "test_server"] == "Semarang, ID"
    first = s.loc[2]
    assert first["time"] == pd.Timestamp("2024-05-01T02:30:00Z")  # 09:30 WIB
    assert first["download_mbps"] == pytest.approx(15.234)  # kbit/s -> Mbit/s
    assert (first["kind"], first["test"], first["operator"], first["latency_ms"]) == ("speed", "ok", "Telkomsel", 38)
    assert s.loc[12, "tech"] == "UMTS"


def test_ookla_swapped_and_empty_positions():
    r = read_all(ookla.READER, FIXTURES / "ookla_wrapped.csv")
    swapped = next(x for x in r["rejects"] if x.reason == "latlon_swapped")
    assert swapped.line == 8 and "swapped" in swapped.message and "109.85761" in swapped.message
    # Both empty: kept as a no-fix speed test, to be placed from a GPS track by time.
    empty = r["samples"].set_index("source_line").loc[9]
    assert bool(empty["no_fix"]) and pd.isna(empty["lat"]) and pd.isna(empty["lon"])
    partial = next(x for x in r["rejects"] if x.reason == "bad_position")
    assert partial.line == 10


def test_ookla_wifi_rows_are_not_mobile_coverage():
    r = read_all(ookla.READER, FIXTURES / "ookla_wrapped.csv")
    wifi = next(x for x in r["rejects"] if x.reason == "wifi")
    assert wifi.line == 7 and '"Wifi"' in wifi.raw
    assert "Wifi" not in set(r["samples"]["tech"].dropna())


# -- generic tables ----------------------------------------------------------------------------------

def test_generic_excel_export_with_bom_crlf_semicolons_and_decimal_commas():
    path = FIXTURES / "generic_excel.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with pytest.raises(InputError, match="--date-order"):  # 01/05/2024 alone does not say which
        read_all(generic.READER, path)
    r = read_all(generic.READER, path, date_order="dmy")
    assert_every_row_lands_once(r)
    s = r["samples"].set_index("source_line")
    assert list(s.index) == [2, 3, 4]
    assert s.loc[2, "lat"] == pytest.approx(-7.43712) and s.loc[2, "lon"] == pytest.approx(109.85761)
    assert s.loc[2, "rsrp_dbm"] == pytest.approx(-101.5)
    assert s.loc[2, "time"] == pd.Timestamp("2024-05-01T02:30:00Z")  # local WIB -> UTC
    assert s.loc[4, "time"] == pd.Timestamp("2024-05-01T02:30:20Z")  # 01/05/2024 is day-first
    assert s.loc[3, "operator"] == "Indosat" and s.loc[3, "tech"] == "LTE"  # IM3, 4G
    assert s.loc[4, "note"] == "catatan; dengan titik koma"
    assert reasons(r) == {"bad_time": 1}
    assert r["rejects"][0].line == 5


def test_generic_claims_only_tables_with_enough_known_columns():
    head = read_head(FIXTURES / "generic_mapped.tsv")
    assert not generic.sniff(head, FIXTURES / "generic_mapped.tsv")
    mapping = {"Waktu": "time", "Lintang": "lat", "Bujur": "lon", "Sinyal": "rsrp_dbm", "Kartu": "operator"}
    assert generic.claims(head, mapping)
    assert not generic.claims("name,age,city\nSari,30,Wonosobo\n")
    assert not generic.claims("time,city\n2024-05-01,Wonosobo\n")  # a time alone is not a survey
    assert generic.claims("time,rsrp_dbm\n2024-05-01T09:00:00+07:00,-100\n")


def test_generic_with_map_reads_other_column_names():
    r = read_all(generic.READER, FIXTURES / "generic_mapped.tsv",
                 mapping={"Waktu": "time", "Lintang": "lat", "Bujur": "lon", "Sinyal": "rsrp_dbm",
                          "Kartu": "operator"})
    assert_every_row_lands_once(r)
    s = r["samples"]
    assert list(s["rsrp_dbm"]) == [-101, -118]
    assert list(s["operator"]) == ["Telkomsel", "Indosat"]
    assert s["time"].iloc[0] == pd.Timestamp("2024-05-01T02:30:00Z")


def test_generic_without_usable_columns_is_an_input_error_naming_the_fix():
    with pytest.raises(InputError) as err:
        list(generic.READER.read(FIXTURES / "generic_mapped.tsv", context(FIXTURES / "generic_mapped.tsv")))
    assert "--map" in str(err.value)


def test_generic_rows_without_position_are_no_fix_samples():
    r = read_all(generic.READER, FIXTURES / "phone_b_signal.csv")
    s = r["samples"]
    assert len(s) == 4 and s["no_fix"].all()
    assert "lat" not in s.columns or s["lat"].isna().all()
    assert set(s["device"]) == {"phone-b"}


# -- OpenCelliD ----------------------------------------------------------------------------------------

def test_opencellid_without_header_unknown_mnc_kept_and_bad_position_quarantined():
    r = read_all(opencellid.READER, FIXTURES / "opencellid_noheader.csv")
    assert_every_row_lands_once(r)
    t = r["towers"].set_index("source_line")
    assert list(t.index) == [1, 2, 4]
    assert t.loc[1, "operator"] == "Telkomsel" and t.loc[1, "radio"] == "LTE"
    assert t.loc[2, "operator"] == "51099" and (t.loc[2, "mcc"], t.loc[2, "mnc"]) == (510, 99)
    assert t.loc[4, "operator"] == "Indosat"
    assert t.loc[1, "created"] == pd.Timestamp(1700000000, unit="s", tz="UTC")
    assert t.loc[1, "average_signal_dbm"] == -95 and pd.isna(t.loc[2, "average_signal_dbm"])
    assert (t.loc[1, "lat"], t.loc[1, "lon"], t.loc[1, "range_m"]) == (-7.4371, 109.8576, 1000)
    assert reasons(r) == {"bad_position": 1} and r["rejects"][0].line == 3
