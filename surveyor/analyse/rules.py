"""The coverage rules of docs/method.md, on whole columns of samples.

This is the one implementation of the rules: the analysis, the maps, the report and the exports
all call these functions, and every threshold comes from :class:`surveyor.config.Settings`
(``survey.toml``), never from a number written here.

- :func:`negative_reasons`: why a signal or manual sample says "no usable 4G here".
- :func:`speed_failed`: which speed tests fail the 4G floor.
- :func:`rsrp_classes`: the colour class of an LTE RSRP value.

The logger's live page on the phone, where numpy does not install, judges one sample at a time
with the one-sample forms in :mod:`surveyor.model` (:func:`~surveyor.model.rsrp_class`,
:func:`~surveyor.model.speed_failed`); a test keeps both forms giving the same answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveyor.config import Settings

# Why a sample is negative, in the order the rule checks them.
NEGATIVE_REASONS = ("no_service", "2g3g_only", "weak_signal", "manual_no_signal")

# RTR-NetTest / Android classes of LTE RSRP, best first; "none" is below the poor bound.
RSRP_CLASSES = ("excellent", "good", "fair", "poor", "none")


def _column(samples: pd.DataFrame, name: str) -> pd.Series:
    """A column as objects, or all missing when the frame does not have it (unknown, not absent
    signal: a missing column never makes a sample negative)."""
    if name in samples.columns:
        return samples[name].astype(object)
    return pd.Series(None, index=samples.index, dtype=object)


def _numbers(samples: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64, NaN where missing or not a number."""
    if name not in samples.columns:
        return np.full(len(samples), np.nan)
    return pd.to_numeric(samples[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def negative_reasons(samples: pd.DataFrame, settings: Settings) -> pd.Series:
    """Why each sample says "no usable 4G here" for its operator, or missing when it does not.

    A signal sample is negative with reason ``no_service`` when ``service`` is ``no_service`` or
    ``tech`` is ``NONE``; ``2g3g_only`` when the phone had only GSM or UMTS (voice and SMS, no
    usable data); ``weak_signal`` when its technology is LTE, NR or unknown and its RSRP is below
    ``settings.rsrp_negative_below_dbm`` (for 5G non-standalone, the better of the LTE anchor's
    ``rsrp_dbm`` and ``nr_rsrp_dbm``). A manual sample is negative when it says no service, or
    (``manual_no_signal``) when it has ``settings.manual_max_level`` bars or fewer. Speed tests are
    judged apart (:func:`speed_failed`) and are never negative here. A sample with no RSRP and no
    other sign is not negative: the absence of a value is not evidence of the absence of signal.

    Parameters
    ----------
    samples
        Samples with any of the columns ``kind`` (missing means ``signal``), ``service``,
        ``tech``, ``level``, ``rsrp_dbm`` and ``nr_rsrp_dbm`` (dBm); absent columns count as
        unknown values.
    settings
        ``rsrp_negative_below_dbm`` and ``manual_max_level``.

    Returns
    -------
    pandas.Series
        One of :data:`NEGATIVE_REASONS` or None per sample, aligned with ``samples``.
    """
    kind = _column(samples, "kind").fillna("signal")
    service = _column(samples, "service")
    tech = _column(samples, "tech")
    level = _numbers(samples, "level")
    best_rsrp = np.fmax(_numbers(samples, "rsrp_dbm"), _numbers(samples, "nr_rsrp_dbm"))
    is_speed = (kind == "speed").to_numpy()
    is_manual = (kind == "manual").to_numpy()
    no_service = ((service == "no_service") | (tech == "NONE")).to_numpy()
    with np.errstate(invalid="ignore"):
        manual_low = is_manual & (level <= settings.manual_max_level)
        lte_or_unknown = (tech.isin(["LTE", "NR"]) | tech.isna()).to_numpy()
        weak = lte_or_unknown & ~is_manual & (best_rsrp < settings.rsrp_negative_below_dbm)
    only_2g3g = tech.isin(["GSM", "UMTS"]).to_numpy() & ~is_manual
    # numpy's stubs leave None (an object array's value) out of select()
    out = np.select([is_speed, no_service, manual_low, only_2g3g, weak],  # type: ignore[call-overload]
                    [None, "no_service", "manual_no_signal", "2g3g_only", "weak_signal"], default=None)
    return pd.Series(out, index=samples.index, dtype=object)


def speed_failed(tests: pd.DataFrame, settings: Settings) -> np.ndarray:
    """Which speed tests fail: the test could not run (``test`` is ``failed``), or it measured
    under ``settings.download_min_mbps`` down or ``settings.upload_min_mbps`` up (the FCC's 4G
    floor). A missing speed is not a failure.

    Parameters
    ----------
    tests
        Speed tests with the columns ``test``, ``download_mbps`` and ``upload_mbps`` (Mbit/s);
        absent columns count as unknown values.
    settings
        ``download_min_mbps`` and ``upload_min_mbps``.

    Returns
    -------
    numpy.ndarray of bool
    """
    with np.errstate(invalid="ignore"):
        return ((_column(tests, "test") == "failed").to_numpy(dtype=bool)
                | (_numbers(tests, "download_mbps") < settings.download_min_mbps)
                | (_numbers(tests, "upload_mbps") < settings.upload_min_mbps))


def rsrp_classes(rsrp_dbm, settings: Settings) -> np.ndarray:
    """Colour class of LTE RSRP values (RTR-NetTest, Android): ``excellent`` at or above
    ``settings.rsrp_excellent_dbm``, then ``good``, ``fair`` and ``poor`` at or above their
    bounds, ``none`` below ``settings.rsrp_poor_dbm``; None where the value is unknown.

    Parameters
    ----------
    rsrp_dbm
        RSRP values (dBm), array-like; None or NaN when unknown.
    settings
        ``rsrp_excellent_dbm``, ``rsrp_good_dbm``, ``rsrp_fair_dbm``, ``rsrp_poor_dbm``.

    Returns
    -------
    numpy.ndarray of object
        One of :data:`RSRP_CLASSES` or None per value.
    """
    rsrp = pd.to_numeric(pd.Series(rsrp_dbm, dtype=object), errors="coerce").to_numpy(dtype=float,
                                                                                      na_value=np.nan)
    bounds = (settings.rsrp_excellent_dbm, settings.rsrp_good_dbm, settings.rsrp_fair_dbm, settings.rsrp_poor_dbm)
    known = ~np.isnan(rsrp)
    with np.errstate(invalid="ignore"):
        conditions = [~known] + [rsrp >= bound for bound in bounds]
    # numpy's stubs leave None (an object array's value) out of select()
    return np.select(conditions, [None, *RSRP_CLASSES[:-1]], default=RSRP_CLASSES[-1])  # type: ignore[list-item]
