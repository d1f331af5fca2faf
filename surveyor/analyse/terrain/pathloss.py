"""Median path loss over average terrain: Okumura-Hata and COST-231-Hata.

Hata (1980), "Empirical formula for propagation loss in land mobile radio services" (IEEE Trans.
Veh. Tech. 29(3)) for 150-1500 MHz, and its extension to 1500-2000 MHz by COST Action 231 (1999),
"Digital mobile radio towards future generation systems", section 4.4.1. Urban loss (small or
medium city), in dB, with d in km, f in MHz, base height h_b and mobile height h_m in metres:

    a(h_m) = (1.1 log f - 0.7) h_m - (1.56 log f - 0.8)
    L_u = 69.55 + 26.16 log f - 13.82 log h_b - a(h_m) + (44.9 - 6.55 log h_b) log d   (f <= 1500)
    L_u = 46.3  + 33.9  log f - 13.82 log h_b - a(h_m) + (44.9 - 6.55 log h_b) log d   (f > 1500)

and Hata's suburban correction ``L_su = L_u - 2 (log(f / 28))^2 - 5.4``. Outside the published
ranges (d 1-20 km, h_b 30-200 m, h_m 1-10 m, f above 2000 MHz) the formulas are extrapolated, and
the loss is never less than free space. Terrain obstacles come on top as the knife-edge loss of
:mod:`surveyor.analyse.terrain.paths`; the calibration on the survey's own cells absorbs the
model's offset and slope error for the village.
"""

from __future__ import annotations

import numpy as np

from surveyor.analyse.terrain.constants import HATA_ENVIRONMENT


def free_space_db(distance_m, frequency_mhz) -> np.ndarray:
    """Free-space loss, ITU-R P.525: 32.45 + 20 log f(MHz) + 20 log d(km)."""
    d_km = np.maximum(np.asarray(distance_m, dtype=float), 1.0) / 1000.0
    return 32.45 + 20.0 * np.log10(np.asarray(frequency_mhz, dtype=float)) + 20.0 * np.log10(d_km)


def hata_db(distance_m, frequency_mhz, base_height_m, mobile_height_m,
            environment: str = HATA_ENVIRONMENT) -> np.ndarray:
    """Median loss (dB) by Okumura-Hata / COST-231-Hata, floored at free space. Arrays broadcast."""
    d_km = np.maximum(np.asarray(distance_m, dtype=float) / 1000.0, 0.02)
    f = np.asarray(frequency_mhz, dtype=float)
    hb = np.clip(np.asarray(base_height_m, dtype=float), 1.0, 1000.0)
    hm = np.clip(np.asarray(mobile_height_m, dtype=float), 1.0, 30.0)
    lf = np.log10(f)
    a_hm = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    slope = 44.9 - 6.55 * np.log10(hb)
    base = np.where(f <= 1500.0, 69.55 + 26.16 * lf, 46.3 + 33.9 * lf)
    loss = base - 13.82 * np.log10(hb) - a_hm + slope * np.log10(d_km)
    if environment == "suburban":
        loss = loss - 2.0 * np.log10(f / 28.0) ** 2 - 5.4
    elif environment == "open":
        loss = loss - 4.78 * lf ** 2 + 18.33 * lf - 40.94
    elif environment != "urban":
        raise ValueError(f"unknown Hata environment {environment!r}: urban, suburban or open")
    return np.maximum(loss, free_space_db(d_km * 1000.0, f))


def hata_slope_db_per_decade(base_height_m) -> np.ndarray:
    """How many dB the Hata loss grows per tenfold distance: 44.9 - 6.55 log h_b (35.2 dB at 30 m)."""
    return 44.9 - 6.55 * np.log10(np.clip(np.asarray(base_height_m, dtype=float), 1.0, 1000.0))
