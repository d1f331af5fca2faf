"""``surveyor antenna``: advice per household place and operator, with a PNG of each path profile.

The advice comes from :func:`surveyor.analyse.terrain.antenna.antenna_advice`; this module adds
what a command needs around it: the places (``LAT,LON`` or every dusun centre), the survey's
calibration, and the profile drawings (matplotlib, Agg), written whole or not at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveyor.config import Settings
from surveyor.errors import InvalidRequest, OutputExists


def parse_at(text: str) -> tuple[float, float]:
    """``--at LAT,LON`` (decimal degrees, latitude first, as Google Maps copies them)."""
    parts = [p for p in re.split(r"[,\s;]+", str(text).strip()) if p]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InvalidRequest(f"--at {text!r} is not LAT,LON.",
                             fix="e.g. --at -7.437,109.858 (latitude first), or --at dusun") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidRequest(f"--at {text!r} is not a position on earth.",
                             fix="Latitude first: --at -7.437,109.858.")
    return lat, lon


def places_for(at: str, settings: Settings, store) -> pd.DataFrame:
    """The places of ``--at``: one ``LAT,LON``, or ``dusun`` for every dusun centre."""
    from surveyor.analyse.terrain.antenna import dusun_centres
    from surveyor.geo.areas import select_area

    if str(at).strip().lower() == "dusun":
        return dusun_centres(select_area(store.read_layer("areas"), settings).dusun)
    lat, lon = parse_at(at)
    return pd.DataFrame({"place": [f"{lat:.5f},{lon:.5f}"], "lat": [lat], "lon": [lon]})


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", str(text)).strip("_")[:60] or "place"


def antenna_report(store, settings: Settings, at: str, *, mast_m: float, out_dir: str | Path | None = None,
                   overwrite: bool = False, operators=None, clutter_m: float = 0.0) -> tuple[pd.DataFrame, list[Path]]:
    """Advice for the places of ``at``, and a profile PNG per place and operator in ``out_dir``.

    Returns the advice (:data:`surveyor.analyse.terrain.antenna.ADVICE_COLUMNS`) and the PNGs written.
    Existing PNGs are refused (all checked before any is written) unless ``overwrite``.
    """
    from surveyor.analyse.terrain.antenna import antenna_advice
    from surveyor.analyse.terrain.calibrate import SAMPLE_COLUMNS
    from surveyor.analyse.terrain.context import load_context
    from surveyor.analyse.terrain.prediction import survey_calibrations

    places = places_for(at, settings, store)
    from surveyor.geo.scope import in_scope

    # Calibrated on the samples the analysis counts: not those far away, long ago or of other operators.
    samples = in_scope(store.read_samples(columns=SAMPLE_COLUMNS), settings)
    ctx = load_context(store, settings, samples=samples, required=True)
    calibrations = survey_calibrations(ctx, samples, settings)
    ops = list(operators or settings.operators)
    advice = antenna_advice(ctx, places, ops, mast_m=mast_m, calibrations=calibrations, clutter_m=clutter_m)
    written: list[Path] = []
    if out_dir is None:
        return advice, written
    out = Path(out_dir)
    drawable = advice[advice["tower_id"].notna()]
    targets = [out / f"antenna-{_slug(r.place)}-{_slug(r.operator)}.png" for r in drawable.itertuples(index=False)]
    if not overwrite:
        for t in targets:
            if t.exists():
                raise OutputExists(str(t))
    out.mkdir(parents=True, exist_ok=True)
    for r, target in zip(drawable.itertuples(index=False), targets):
        draw_profile(ctx, r._asdict(), target, clutter_m=clutter_m)
        written.append(target)
    return advice, written


def draw_profile(ctx, row: dict[str, Any], out: Path, *, clutter_m: float = 0.0) -> Path:
    """A PNG of one path: terrain with the earth bulge, the ray, 60% and 100% of the first Fresnel zone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from surveyor.analyse.terrain.paths import profile_arrays
    from surveyor.files import atomic_path

    dem = ctx.dem
    tower = ctx.towers[ctx.towers["tower_id"] == row["tower_id"]].iloc[0]
    tx = tuple(float(v) for v in dem.xy(float(tower.lon), float(tower.lat)))
    rx = tuple(float(v) for v in dem.xy(row["lon"], row["lat"]))
    prof = profile_arrays(dem, tx, rx, float(tower.frequency_mhz), float(tower.height_m), float(row["mast_m"]),
                          clutter_m=clutter_m)
    d_km = (prof["distance_m"][-1] - prof["distance_m"]) / 1000.0  # from the house (left) to the tower (right)
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    ground = prof["ground_m"] + prof["bulge_m"]
    if clutter_m:
        ax.plot(d_km, prof["obstacle_m"], color="#5a7d2a", lw=0.8, label=f"clutter ({clutter_m:g} m)")
    bottom = float(np.nanmin(ground)) - 30.0
    ax.fill_between(d_km, bottom, ground, color="#b8a27a", lw=0, label="terrain (4/3 earth bulge added)")
    ray = prof["ray_m"]
    f1 = prof["f1_m"]
    ax.plot(d_km, ray, color="#0072B2", lw=1.4, label="line of sight")
    ax.plot(d_km, ray - f1, color="#0072B2", lw=0.8, ls="--", label="first Fresnel zone")
    ax.plot(d_km, ray + f1, color="#0072B2", lw=0.8, ls="--")
    ax.plot(d_km, ray - 0.6 * f1, color="#009E73", lw=0.8, ls=":", label="60% of it (must stay clear)")
    # Index 0 is the tower (right), the last index the house (left, distance 0).
    ax.plot([d_km[0], d_km[0]], [ground[0], ray[0]], color="black", lw=2)
    ax.plot([d_km[-1], d_km[-1]], [ground[-1], ray[-1]], color="#D55E00", lw=2)
    ax.annotate(f"{row['operator']} tower {row['tower_id']}\n{tower.height_m:g} m ({tower.height_source})",
                (d_km[0], ray[0]), ha="right", va="bottom", fontsize=8)
    ax.annotate(f"antenna {row['mast_m']:g} m", (d_km[-1], ray[-1]), ha="left", va="bottom", fontsize=8,
                color="#D55E00")
    e = prof["edge_index"]
    if not row["fresnel_clear"]:
        ax.plot([d_km[e]], [prof["obstacle_m"][e]], marker="v", color="#D55E00", ms=8, ls="none",
                label=f"main obstacle (ground {prof['ground_m'][e]:,.0f} m)")
    ax.set_xlim(0, d_km[0])
    ax.set_ylim(bottom, max(float(np.nanmax(ray + f1)), float(np.nanmax(ground))) + 20)
    ax.set_xlabel("distance from the antenna (km)")
    ax.set_ylabel("height above sea level (m)")
    verdict = "path clear" if row["fresnel_clear"] else f"blocked: needs a {row['mast_needed_m']:,.0f} m mast"
    ax.set_title(f"{row['place']} -> {row['operator']} {row['tower_id']}: {row['distance_m'] / 1000:.1f} km, "
                 f"bearing {row['bearing_deg']:.0f} deg ({row['direction']}), "
                 f"elevation {row['elevation_deg']:+.2f} deg; {verdict}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.text(0.99, 0.01, "surveyor: terrain prediction, not a measurement", ha="right", fontsize=6, color="grey")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(0.5, 0.03), ncol=5, fontsize=7,
               frameon=False)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out
