"""``surveyor dem``: the survey's elevation model (``dem import``)."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import area_option, config_option, db_option, json_option, open_survey, overwrite_option
from surveyor.cli.texts import _, language, ngettext


@click.group(name="dem")
def command() -> None:
    """The elevation model (DEM) used for terrain analysis, hillshade and contour lines."""


@command.command(name="import")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@db_option
@config_option
@area_option
@click.option("--crs", default=None, metavar="CRS",
              help="Coordinate reference system of files that carry none, e.g. EPSG:4326.")
@click.option("--buffer-km", type=click.FloatRange(0, 50), default=15.0, show_default=True, metavar="KM",
              help="How far around the village the model reaches (towers up to this far get a profile).")
@click.option("--resolution", "resolution_m", type=click.FloatRange(1, 1000), default=None, metavar="M",
              help="Pixel size in metres (default: the finest file's, at least 5 m).")
@overwrite_option
@json_option
def import_command(files, db, config, area, crs, buffer_km, resolution_m, overwrite, as_json) -> None:
    """Import elevation tiles: GeoTIFF (also Cloud Optimised), SRTM .hgt or .hgt.zip.

    Several tiles are mosaicked, reprojected to the village's UTM zone and clipped to the village
    plus 15 km; voids are filled; a hillshade and contour lines (every 25 m, index every 100 m) are
    derived. The model is stored beside the GeoPackage (survey.dem.tif, survey.hillshade.tif) or in
    the PostGIS database; nothing changes when a file cannot be used.

    \b
    Examples:
      surveyor dem import S08E109.hgt.zip S08E110.hgt.zip
      surveyor dem import Copernicus_DSM_COG_10_S08_00_E109_00_DEM.tif
      surveyor dem import DEMNAS_1408-51.tif --overwrite
    """
    from surveyor.config import load_settings
    from surveyor.ingest.dem import import_dem

    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        info = import_dem(store, settings, list(files), area=area, crs=crs, buffer_m=buffer_km * 1000.0,
                          resolution_m=resolution_m, overwrite=overwrite)
    if as_json:
        click.echo(json.dumps(info, indent=1, default=str))
        return
    from surveyor.i18n import format_distance, format_number, format_percent

    lang = language()
    rows, cols = info["shape"]
    lo, hi = info["area_elevation_min_m"], info["area_elevation_max_m"]
    click.echo(_("Elevation model: {files} -> {cols} x {rows} pixels of {res} m in {crs}; the village lies at "
                 "{lo}-{hi} m; {share} of the village plus {buffer} covered").format(
        files=ngettext("{n} file", "{n} files", len(info["sources"])).format(n=len(info["sources"])),
        cols=cols, rows=rows, res=f"{info['resolution_m']:g}", crs=info["crs"], lo=format_number(lo, lang),
        hi=format_number(hi, lang), share=format_percent(info["buffer_coverage"], lang),
        buffer=format_distance(info["buffer_m"], lang))
        + ("; " + _("{n} void pixels filled").format(n=format_number(info["voids_filled_px"], lang))
           if info["voids_filled_px"] else "")
        + "; " + _("{n} contour lines.").format(n=format_number(info["contours"], lang)))
    for w in info["warnings"]:
        click.echo(_("Warning: {message}").format(message=w), err=True)
    for path in info["written"]:
        click.echo(path)
