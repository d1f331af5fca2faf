"""``surveyor export``: layers for other tools (a thin layer over :func:`surveyor.export.export_layer`)."""

from __future__ import annotations

import click

from surveyor.cli.options import (all_data_option, area_option, config_option, db_option, output_path,
                                  overwrite_option, survey_settings)


@click.command(name="export")
@db_option
@click.option("--out", "out", required=True, metavar="FILE",
              help="File to write; the suffix (.geojson .kml .csv .gpkg .xlsx) picks the format.")
@click.option("--layer", type=click.Choice(["samples", "cells", "dead_zones", "sites"]), default="dead_zones",
              show_default=True, help="What to export (ignored by --format blankspot).")
@click.option("--format", "fmt", type=click.Choice(["geojson", "kml", "csv", "gpkg", "xlsx", "blankspot"]),
              default=None, help="Format (default: from the suffix). blankspot: Diskominfo's per-zone sheet, "
                                 "CSV or XLSX by suffix.")
@area_option
@click.option("--anonymize", is_flag=True,
              help="Leave out volunteers, device IDs, notes, file names and exact sample positions "
                   "(samples move to their H3 cell centre). Exclusion zones are always left out.")
@overwrite_option
@config_option
@all_data_option
def command(db: str, out: str, layer: str, fmt: str | None, area: str | None, anonymize: bool,
            overwrite: bool, config: str | None, all_data: bool) -> None:
    """Export a layer as GeoJSON, KML, CSV, GeoPackage or XLSX, or the blank-spot sheet.

    \b
    Examples:
      surveyor export --out dead_zones.kml
      surveyor export --layer cells --out cells.gpkg
      surveyor export --format blankspot --out blankspot.xlsx
      surveyor export --layer samples --anonymize --out samples.csv
    """
    from surveyor.export import export_layer, format_from_suffix
    from surveyor.i18n import translator
    from surveyor.store import open_store

    fmt = format_from_suffix(out, fmt, layer)  # usage errors before the database is opened
    settings = survey_settings(db, config, all_data=all_data)
    with open_store(db) as store:
        with output_path(out, overwrite) as target:
            path = export_layer(store, settings, target, layer=layer, fmt=fmt, area=area, anonymize=anonymize)
    _ = translator(settings.language, "cli")
    if layer == "samples" and fmt != "blankspot" and not anonymize:
        click.echo(_("Note: this file may contain personal data (volunteers, devices, positions); "
                     "use --anonymize before sending it out."), err=True)
    click.echo(str(path))
