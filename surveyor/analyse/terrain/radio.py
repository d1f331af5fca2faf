"""Frequencies: LTE EARFCN and band numbers to MHz, and the wavelength.

3GPP TS 36.101 Table 5.7.3-1: the downlink carrier frequency of an EARFCN N is
``F_DL = F_DL_low + 0.1 (N - N_Offs-DL)`` MHz within the band's EARFCN range. The bands below are
those used in Indonesia and its neighbours, and the common ones elsewhere. 5G NR-ARFCN (3GPP TS
38.104 section 5.4.2.1) is read too: ``F = F_REF-Offs + dF_Global (N - N_REF-Offs)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SPEED_OF_LIGHT_M_S = 299_792_458.0

# band: (F_DL_low MHz, N_Offs-DL, last EARFCN of the band)
EARFCN_BANDS: dict[int, tuple[float, int, int]] = {
    1: (2110.0, 0, 599), 2: (1930.0, 600, 1199), 3: (1805.0, 1200, 1949), 4: (2110.0, 1950, 2399),
    5: (869.0, 2400, 2649), 7: (2620.0, 2750, 3449), 8: (925.0, 3450, 3799), 12: (729.0, 5010, 5179),
    13: (746.0, 5180, 5279), 17: (734.0, 5730, 5849), 20: (791.0, 6150, 6449), 25: (1930.0, 8040, 8689),
    26: (859.0, 8690, 9039), 28: (758.0, 9210, 9659), 38: (2570.0, 37750, 38249),
    39: (1880.0, 38250, 38649), 40: (2300.0, 38650, 39649), 41: (2496.0, 39650, 41589),
    42: (3400.0, 41590, 43589), 43: (3600.0, 43590, 45589),
}
# Downlink width of each band (MHz), for its centre frequency.
_BAND_WIDTH_MHZ = {1: 60, 2: 60, 3: 75, 4: 45, 5: 25, 7: 70, 8: 35, 12: 17, 13: 10, 17: 12, 20: 30, 25: 65,
                   26: 35, 28: 45, 38: 50, 39: 40, 40: 100, 41: 194, 42: 200, 43: 200}


def earfcn_band(earfcn: int) -> int | None:
    """The LTE band of a downlink EARFCN, or None when no known band holds it."""
    for band, (_, offset, last) in EARFCN_BANDS.items():
        if offset <= earfcn <= last:
            return band
    return None


def earfcn_to_mhz(earfcn: int) -> float | None:
    """Downlink carrier frequency of an LTE EARFCN (3GPP TS 36.101 Table 5.7.3-1), or None."""
    band = earfcn_band(int(earfcn))
    if band is None:
        return None
    low, offset, _ = EARFCN_BANDS[band]
    return low + 0.1 * (int(earfcn) - offset)


def nrarfcn_to_mhz(arfcn: int) -> float | None:
    """Frequency of a 5G NR-ARFCN (3GPP TS 38.104 Table 5.4.2.1-1), or None out of range."""
    n = int(arfcn)
    if 0 <= n < 600_000:
        return 0.005 * n
    if 600_000 <= n < 2_016_667:
        return 3000.0 + 0.015 * (n - 600_000)
    if 2_016_667 <= n <= 3_279_165:
        return 24_250.08 + 0.06 * (n - 2_016_667)
    return None


def band_to_mhz(band: int) -> float | None:
    """Centre of an LTE band's downlink (e.g. band 3: 1842.5 MHz), or None for an unknown band."""
    if band not in EARFCN_BANDS:
        return None
    return EARFCN_BANDS[band][0] + _BAND_WIDTH_MHZ[band] / 2.0


def parse_band(text: str | float | int) -> tuple[float, str]:
    """``--band``: an LTE band number (``3``, ``B3``), or a frequency in MHz (``1800``, ``1842.5MHz``).

    Returns the frequency in MHz and a label. Numbers up to 100 are band numbers, larger ones MHz.

    Raises
    ------
    ValueError
        When the text is neither a known band nor a frequency from 400 to 6000 MHz.
    """
    raw = str(text).strip().upper().replace(" ", "")
    if raw.startswith("B") and raw[1:].isdigit():
        raw = raw[1:]
    if raw.endswith("MHZ"):
        raw = raw[:-3]
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{text!r} is neither an LTE band (e.g. 3 or B3) nor a frequency in MHz (e.g. 1800)") from None
    if value <= 100:
        mhz = band_to_mhz(int(value)) if value == int(value) else None
        if mhz is None:
            raise ValueError(f"LTE band {text!r} is not known here; give the frequency in MHz instead (e.g. 1800)")
        return mhz, f"B{int(value)}"
    if not 400 <= value <= 6000:
        raise ValueError(f"{text!r} MHz is outside 400-6000 MHz, where mobile networks are")
    return value, f"{value:g} MHz"


def wavelength_m(frequency_mhz) -> np.ndarray:
    return SPEED_OF_LIGHT_M_S / (np.asarray(frequency_mhz, dtype=float) * 1e6)


def operator_frequencies(samples: pd.DataFrame) -> dict[str, dict]:
    """The carrier each operator's phones were on: the most common EARFCN of its LTE samples.

    Returns ``{operator: {"frequency_mhz", "earfcn", "band", "source"}}`` for operators whose
    samples carry an ``arfcn`` (LTE EARFCN or NR-ARFCN); others are absent (callers use the default).
    """
    out: dict[str, dict] = {}
    if samples is None or len(samples) == 0 or "arfcn" not in samples.columns:
        return out
    tech = samples["tech"].astype("string") if "tech" in samples.columns else pd.Series("LTE", index=samples.index)
    arfcn = pd.to_numeric(samples["arfcn"], errors="coerce")
    ok = arfcn.notna() & tech.isin(["LTE", "NR"]).fillna(False) & samples["operator"].notna()
    if not ok.any():
        return out
    df = pd.DataFrame({"op": samples["operator"][ok].astype(str), "tech": tech[ok].astype(str),
                       "arfcn": arfcn[ok].astype("int64")})
    for op, g in df.groupby("op", sort=True):
        lte = g[g["tech"] == "LTE"]
        use = lte if len(lte) else g
        value = int(use["arfcn"].mode().iloc[0])
        mhz = earfcn_to_mhz(value) if use["tech"].iloc[0] == "LTE" else nrarfcn_to_mhz(value)
        if mhz is None or not math.isfinite(mhz):
            continue
        band = earfcn_band(value) if use["tech"].iloc[0] == "LTE" else None
        out[op] = {"frequency_mhz": round(float(mhz), 2), "earfcn": value, "band": band,
                   "source": f"EARFCN {value} of {len(use):,} samples" + (f" (band {band})" if band else "")}
    return out
