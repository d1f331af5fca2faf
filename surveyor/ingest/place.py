"""Placing samples that have no position by time, from the GPS tracks in the store.

A second phone without GPS (or a signal log from a modem, or a speed test with an empty position)
walked with a phone or receiver that recorded a track. Each such sample is placed where the track
was at the sample's time:

- **Which track.** Tracks are grouped by ``device`` (or, for tracks without a device, by source
  file: one GPX or NMEA file is one receiver). The sample's own device's track is preferred; when
  it has none covering the time, any other track covering the time is used (the phones walked
  together), the one whose two surrounding points are closest in time.
- **Interpolation.** Linear in latitude and longitude between the two track points around the
  sample time (at metre scales this equals the great-circle path). The two points must be at most
  ``max_gap_s`` apart: across a longer gap the walker may have gone anywhere.
- **Accuracy.** ``accuracy_m`` = the larger of the two points' accuracies (0 when the track does
  not give them) + the distance from the placed position to the nearer of the two points: the
  farther from a real fix, the less we know. It is a lower bound when the track has no accuracy.
- The sample gets ``placed_by = "track"`` and its ``h3_10`` cell; ``no_fix`` stays true (it *was*
  taken without a fix, and reports can say so).

Samples that cannot be placed stay unplaced (``surveyor status`` counts them; no map shows them),
with a reason: ``no_tracks`` (the store has no track at all), ``no_track_at_time`` (no track
covers the sample's time: another day, or a track with a bogus clock), ``gap_too_long`` (a track
covers the time but its points around it are more than ``max_gap_s`` apart), ``no_time``.
Running it again after more tracks are merged places what it can then.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveyor.geo.cells import h3_cells
from surveyor.geo.distance import haversine_m

log = logging.getLogger(__name__)

def _ns(times: pd.Series) -> np.ndarray:
    t = pd.to_datetime(times, utc=True, errors="coerce")
    return t.astype("datetime64[ns, UTC]").astype("int64").to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)


def track_groups(tracks: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Track points per receiver, sorted by time, one point per instant, without unusable rows."""
    if tracks is None or len(tracks) == 0:
        return {}
    df = pd.DataFrame({
        "t": _ns(tracks["time"]),
        "lat": pd.to_numeric(tracks["lat"], errors="coerce"),
        "lon": pd.to_numeric(tracks["lon"], errors="coerce"),
        "acc": pd.to_numeric(tracks["accuracy_m"], errors="coerce") if "accuracy_m" in tracks.columns else np.nan,
    })
    device = tracks["device"] if "device" in tracks.columns else pd.Series([None] * len(tracks), index=tracks.index)
    source = tracks["source_file"] if "source_file" in tracks.columns else pd.Series(["?"] * len(tracks),
                                                                                      index=tracks.index)
    df["key"] = np.where(device.notna(), "device:" + device.astype(str),
                         "file:" + source.astype(str)).astype(object)
    df = df[(df["t"] != np.iinfo(np.int64).min) & df["lat"].notna() & df["lon"].notna()]
    out = {}
    for key, g in df.groupby("key", sort=True):
        out[key] = g.sort_values("t", kind="stable").drop_duplicates("t").reset_index(drop=True)
    return out


def interpolate(track: pd.DataFrame, t_ns: np.ndarray, max_gap_s: float) -> dict[str, np.ndarray]:
    """Positions on one track at the given times (pure, vectorised with searchsorted).

    Returns arrays ``lat``, ``lon``, ``accuracy_m``, ``gap_s`` (time between the two surrounding
    points; NaN when outside the track's span) and ``ok`` (covered and gap within ``max_gap_s``).
    """
    tt = track["t"].to_numpy(dtype=np.int64)
    la = track["lat"].to_numpy(dtype=float)
    lo = track["lon"].to_numpy(dtype=float)
    acc = np.nan_to_num(track["acc"].to_numpy(dtype=float), nan=0.0)
    n = len(t_ns)
    out = {"lat": np.full(n, np.nan), "lon": np.full(n, np.nan), "accuracy_m": np.full(n, np.nan),
           "gap_s": np.full(n, np.nan), "ok": np.zeros(n, dtype=bool)}
    if len(tt) == 0 or n == 0:
        return out
    # i1: first point at or after t; a sample exactly on a point uses that point on both sides.
    i1 = np.searchsorted(tt, t_ns, side="left")
    covered = (i1 < len(tt)) & (t_ns >= tt[0])
    i1c = np.clip(i1, 0, len(tt) - 1)
    exact = covered & (tt[i1c] == t_ns)
    i0 = np.where(exact, i1c, np.clip(i1c - 1, 0, len(tt) - 1))
    gap_s = (tt[i1c] - tt[i0]) / 1e9
    f = np.where(gap_s > 0, (t_ns - tt[i0]) / np.where(gap_s > 0, gap_s * 1e9, 1.0), 0.0)
    lat = la[i0] + f * (la[i1c] - la[i0])
    lon = lo[i0] + f * (lo[i1c] - lo[i0])
    nearer = np.minimum(haversine_m(lat, lon, la[i0], lo[i0], xp=np), haversine_m(lat, lon, la[i1c], lo[i1c], xp=np))
    ok = covered & (gap_s <= max_gap_s)
    out["lat"] = np.where(covered, lat, np.nan)
    out["lon"] = np.where(covered, lon, np.nan)
    out["accuracy_m"] = np.where(covered, np.maximum(acc[i0], acc[i1c]) + nearer, np.nan)
    out["gap_s"] = np.where(covered, gap_s, np.nan)
    out["ok"] = ok
    return out


def place(samples: pd.DataFrame, tracks: pd.DataFrame, max_gap_s: float = 30.0) -> tuple[pd.DataFrame, pd.Series]:
    """Positions for unplaced samples from tracks (pure: plain frames in, frames out).

    ``samples`` has ``sample_id``, ``time`` and ``device``; ``tracks`` has ``time``, ``lat``, ``lon``,
    optional ``accuracy_m``, ``device`` and ``source_file``. Returns the placed rows (``sample_id``,
    ``lat``, ``lon``, ``accuracy_m``, ``placed_by``, ``h3_10``) and, for every sample, the reason it
    was not placed (missing where it was).
    """
    n = len(samples)
    reasons = pd.Series([None] * n, index=samples.index, dtype=object)
    empty = pd.DataFrame(columns=["sample_id", "lat", "lon", "accuracy_m", "placed_by", "h3_10"])
    if n == 0:
        return empty, reasons
    t_ns = _ns(samples["time"])
    has_time = t_ns != np.iinfo(np.int64).min
    reasons[~has_time] = "no_time"
    groups = track_groups(tracks)
    if not groups:
        reasons[has_time] = "no_tracks"
        return empty, reasons
    device = samples["device"] if "device" in samples.columns else pd.Series([None] * n, index=samples.index)
    own_key = np.where(device.notna(), "device:" + device.astype(str), "").astype(object)

    best_lat = np.full(n, np.nan)
    best_lon = np.full(n, np.nan)
    best_acc = np.full(n, np.nan)
    best_rank = np.full(n, np.inf)  # own device's track first, then the smallest gap
    any_covered = np.zeros(n, dtype=bool)
    for key, track in groups.items():
        r = interpolate(track, t_ns, max_gap_s)
        any_covered |= ~np.isnan(r["gap_s"]) & has_time
        ok = r["ok"] & has_time
        rank = np.where(own_key == key, -1.0, r["gap_s"])
        better = ok & (rank < best_rank)
        best_lat[better] = r["lat"][better]
        best_lon[better] = r["lon"][better]
        best_acc[better] = r["accuracy_m"][better]
        best_rank[better] = rank[better]
    placed = np.isfinite(best_rank)
    reasons[has_time & ~placed & ~any_covered] = "no_track_at_time"
    reasons[has_time & ~placed & any_covered] = "gap_too_long"
    out = pd.DataFrame({
        "sample_id": samples["sample_id"].to_numpy()[placed],
        "lat": best_lat[placed],
        "lon": best_lon[placed],
        "accuracy_m": best_acc[placed],
        "placed_by": "track",
    })
    out["h3_10"] = h3_cells(out["lat"], out["lon"], 10)
    return out, reasons


def _span(times: pd.Series) -> str:
    t = pd.to_datetime(times, utc=True, errors="coerce").dropna()
    if len(t) == 0:
        return "no valid time"
    return f"{t.min():%Y-%m-%d %H:%M} to {t.max():%Y-%m-%d %H:%M} UTC"


@dataclass
class Placement:
    """What placing samples from GPS tracks did: ``placed`` samples got a position, ``unplaced``
    are still without one, ``reasons`` counts why (``no_tracks``, ``no_track_at_time``,
    ``gap_too_long``, ``no_time``), and ``messages`` say what to do about them."""

    placed: int = 0
    unplaced: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def place_unplaced(store, max_gap_s: float = 30.0) -> Placement:
    """Place the store's samples without a position from its ``tracks`` layer.

    The caller holds the store's writer lock (``surveyor merge`` does).
    """
    # A sample without a position has no ``placed_by`` (a merge sets "gps" with the position, placing
    # sets "track"). Both stores keep a partial index of those rows, so asking for placed_by IS NULL
    # looks at them only instead of scanning every sample after each merge.
    samples = store.read_samples(columns=["sample_id", "time", "device"],
                                 where="placed_by IS NULL AND (lat IS NULL OR lon IS NULL)")
    result = Placement(unplaced=len(samples))
    if len(samples) == 0:
        return result
    tracks = store.read_layer("tracks")
    placed, reasons = place(samples, tracks, max_gap_s=max_gap_s)
    if len(placed):
        store.update_positions(placed)
    counts = reasons.dropna().value_counts()
    result.placed = len(placed)
    result.unplaced = int(len(samples) - len(placed))
    result.reasons = {str(k): int(v) for k, v in counts.items()}
    if result.reasons.get("no_tracks"):
        result.messages.append(
            f"{result.reasons['no_tracks']} samples have no position and there is no GPS track to place "
            "them: merge the GPX or NMEA track recorded on the same walk.")
    if result.reasons.get("no_track_at_time"):
        lost = samples[(reasons == "no_track_at_time").to_numpy()]
        result.messages.append(
            f"{len(lost)} samples without a position ({_span(lost['time'])}) fall outside every GPS track "
            f"(tracks cover {_span(tracks['time'])}): check the track's date and the phone clocks, "
            "or --tz for local times.")
    if result.reasons.get("gap_too_long"):
        result.messages.append(
            f"{result.reasons['gap_too_long']} samples fall in gaps of a GPS track longer than "
            f"{max_gap_s:g} s; raise --max-gap if the walker kept a steady path.")
    for m in result.messages:
        log.info("%s", m)
    return result
