"""``surveyor antenna``: which way and how high a household should point an antenna."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import config_option, db_option, json_option, open_survey, overwrite_option
from surveyor.cli.texts import _


def advice_text(advice) -> str:
    """The advice as plain lines, one block per place."""
    lines = []
    for place, rows in advice.groupby("place", sort=False):
        r0 = rows.iloc[0]
        lines.append(_("{place} (ground {ground} m), antenna at {mast} m:").format(
            place=place, ground=f"{r0['ground_m']:,.0f}", mast=f"{r0['mast_m']:g}"))
        for r in rows.itertuples(index=False):
            if r.tower_id is None or r.tower_id != r.tower_id:
                lines.append(f"  {r.operator}: {r.note}.")
                continue
            clear = _("clear") if r.fresnel_clear else (_("line of sight, Fresnel zone not clear") if r.line_of_sight
                                                        else _("blocked by terrain"))
            lines.append("  " + _(
                "{operator}: tower {tower} at ({lat}, {lon}), {km} km; point {bearing} deg ({direction}), elevation "
                "{elevation} deg; {clear}; lowest mast clearing the Fresnel zone {mast} m; predicted {rsrp} dBm "
                "({calibration}); tower height {height} m ({height_source}). {note}.").format(
                operator=r.operator, tower=r.tower_id, lat=f"{r.tower_lat:.5f}", lon=f"{r.tower_lon:.5f}",
                km=f"{r.distance_m / 1000:.1f}", bearing=f"{r.bearing_deg:.0f}", direction=r.direction,
                elevation=f"{r.elevation_deg:+.2f}", clear=clear, mast=f"{r.mast_needed_m:,.1f}",
                rsrp=f"{r.predicted_rsrp_dbm:.0f}", calibration=r.calibration, height=f"{r.tower_height_m:g}",
                height_source=r.tower_height_source, note=r.note))
    return "\n".join(lines) + "\n"


@click.command(name="antenna")
@click.option("--at", "at", required=True, metavar="LAT,LON|dusun",
              help="The place (latitude first, e.g. -7.437,109.858), or 'dusun' for every dusun centre.")
@click.option("--height", "mast_m", type=float, default=6.0, show_default=True, metavar="M",
              help="Height of the antenna above the ground, in metres.")
@click.option("--out", "out_dir", default="maps/antenna", show_default=True, metavar="FOLDER",
              help="Folder for the path-profile PNGs.")
@click.option("--no-png", is_flag=True, help="Do not draw the path profiles.")
@click.option("--clutter", "clutter_m", type=click.FloatRange(0, 60), default=0.0, show_default=True, metavar="M",
              help="Trees and houses along the path, in metres above the terrain (not within 100 m of either end).")
@db_option
@config_option
@overwrite_option
@json_option
def command(at, mast_m, out_dir, no_png, clutter_m, db, config, overwrite, as_json) -> None:
    """Tell a household, per operator, where to point an antenna and how high to put it.

    For each operator: the best known tower, its bearing (degrees and compass word), the elevation
    angle, the distance, whether the path clears the first Fresnel zone at that height, the lowest
    mast height that does, and a PNG of the path profile. Needs an elevation model
    (`surveyor dem import`) and towers (an OpenCelliD list merged, or `surveyor towers add`).

    \b
    Examples:
      surveyor antenna --at -7.4391,109.8602 --height 8
      surveyor antenna --at dusun
    """
    from pathlib import Path

    from surveyor.app.terrain import antenna_report
    from surveyor.config import load_settings

    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise click.UsageError(_("--out {path} is a file; give a folder for the PNGs.").format(path=out_dir))
    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        advice, written = antenna_report(store, settings, at, mast_m=mast_m, out_dir=None if no_png else out_dir,
                                         overwrite=overwrite, clutter_m=clutter_m)
    if as_json:
        click.echo(json.dumps({"advice": json.loads(advice.to_json(orient="records")),
                               "png": [str(p) for p in written]}, indent=1))
        return
    click.echo(advice_text(advice), nl=False)
    for p in written:
        click.echo(str(p))
