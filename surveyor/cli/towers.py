"""``surveyor towers``: the towers terrain analysis uses (``towers add``, ``towers list``)."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import config_option, db_option, json_option, open_survey
from surveyor.cli.texts import _


@click.group(name="towers")
def command() -> None:
    """Towers for terrain analysis: OpenCelliD cell positions (merged) plus towers entered by hand."""


@command.command(name="add")
@click.option("--operator", required=True, metavar="NAME", help="Operator (Telkomsel, Indosat, XL, Tri, Smartfren).")
@click.option("--lat", type=float, required=True, help="Latitude, WGS84 degrees (south is negative).")
@click.option("--lon", type=float, required=True, help="Longitude, WGS84 degrees.")
@click.option("--height", "height_m", type=float, default=None, metavar="M",
              help="Antenna height above ground in metres (default 30 m, a typical rural tower; said so in outputs).")
@click.option("--band", default=None, metavar="BAND",
              help="LTE band (3 or B3 = 1800 MHz, 8 = 900, 1 = 2100, 40 = 2300) or a frequency in MHz "
                   "(default: the EARFCN the operator's phones reported, else band 3).")
@click.option("--name", default=None, help="A name for the tower (e.g. the site's village).")
@db_option
@config_option
@json_option
def add_command(operator, lat, lon, height_m, band, name, db, config, as_json) -> None:
    """Add a tower by hand (one you know of, or one OpenCelliD places wrongly).

    \b
    Example:
      surveyor towers add --operator Telkomsel --lat -7.4203 --lon 109.8911 --height 42 --band 3
    """
    from surveyor.analyse.terrain.towers import add_tower
    from surveyor.config import load_settings

    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        row = add_tower(store, settings, operator=operator, lat=lat, lon=lon, height_m=height_m, band=band, name=name)
    if as_json:
        click.echo(json.dumps(row, indent=1, default=str))
        return
    height = f"{row['height_m']:g} m" + ("" if row["height_given"] else " " + _("(assumed: typical rural tower)"))
    freq = row["band"] or _("the operator's observed carrier, else LTE band 3 (1842.5 MHz)")
    click.echo(_("Added tower {id}: {operator} at ({lat}, {lon}), antenna height {height}, frequency {freq}.").format(
        id=row["tower_id"], operator=row["operator"], lat=f"{row['lat']:.5f}", lon=f"{row['lon']:.5f}",
        height=height, freq=freq))


@command.command(name="list")
@db_option
@config_option
@json_option
def list_command(db, config, as_json) -> None:
    """List the towers terrain analysis uses, with the antenna height and frequency each is given."""
    from surveyor.analyse.terrain.calibrate import SAMPLE_COLUMNS
    from surveyor.analyse.terrain.radio import operator_frequencies
    from surveyor.analyse.terrain.towers import load_towers
    from surveyor.config import load_settings

    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        towers = load_towers(store, settings, frequencies=operator_frequencies(
            store.read_samples(columns=SAMPLE_COLUMNS)))
    if as_json:
        click.echo(towers.to_json(orient="records", indent=1))
        return
    if len(towers) == 0:
        click.echo(_("No towers: merge an OpenCelliD list or add one with `surveyor towers add`."), err=True)
        return
    for t in towers.itertuples(index=False):
        click.echo(f"{t.tower_id:<14} {t.operator:<10} ({t.lat:.5f}, {t.lon:.5f})  "
                   + _("height {height} m ({source})").format(height=f"{t.height_m:g}", source=t.height_source)
                   + f"  {t.frequency_mhz:g} MHz ({t.frequency_source})  {t.source}")
