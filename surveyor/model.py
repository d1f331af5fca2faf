"""The sample: its fields and units, operators (MCC/MNC), technologies, and the rules' defaults.

Standard library only, because the field logger imports this module on phones (Termux) where
the numerical and geospatial stack does not install. The coverage rules that judge samples are
in :mod:`surveyor.analyse.rules`; this module holds their default thresholds (which
:mod:`surveyor.config` reads) and the one-sample forms of two of them for the logger's live page
on the phone (:func:`rsrp_class`, :func:`speed_failed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

JOURNAL_VERSION = 1

# Field name -> storage type. One table, the contract of docs/journal.md.
# "str", "float", "int", "bool", "time" (UTC). Order is the column order of the `samples` layer.
SAMPLE_FIELDS: dict[str, str] = {
    "v": "int",
    "time": "time",
    "lat": "float",
    "lon": "float",
    "no_fix": "bool",
    "accuracy_m": "float",
    "altitude_m": "float",
    "speed_kmh": "float",
    "environment": "str",
    "gps": "str",
    "device": "str",
    "device_model": "str",
    "session": "str",
    "volunteer": "str",
    "route": "str",
    "kind": "str",
    "operator": "str",
    "mcc": "int",
    "mnc": "int",
    "tech": "str",
    "service": "str",
    "rsrp_dbm": "float",
    "rsrq_db": "float",
    "sinr_db": "float",
    "rssi_dbm": "float",
    "rscp_dbm": "float",
    "ecno_db": "float",
    "nr_rsrp_dbm": "float",
    "nr_rsrq_db": "float",
    "nr_sinr_db": "float",
    "level": "int",
    "cell_id": "int",
    "tac": "int",
    "lac": "int",
    "pci": "int",
    "arfcn": "int",
    "download_mbps": "float",
    "upload_mbps": "float",
    "latency_ms": "float",
    "throughput_dl_kbps": "float",
    "throughput_ul_kbps": "float",
    "test": "str",
    "test_error": "str",
    "test_server": "str",
    "bytes_used": "int",
    "note": "str",
}

# Columns the store adds at merge time.
STORE_FIELDS: dict[str, str] = {
    "sample_id": "int",  # 63-bit hash of the sample's identity (see ingest.identity)
    "h3_10": "int",  # H3 cell at resolution 10, as the integer form of the index
    "placed_by": "str",  # "gps" | "track" (interpolated from a GPS track) | None = unplaced
    "source_format": "str",
    "source_file": "str",
    "source_line": "int",
    "merge_id": "int",
}

ALL_FIELDS: dict[str, str] = {**SAMPLE_FIELDS, **STORE_FIELDS}

# Measured values: part of a sample's identity, and what validation range-checks.
MEASURED_FIELDS = (
    "rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm", "rscp_dbm", "ecno_db",
    "nr_rsrp_dbm", "nr_rsrq_db", "nr_sinr_db", "level", "cell_id", "pci",
    "download_mbps", "upload_mbps", "latency_ms", "test", "service", "tech",
    "throughput_dl_kbps", "throughput_ul_kbps",
)

# Physically possible ranges (3GPP TS 36.133 reporting ranges, widened a little). A value outside
# is a broken row, not a weak signal: it is quarantined with reason "value_out_of_range".
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "rsrp_dbm": (-160.0, -30.0),
    "nr_rsrp_dbm": (-160.0, -30.0),
    "rsrq_db": (-40.0, 20.0),
    "nr_rsrq_db": (-45.0, 20.0),
    "sinr_db": (-30.0, 50.0),
    "nr_sinr_db": (-30.0, 50.0),
    "rssi_dbm": (-130.0, -10.0),
    "rscp_dbm": (-130.0, -10.0),
    "ecno_db": (-30.0, 5.0),
    "download_mbps": (0.0, 20000.0),
    "upload_mbps": (0.0, 20000.0),
    "latency_ms": (0.0, 600000.0),
    "accuracy_m": (0.0, 100000.0),
    "altitude_m": (-500.0, 9000.0),
    "speed_kmh": (0.0, 1500.0),
}

KINDS = ("signal", "speed", "manual")
TECHS = ("NR", "LTE", "UMTS", "GSM", "NONE")
SERVICES = ("in_service", "no_service", "emergency_only", "unknown")
ENVIRONMENTS = ("outdoor", "indoor", "vehicle")
TESTS = ("ok", "failed")

# ---------------------------------------------------------------------------------------------
# Operators

OPERATORS = ("Telkomsel", "Indosat", "XL", "Tri", "Smartfren")

# Short codes used in dead-zone IDs (DZ-TSEL-01).
OPERATOR_CODES = {"Telkomsel": "TSEL", "Indosat": "ISAT", "XL": "XL", "Tri": "TRI", "Smartfren": "SMFR"}

# Indonesia, MCC 510. Tri (89) has been part of Indosat Ooredoo Hutchison since 2022 but is still a
# separate network and brand, so it stays its own operator. AXIS (8) merged into XL.
PLMN_OPERATORS: dict[tuple[int, int], str] = {
    (510, 10): "Telkomsel",
    (510, 1): "Indosat",
    (510, 21): "Indosat",
    (510, 89): "Tri",
    (510, 11): "XL",
    (510, 8): "XL",
    (510, 9): "Smartfren",
    (510, 28): "Smartfren",
}

# Names phones and apps write, upper-cased with non-alphanumerics squeezed to one space.
_NAME_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(TELKOMSEL|TSEL|SIMPATI|KARTU ?AS|BY ?U|TELKOMSEL ID)\b|^IND TELKOMSEL$"), "Telkomsel"),
    (re.compile(r"\b(INDOSAT|IM3|IM 3|MENTARI|MATRIX|OOREDOO|IOH)\b"), "Indosat"),
    (re.compile(r"^(3|TRI|THREE|3 ID|IND 3|3 INDONESIA|HUTCHISON 3|HUTCHISON)$|\bTHREE\b"), "Tri"),
    (re.compile(r"\b(XL|AXIS|XL AXIATA|PROXL|EXCELCOM|EXCELCOMINDO)\b"), "XL"),
    (re.compile(r"\b(SMARTFREN|SMART ?FREN|FREN)\b"), "Smartfren"),
]

_PLMN_RE = re.compile(r"^\s*(\d{3})[\s\-_/]?(\d{2,3})\s*$")


@dataclass(frozen=True)
class Operator:
    """A normalised operator: canonical ``name`` plus MCC/MNC when known."""

    name: str | None
    mcc: int | None = None
    mnc: int | None = None


def normalize_operator(name: object = None, mcc: object = None, mnc: object = None) -> Operator:
    """Canonical operator from whatever an app wrote.

    ``name`` may be a brand (``"IND TELKOMSEL"``, ``"IM3"``, ``"3"``), a PLMN code (``"51010"``,
    ``"510-10"``) or empty. MCC/MNC win when given and known. Unknown networks keep their raw name,
    or ``"MCCMNC"`` form for other countries' codes (``27203`` stays ``"27203"`` with mcc 272, mnc 3).
    Names that say nothing (``"0"``, ``"-"``, ``""``) give ``Operator(None)``.
    """
    mcc_i = _to_int(mcc)
    mnc_i = _to_int(mnc)
    raw = "" if name is None else str(name).strip()
    if raw.endswith(".0") and raw[:-2].isdigit():  # float noise from spreadsheets
        raw = raw[:-2]
    if mcc_i is None and raw:
        m = _PLMN_RE.match(raw)
        if m:
            mcc_i, mnc_i = int(m.group(1)), int(m.group(2))
            raw = ""
    if mcc_i is not None and mnc_i is not None:
        known = PLMN_OPERATORS.get((mcc_i, mnc_i))
        if known:
            return Operator(known, mcc_i, mnc_i)
    if raw and raw not in {"0", "-", "--", "null", "None", "NULL", "unknown", "Unknown", "NA", "N/A"}:
        key = re.sub(r"[^A-Z0-9]+", " ", raw.upper()).strip()
        for pattern, canonical in _NAME_PATTERNS:
            if pattern.search(key):
                # A brand name says which operator, not which MNC (Indosat has two): keep them unknown.
                return Operator(canonical, mcc_i, mnc_i)
        return Operator(raw, mcc_i, mnc_i)
    if mcc_i is not None and mnc_i is not None:
        return Operator(f"{mcc_i:03d}{mnc_i:02d}", mcc_i, mnc_i)
    return Operator(None, mcc_i, mnc_i)


# ---------------------------------------------------------------------------------------------
# Technologies

_TECH_MAP = {
    "5G": "NR", "NR": "NR", "NR SA": "NR", "NR NSA": "NR", "NRSA": "NR", "NRNSA": "NR", "5G NR": "NR",
    "LTE": "LTE", "4G": "LTE", "LTE A": "LTE", "LTE+": "LTE", "LTE CA": "LTE", "LTEA": "LTE",
    "4G+": "LTE", "IWLAN": None,
    "HSPA+": "UMTS", "HSPA": "UMTS", "HSDPA": "UMTS", "HSUPA": "UMTS", "HSPAP": "UMTS",
    "UMTS": "UMTS", "WCDMA": "UMTS", "3G": "UMTS", "TD SCDMA": "UMTS", "TDSCDMA": "UMTS",
    "TD-SCDMA": "UMTS", "H": "UMTS", "H+": "UMTS", "EVDO": "UMTS", "EHRPD": "UMTS",
    "EDGE": "GSM", "GPRS": "GSM", "GSM": "GSM", "2G": "GSM", "E": "GSM", "G": "GSM", "CDMA": "GSM",
    "1XRTT": "GSM", "IDEN": "GSM",
    "NONE": "NONE", "NO SERVICE": "NONE", "NOSERVICE": "NONE", "NO SIGNAL": "NONE",
}


def normalize_tech(value: object) -> str | None:
    """``NR``/``LTE``/``UMTS``/``GSM``/``NONE`` from what apps write (G-NetTrack NetworkMode,
    Tower Collector net_type, Android network type names); None when unknown."""
    if value is None:
        return None
    key = str(value).strip().upper().replace("_", " ")
    if key in {"", "-", "--", "UNKNOWN", "NAN", "NULL"}:
        return None
    if key in _TECH_MAP:
        return _TECH_MAP[key]
    key2 = key.replace("-", " ")
    return _TECH_MAP.get(key2)


def _to_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    if f != f:  # NaN
        return None
    return int(f)


# ---------------------------------------------------------------------------------------------
# The rules' defaults (docs/method.md), read by surveyor.config; the rules themselves are in
# surveyor.analyse.rules.

RSRP_NEGATIVE_BELOW_DBM = -115.0
# RTR-NetTest / Android classes for LTE RSRP: (lower bound, class), best first.
RSRP_CLASSES_DBM = ((-85.0, "excellent"), (-95.0, "good"), (-105.0, "fair"), (-115.0, "poor"))
DOWNLOAD_MIN_MBPS = 5.0
UPLOAD_MIN_MBPS = 1.0


def rsrp_class(rsrp_dbm: float | None,
               classes: tuple[tuple[float, str], ...] = RSRP_CLASSES_DBM) -> str | None:
    """Colour class of one LTE RSRP value: excellent, good, fair, poor, none; None when unknown.

    The one-sample form of :func:`surveyor.analyse.rules.rsrp_classes`, for the phone (no numpy).
    """
    if rsrp_dbm is None or rsrp_dbm != rsrp_dbm:
        return None
    for lower, name in classes:
        if rsrp_dbm >= lower:
            return name
    return "none"


def speed_failed(test: str | None, download_mbps: float | None, upload_mbps: float | None, *,
                 download_min_mbps: float = DOWNLOAD_MIN_MBPS, upload_min_mbps: float = UPLOAD_MIN_MBPS) -> bool:
    """A speed test fails when it could not run or measured under the FCC 4G floor (5/1 Mbit/s).

    The one-sample form of :func:`surveyor.analyse.rules.speed_failed`, for the phone (no numpy).
    """
    if test == "failed":
        return True
    if download_mbps is not None and download_mbps == download_mbps and download_mbps < download_min_mbps:
        return True
    if upload_mbps is not None and upload_mbps == upload_mbps and upload_mbps < upload_min_mbps:
        return True
    return False
