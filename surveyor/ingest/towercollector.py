"""Tower Collector CSV export (Android app by zamojski; written by its CsvExportFormatter).

The format, from the writer's code: header
``mcc,mnc,lac,cell_id,psc,asu,dbm,ta,lat,lon,accuracy,speed,bearing,altitude,measured_at,net_type,
neighboring,device`` followed, in newer versions, by ``rsrp,rsrq,rssi,rssnr,cqi,rscp,csi_rsrp,
csi_rsrq,csi_sinr,ss_rsrp,ss_rsrq,ss_sinr,cdma_dbm,cdma_ecio,evdo_dbm,evdo_ecio,evdo_snr,ec_no,arfcn``;
CRLF line ends; unknown values are empty; ``measured_at`` is a quoted UTC ``yyyy-MM-ddTHH:mm:ss.SSSZ``.
One row per cell of a measurement: the serving cell(s) with ``neighboring=false`` and the neighbour
cells with ``true``, all sharing the measurement's time and position.

Mapping, and why:

- Serving rows become samples; neighbour rows go to ``Batch.neighbours`` with ``serving_line`` =
  the line of the serving row of the same measurement (same ``measured_at`` and ``device``; with
  two SIMs, the serving row of the same MNC). A neighbour row whose measurement has no serving row
  in the file is quarantined as ``orphan_neighbour``: the neighbours layer has no position of its
  own, so without a serving sample the row says nothing about a place.
- ``lac`` is the TAC for LTE and NR rows (Android's ``tac -> lac``), and ``psc`` is the PCI there.
- ``dbm`` is Android's ``getDbm()``: RSRP on LTE, SS-RSRP on NR, RSCP on UMTS, RSSI on GSM/CDMA. It
  fills the matching field when the dedicated column (``rsrp``, ``ss_rsrp``...) is empty or absent
  (older exports have only ``dbm``).
- ``speed`` is Android's ``Location.getSpeed()`` in m/s, stored as ``speed_kmh``.
- ``device`` is the app's device name (manufacturer and model, the same on two phones of one
  model). It is stored as ``device_model`` and, unless ``--device`` is given, also as ``device``;
  give ``--device`` per phone when two phones of the same model walked together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from surveyor.errors import InputError
from surveyor.ingest.base import Batch, ReadContext, Reader, Reject
from surveyor.ingest.generic import broken_numbers, first_line, missing, record_chunks, split_header, to_numbers
from surveyor.ingest.normalize import operators, techs, whole
from surveyor.ingest.text import csv_records

# Columns are read by name, so the short header of older exports and the long one of newer ones
# (which adds rsrp ... arfcn) both work; these are the columns every export has.
_REQUIRED = {"mcc", "mnc", "cell_id", "measured_at", "net_type", "neighboring", "lat", "lon"}
MS_TO_KMH = 3.6


def sniff(head: str, path: Path) -> bool:
    cols = {c.lower() for c in split_header(first_line(head), ",")}
    return _REQUIRED <= cols


def cells_frame(rows: list[list[str]], header: list[str]) -> pd.DataFrame:
    """Every cell row as typed columns shared by samples and neighbours (pure: no I/O)."""
    width = len(header)
    padded = rows if all(len(r) == width for r in rows) else \
        [r + [""] * (width - len(r)) if len(r) < width else r[:width] for r in rows]
    raw = pd.DataFrame(padded, columns=header, dtype=object) if padded else pd.DataFrame(columns=header)
    n = len(raw)
    broken = np.full(n, None, dtype=object)

    def num(name: str) -> pd.Series:
        if name not in raw.columns:
            return pd.Series(np.nan, index=raw.index)
        values = to_numbers(raw[name])
        # Text in a number field (validation quarantines the row as bad_value, naming the field).
        bad = broken_numbers(raw[name], values) & pd.isna(broken)
        broken[bad] = name
        return values

    tech = techs(raw["net_type"]) if "net_type" in raw.columns else pd.Series([None] * n, dtype=object)
    is_lte = (tech == "LTE").to_numpy()
    is_nr = (tech == "NR").to_numpy()
    is_umts = (tech == "UMTS").to_numpy()
    is_gsm = (tech == "GSM").to_numpy()
    dbm = num("dbm")
    cdma = num("cdma_dbm")

    df = pd.DataFrame(index=raw.index)
    df["time"] = pd.to_datetime(raw["measured_at"].str.strip(), utc=True, errors="coerce", format="ISO8601")
    df["lat"] = num("lat")
    df["lon"] = num("lon")
    df["accuracy_m"] = num("accuracy")
    df["altitude_m"] = num("altitude")
    df["speed_kmh"] = num("speed") * MS_TO_KMH
    ops = operators(mcc=whole(num("mcc")), mnc=whole(num("mnc")), n=n)
    df["operator"] = ops["operator"]
    df["mcc"] = ops["mcc"]
    df["mnc"] = ops["mnc"]
    df["tech"] = tech
    df["rsrp_dbm"] = num("rsrp").where(lambda s: s.notna(), dbm.where(is_lte))
    df["rsrq_db"] = num("rsrq")
    df["sinr_db"] = num("rssnr")
    df["rssi_dbm"] = num("rssi").where(lambda s: s.notna(), dbm.where(is_gsm).fillna(cdma))
    df["rscp_dbm"] = num("rscp").where(lambda s: s.notna(), dbm.where(is_umts))
    df["ecno_db"] = num("ec_no")
    df["nr_rsrp_dbm"] = num("ss_rsrp").where(lambda s: s.notna(), dbm.where(is_nr))
    df["nr_rsrq_db"] = num("ss_rsrq")
    df["nr_sinr_db"] = num("ss_sinr")
    area = whole(num("lac"))
    new_area = is_lte | is_nr
    df["cell_id"] = whole(num("cell_id"))
    df["tac"] = area.where(new_area)
    df["lac"] = area.where(~new_area)
    df["pci"] = whole(num("psc")).where(new_area)
    df["arfcn"] = whole(num("arfcn"))
    device = raw["device"].str.strip() if "device" in raw.columns else pd.Series([None] * n, dtype=object)
    df["device_model"] = device.where(~missing(device), None)
    # Without the column (a file forced with --format) every row is a serving cell.
    neighbouring = (raw["neighboring"].str.strip().str.lower() if "neighboring" in raw.columns
                    else pd.Series("", index=raw.index))
    df["neighbouring"] = (neighbouring == "true").to_numpy()
    if pd.notna(broken).any():
        df["_broken"] = broken
    return df


def _serving_lines(cells: pd.DataFrame, lines: np.ndarray) -> pd.Series:
    """For each neighbour row, the line of the serving row of the same measurement, or missing.

    A measurement is (time, device). With two SIMs a measurement has two serving rows; a
    neighbour then goes with the serving row of its own MNC when it has one, else the first.
    """
    frame = pd.DataFrame({"t": cells["time"], "d": cells["device"].fillna(""), "mnc": cells["mnc"],
                          "line": lines, "nb": cells["neighbouring"]})
    serving = frame[~frame["nb"] & frame["t"].notna()]
    first = serving.groupby(["t", "d"], sort=False)["line"].first()
    by_mnc = serving.dropna(subset=["mnc"]).groupby(["t", "d", "mnc"], sort=False)["line"].first()
    nb = frame[frame["nb"]]
    out = pd.Series(pd.NA, index=nb.index, dtype="Int64")
    if len(nb) == 0:
        return out
    k2 = pd.MultiIndex.from_arrays([nb["t"], nb["d"]])
    out[:] = pd.array(first.reindex(k2).to_numpy(), dtype="Int64")
    has_mnc = nb["mnc"].notna().to_numpy()
    if has_mnc.any() and len(by_mnc):
        k3 = pd.MultiIndex.from_arrays([nb["t"][has_mnc], nb["d"][has_mnc], nb["mnc"][has_mnc]])
        exact = pd.array(by_mnc.reindex(k3).to_numpy(), dtype="Int64")
        current = out[has_mnc].to_numpy()
        out[has_mnc] = pd.array(np.where(pd.isna(exact), current, exact), dtype="Int64")
    return out


SAMPLE_COLUMNS = ("time", "lat", "lon", "no_fix", "accuracy_m", "altitude_m", "speed_kmh", "gps", "device",
                  "device_model", "volunteer", "kind", "operator", "mcc", "mnc", "tech", "rsrp_dbm",
                  "rsrq_db", "sinr_db", "rssi_dbm", "rscp_dbm", "ecno_db", "nr_rsrp_dbm", "nr_rsrq_db",
                  "nr_sinr_db", "cell_id", "tac", "lac", "pci", "arfcn", "source_line")
NEIGHBOUR_COLUMNS = ("time", "operator", "mcc", "mnc", "tech", "cell_id", "lac", "tac", "pci", "arfcn",
                     "rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm", "rscp_dbm", "ecno_db", "source_line",
                     "serving_line")


def batch_from_rows(rows: list[list[str]], lines: list[int], raws: list[str], header: list[str],
                    ctx: ReadContext) -> Batch:
    """One batch from whole measurements' rows (pure: no I/O)."""
    cells = cells_frame(rows, header)
    line_arr = np.asarray(lines, dtype=np.int64)
    cells["source_line"] = line_arr
    cells["device"] = ctx.device if ctx.device else cells["device_model"]
    if ctx.operator:
        cells["operator"] = cells["operator"].fillna(ctx.operator)
    rejects: list[Reject] = []
    bad_time = cells["time"].isna().to_numpy()
    for i in np.flatnonzero(bad_time):
        rejects.append(Reject(int(line_arr[i]), raws[i], "bad_time",
                              "measured_at is not a UTC time like \"2024-05-01T02:30:00.000Z\"; "
                              "re-export the file from Tower Collector."))
    nb = cells["neighbouring"].to_numpy()
    serving_line = _serving_lines(cells, line_arr)
    nb_rows = cells[nb & ~bad_time].copy()
    nb_rows["serving_line"] = serving_line.reindex(nb_rows.index)
    orphan = nb_rows["serving_line"].isna().to_numpy()
    for i in np.flatnonzero(orphan):
        pos = nb_rows.index[i]
        rejects.append(Reject(int(line_arr[pos]), raws[pos], "orphan_neighbour",
                              "neighbour-cell row with no serving-cell row of the same measured_at and "
                              "device in the file; it cannot be tied to a sample. Export the whole "
                              "measurement (serving and neighbour rows together)."))
    nb_rows = nb_rows[~orphan]
    # A neighbour row often lacks MCC/MNC (Android reports them for the serving cell only): it is
    # on the serving cell's network, so it takes the serving row's operator.
    if len(nb_rows):
        line_to_pos = pd.Series(np.arange(len(cells)), index=line_arr)
        src = line_to_pos.reindex(nb_rows["serving_line"].astype("int64")).to_numpy()
        for c in ("operator", "mcc", "mnc"):
            inherited = cells[c].to_numpy(dtype=object)[src]
            nb_rows[c] = nb_rows[c].astype(object).where(nb_rows[c].notna(), inherited)
    serving = cells[~nb & ~bad_time].copy()
    # Tower Collector records only with a GPS fix, yet a 0/0 or missing position is possible in
    # hand-edited files: leave it to validation (0,0) or mark it as a no-fix sample.
    serving["no_fix"] = serving["lat"].isna() & serving["lon"].isna()
    serving["gps"] = "towercollector"
    serving["kind"] = "signal"
    serving["volunteer"] = ctx.volunteer
    samples = serving[[c for c in (*SAMPLE_COLUMNS, "_broken") if c in serving.columns]].reset_index(drop=True)
    neighbours = nb_rows[[c for c in NEIGHBOUR_COLUMNS if c in nb_rows.columns]].reset_index(drop=True)
    for c in ("mcc", "mnc"):
        neighbours[c] = pd.array(pd.to_numeric(neighbours[c], errors="coerce"), dtype="Int64")
    neighbours["serving_line"] = neighbours["serving_line"].astype("Int64")
    return Batch(samples=samples, neighbours=neighbours, rejects=rejects)


def _read(path: Path, ctx: ReadContext) -> Iterator[Batch]:
    records = csv_records(path)
    try:
        _, _, first = next(records)
    except StopIteration:
        return
    header = [h.strip().lower() for h in first or []]
    if "measured_at" not in header:  # a file forced with --format: detection would not take it
        raise InputError("has no measured_at column, so it is not a TowerCollector export.", path=ctx.source_file,
                         line=1, fix="Leave out --format (surveyor tells the format by the columns), or export "
                                     "the file again from TowerCollector.")
    width = len(header)
    mt_col = header.index("measured_at")
    dev_col = header.index("device") if "device" in header else None

    def wide(line_no: int, raw: str, fields: list[str] | None) -> Reject:
        return Reject(line_no, raw, "wrong_column_count",
                      f"row has {len(fields or [])} fields, the header has {width}; "
                      "the file was edited or cut: export it again.")

    def measurement(fields: list[str]) -> tuple:
        return (fields[mt_col] if len(fields) > mt_col else "",
                fields[dev_col] if dev_col is not None and len(fields) > dev_col else "")

    # Chunks are cut only between measurements, so a neighbour and its serving row stay together.
    for rows, lines, raws, rejects in record_chunks(records, width, ctx.chunk_rows, wide, boundary=measurement):
        batch = batch_from_rows(rows, lines, raws, header, ctx)
        batch.rejects[:0] = rejects
        yield batch


READER = Reader(
    name="towercollector",
    description="Tower Collector CSV export (one row per cell; serving cells become samples)",
    sniff=sniff,
    read=_read,
)
