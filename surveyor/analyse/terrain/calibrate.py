"""What the survey measured, per cell, for calibrating the prediction and for checking it.

Samples count as in the coverage analysis (rule 1 of the README): placed, outside exclusion zones,
not indoor, GPS accuracy within ``max_accuracy_m`` (or unknown), of an analysed operator. A signal
sample gives its LTE RSRP (for 5G NSA the better of the LTE anchor and NR SS-RSRP); a sample
without LTE (no service, only 2G/3G) says "below anything this phone could measure" and counts as
minus infinity. A cell's value is the median: exact when fewer than half of its samples lack LTE,
and *censored* (unknown, below the phone's floor) otherwise, so weak cells do not bias the fit by
keeping only their luckier samples.

Cross-validation holds out one whole session at a time: the calibration is fitted on the other
sessions' cells and compared with the held-out session's own cell medians, so the reported error
is that of predicting a walk the model has not seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.analyse.terrain.constants import CALIBRATION_MIN_SAMPLES
from surveyor.config import Settings

# ``time`` for the survey scope's period (surveyor.geo.scope), which the calibration respects too.
SAMPLE_COLUMNS = ["time", "lat", "lon", "accuracy_m", "environment", "session", "source_file", "kind", "operator",
                  "tech", "service", "rsrp_dbm", "nr_rsrp_dbm", "arfcn", "h3_10"]


def measurements(samples: pd.DataFrame, settings: Settings, resolution: int | None = None) -> pd.DataFrame:
    """One row per usable signal sample: ``operator``, ``cell`` (H3 uint64), ``session``, ``value_dbm``
    (RSRP, or -inf for a sample without LTE)."""
    from surveyor.geo import cells as grid
    from surveyor.geo.exclusion import excluded_mask

    res = resolution or settings.resolution
    out_cols = ["operator", "cell", "session", "value_dbm"]
    if samples is None or len(samples) == 0:
        return pd.DataFrame({c: [] for c in out_cols})

    def col(name):
        return samples[name] if name in samples.columns else pd.Series(pd.NA, index=samples.index, dtype="object")

    def num(name):
        return pd.to_numeric(col(name), errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def text(name):
        return col(name).astype("string").fillna("").to_numpy(dtype=object)

    lat, lon, acc = num("lat"), num("lon"), num("accuracy_m")
    op = text("operator")
    kind, tech, service, env = text("kind"), text("tech"), text("service"), text("environment")
    keep = np.isfinite(lat) & np.isfinite(lon) & np.isin(op, list(settings.operators)) & (env != "indoor")
    keep &= np.isin(kind, ["signal", ""])
    with np.errstate(invalid="ignore"):
        keep &= ~(acc > settings.max_accuracy_m)
    if settings.exclusion_zones and keep.any():
        ex = np.zeros(len(keep), dtype=bool)
        ex[keep] = excluded_mask(lat[keep], lon[keep], settings)
        keep &= ~ex
    best = np.fmax(num("rsrp_dbm"), num("nr_rsrp_dbm"))
    lte = np.isin(tech, ["LTE", "NR"]) & np.isfinite(best)
    none = np.isin(service, ["no_service", "emergency_only"]) | np.isin(tech, ["NONE", "GSM", "UMTS"])
    value = np.where(lte, best, np.where(none, -np.inf, np.nan))
    keep &= ~np.isnan(value)
    idx = np.flatnonzero(keep)
    h3_10 = samples["h3_10"].iloc[idx] if "h3_10" in samples.columns else None
    cells = grid.assign_cells(lat[idx], lon[idx], res, h3_10=h3_10)
    session = text("session")[idx]
    missing = session == ""
    if missing.any():
        session[missing] = "(none) " + text("source_file")[idx][missing]
    return pd.DataFrame({"operator": op[idx], "cell": cells, "session": session, "value_dbm": value[idx]})


def cell_medians(meas: pd.DataFrame, min_samples: int = CALIBRATION_MIN_SAMPLES) -> pd.DataFrame:
    """Per operator and cell with at least ``min_samples`` samples: ``n``, ``median_dbm`` (NaN when
    censored) and ``censored``."""
    cols = ["operator", "cell", "n", "median_dbm", "censored"]
    if len(meas) == 0:
        return pd.DataFrame({c: [] for c in cols})
    g = meas.groupby(["operator", "cell"], sort=True)["value_dbm"]
    out = pd.DataFrame({"n": g.size(), "median_dbm": g.median()}).reset_index()
    out = out[out["n"] >= min_samples].reset_index(drop=True)
    out["censored"] = ~np.isfinite(out["median_dbm"].to_numpy(float))
    out.loc[out["censored"], "median_dbm"] = np.nan
    return out[cols]
