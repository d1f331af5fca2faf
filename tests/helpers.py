"""Small writers of exact input formats, for tests that must run without ../shared/data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

GNETTRACK_HEADER = ("Timestamp,Longitude,Latitude,Speed,Operatorname,CellID,NetworkMode,RSRP,RSRQ,SNR,CQI,RSSI,"
                    "DL_bitrate,UL_bitrate,State,PINGAVG,PINGMIN,PINGMAX,PINGSTDEV,PINGLOSS,CELLHEX,NODEHEX,LACHEX,"
                    "RAWCELLID,NRxRSRP,NRxRSRQ")


def gnettrack_row(t_local: datetime, lat: float, lon: float, rsrp: float | str = -95, mode: str = "LTE",
                  operator: str = "IND TELKOMSEL", dl_kbps: int = 0) -> str:
    return (f"{t_local:%Y.%m.%d_%H.%M.%S},{lon},{lat},3,{operator},12,{mode},{rsrp},-11,5.0,9,-70,{dl_kbps},0,"
            f"D,-,-,-,-,-,C,2A1F,1B2,10805003,-,-")


def write_gnettrack(path: Path, rows: list[str]) -> Path:
    path.write_text(GNETTRACK_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def walk_rows(n: int, start: datetime | None = None, lat0: float = -7.437, lon0: float = 109.858) -> list[str]:
    """n G-NetTrack rows, one a second, walking north-east through Lipursari (local WIB times)."""
    start = start or datetime(2026, 7, 14, 8, 0, 0)
    return [gnettrack_row(start + timedelta(seconds=i), round(lat0 + i * 1e-5, 6), round(lon0 + i * 1e-5, 6),
                          rsrp=-90 - (i % 40)) for i in range(n)]


def journal_sample(i: int, **extra) -> dict:
    t = datetime(2026, 7, 14, 1, 0, 0, tzinfo=UTC) + timedelta(seconds=2 * i)
    base = {"v": 1, "time": t.isoformat().replace("+00:00", "Z"), "lat": -7.437 + i * 1e-5, "lon": 109.858,
            "accuracy_m": 5.0, "gps": "gpsd", "device": "dev-A", "device_model": "Redmi 9", "session": "s-1",
            "volunteer": "Sari", "route": "north", "kind": "signal", "operator": "Telkomsel", "mcc": 510,
            "mnc": 10, "tech": "LTE", "service": "in_service", "rsrp_dbm": -100.0 - i % 20, "rsrq_db": -11.0}
    base.update(extra)
    return base


def write_journal(path: Path, samples: list[dict], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(s) + "\n" for s in samples) + tail, encoding="utf-8")
    return path


def write_big_gnettrack(path: Path, n_rows: int, seed: int = 1) -> Path:
    """A G-NetTrack log of n_rows (about 125 bytes a row), written in blocks to keep memory flat."""
    import numpy as np

    rng = np.random.default_rng(seed)
    start = datetime(2026, 7, 1, 6, 0, 0)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(GNETTRACK_HEADER + "\n")
        block = 50_000
        for b0 in range(0, n_rows, block):
            k = min(block, n_rows - b0)
            i = np.arange(b0, b0 + k)
            lat = -7.447 + (i % 2000) * 1e-5 + rng.normal(0, 2e-6, k)
            lon = 109.848 + (i // 2000 % 2000) * 1e-5 + rng.normal(0, 2e-6, k)
            rsrp = rng.integers(-125, -70, k)
            lines = [f"{(start + timedelta(seconds=int(s))):%Y.%m.%d_%H.%M.%S},{lo:.6f},{la:.6f},4,IND TELKOMSEL,12,"
                     f"LTE,{r},-11,5.0,9,-70,120,30,D,-,-,-,-,-,C,2A1F,1B2,10805003,-,-\n"
                     for s, la, lo, r in zip(i, lat, lon, rsrp)]
            fh.writelines(lines)
    return path
