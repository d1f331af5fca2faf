"""``surveyor export``: layers for other tools (a thin layer over :func:`surveyor.export.export_layer`)."""

from __future__ import annotations

import click

from surveyor.cli.options import area_option, config_option, db_option, load_settings, output_path, overwrite_option


@click.command(name="export")
@db_option
@click.option("--out", "out", required=True, metavar="FILE",
              help="File to write; the suffix (.geojson .kml .csv .gpkg .xlsx .parquet) picks the format.")
@click.option("--layer", type=click.Choice(["samples", "cells", "dead_zones", "sites"]), default="dead_zones",
              show_default=True, help="What to export (ignored by --format blankspot).")
@click.option("--format", "fmt", type=click.Choice(["geojson", "kml", "csv", "gpkg", "xlsx", "blankspot", "parquet"]),
              default=None, help="Format (default: from the suffix). blankspot: Diskominfo's per-zone sheet, "
                                 "CSV or XLSX by suffix. parquet: GeoParquet for DuckDB or BigQuery.")
@area_option
@click.option("--anonymize", is_flag=True,
              help="Leave out volunteers, device IDs, notes, file names and exact sample positions "
                   "(samples move to their H3 cell centre). Exclusion zones are always left out.")
@overwrite_option
@config_option
def command(db: str, out: str, layer: str, fmt: str | None, area: str | None, anonymize: bool,
            overwrite: bool, config: str | None) -> None:
    """Export a layer as GeoJSON, KML, CSV, GeoPackage or XLSX, or the blank-spot sheet.

    \b
    Examples:
      surveyor export --out dead_zones.kml
      surveyor export --layer cells --out cells.gpkg
      surveyor export --format blankspot --out blankspot.xlsx
      surveyor export --layer samples --anonymize --out samples.csv
      surveyor export --layer cells --format parquet --out cells.parquet
    """
    from surveyor.export import export_layer, format_from_suffix
    from surveyor.i18n import translator
    from surveyor.store import open_store

    settings = load_settings(config)
    _ = translator(settings.language, "cli")
    fmt = format_from_suffix(out, fmt, layer)  # usage errors before the database is opened
    with open_store(db) as store, output_path(out, overwrite) as target:
        path = export_layer(store, settings, target, layer=layer, fmt=fmt, area=area, anonymize=anonymize)
    if layer == "samples" and fmt != "blankspot" and not anonymize:
        click.echo(_("Note: this file may contain personal data (volunteers, devices, positions); "
                     "use --anonymize before sending it out."), err=True)
    click.echo(str(path))
