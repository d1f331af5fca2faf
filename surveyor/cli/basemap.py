"""``surveyor basemap``: the village's OpenStreetMap data (roads, buildings, water, places,
facilities) into the geodatabase, from files (``import``) or an Overpass API server (``fetch``)."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import area_option, config_option, db_option, json_option, open_survey
from surveyor.cli.texts import _, language

buffer_option = click.option("--buffer-m", "buffer_m", type=click.FloatRange(min=0), default=2000.0,
                             show_default=True, metavar="M",
                             help="Keep what lies within M metres of the area's boundary.")


def _progress(ctx: click.Context, as_json: bool):
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    return None if (as_json or quiet) else (lambda m: click.echo(m, err=True))


def _report(record: dict, db: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(record, indent=2, default=str))
        return
    c = record["counts"]
    from surveyor.i18n import format_distance, format_number

    lang = language()

    def n(v):
        return format_number(v, lang)

    click.echo(_("Basemap from {source}: {roads} roads and paths, {buildings} buildings, {water} water features, "
                 "{places} places, {facilities} facilities within {buffer} of area {area} -> {db}").format(
        source=record["source"], roads=n(c["roads"]), buildings=n(c["buildings"]), water=n(c["water"]),
        places=n(c["places"]), facilities=n(c["facilities"]), buffer=format_distance(record["buffer_m"], lang),
        area=record["area_code"], db=db))
    if record.get("skipped", {}).get("incomplete"):
        click.echo(_("Left out {n} features that are not whole in the data (cut at the edge of the extract).").format(
            n=n(record["skipped"]["incomplete"])), err=True)
    click.echo(_("Map data {attribution} ({url}): maps that show it say so.").format(
        attribution=record["attribution"], url=record["license_url"]), err=True)


@click.group(name="basemap")
def command() -> None:
    """Store the village's OpenStreetMap data so that every map shows roads, paths, buildings,
    rivers, hamlet names and public facilities, offline.

    Once, when online, `surveyor basemap fetch`; or, from a file brought on a USB stick,
    `surveyor basemap import FILE`. Each replaces the earlier basemap as a whole.
    """


@command.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="FILE...")
@db_option
@config_option
@area_option
@buffer_option
@json_option
@click.pass_context
def import_command(ctx: click.Context, files, db, config, area, buffer_m, as_json) -> None:
    """Import OpenStreetMap FILEs: OSM XML (.osm, .osm.bz2), PBF (.osm.pbf) or Overpass JSON (.json, .json.gz).

    \b
    Examples:
      surveyor basemap import lipursari.osm
      surveyor basemap import java-extract.osm.pbf --buffer-m 3000
      surveyor basemap import overpass.json.gz --db survey.gpkg
    """
    from surveyor.config import load_settings
    from surveyor.ingest.basemap import import_basemap

    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        shown = store.url
        record = import_basemap(store, settings, files, buffer_m=buffer_m, area=area,
                                progress=_progress(ctx, as_json))
    _report(record, shown, as_json)


@command.command(name="fetch")
@db_option
@config_option
@area_option
@buffer_option
@click.option("--overpass-url", default=None, metavar="URL",
              help="Overpass API interpreter (default: https://overpass-api.de/api/interpreter).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=180.0, show_default=True,
              metavar="S", help="Give up when the server has not answered within S seconds.")
@json_option
@click.pass_context
def fetch_command(ctx: click.Context, db, config, area, buffer_m, overpass_url, timeout_s, as_json) -> None:
    """Fetch the area's OpenStreetMap data from an Overpass API server, once, when online.

    One query for the bounding box of the area plus --buffer-m; the answer is stored like an
    imported file. A server that is busy or fails changes nothing.

    \b
    Examples:
      surveyor basemap fetch
      surveyor basemap fetch --overpass-url https://overpass.kumi.systems/api/interpreter
    """
    from surveyor.config import load_settings
    from surveyor.ingest.basemap import fetch_basemap

    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        shown = store.url
        record = fetch_basemap(store, settings, overpass_url=overpass_url, buffer_m=buffer_m, area=area,
                               timeout_s=timeout_s, progress=_progress(ctx, as_json))
    _report(record, shown, as_json)
