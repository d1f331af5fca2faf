"""``surveyor export``: layers for other tools (a thin layer over :func:`surveyor.export.export_layer`)."""

from __future__ import annotations

import click

from surveyor.cli.options import (
    all_data_option,
    area_option,
    choice,
    config_option,
    db_option,
    lang_option,
    open_survey,
    output_path,
    overwrite_option,
    survey_settings,
)
from surveyor.cli.texts import _, language


@click.command(name="export")
@db_option
@click.option("--out", "out", required=True, metavar="FILE",
              help="File to write; the suffix (.geojson .kml .csv .gpkg .xlsx .parquet) picks the format.")
@click.option("--layer", type=choice(["samples", "cells", "dead_zones", "sites"]), default="dead_zones",
              show_default=True, help="What to export (ignored by --format blankspot).")
@click.option("--format", "fmt", type=choice(["geojson", "kml", "csv", "gpkg", "xlsx", "blankspot", "parquet"]),
              default=None, help="Format (default: from the suffix). blankspot: Diskominfo's per-zone sheet, "
                                 "CSV or XLSX by suffix. parquet: GeoParquet for DuckDB or BigQuery.")
@area_option
@click.option("--anonymize", is_flag=True,
              help="Leave out volunteers, device IDs, notes, file names and exact sample positions "
                   "(samples move to their H3 cell centre). Exclusion zones are always left out.")
@click.option("--show-samples", is_flag=True,
              help="KML of samples: every sample as a point (by default one placemark per cell and operator, "
                   "so the file stays small enough for Google Earth).")
@lang_option
@overwrite_option
@config_option
@all_data_option
def command(db: str, out: str, layer: str, fmt: str | None, area: str | None, anonymize: bool,
            show_samples: bool, lang: str | None, overwrite: bool, config: str | None, all_data: bool) -> None:
    """Export a layer as GeoJSON, KML, CSV, GeoPackage or XLSX, or the blank-spot sheet.

    \b
    Examples:
      surveyor export --out dead_zones.kml
      surveyor export --layer cells --out cells.gpkg
      surveyor export --format blankspot --out blankspot.xlsx
      surveyor export --format blankspot --lang en --out blankspot-en.xlsx
      surveyor export --layer samples --anonymize --out samples.csv
      surveyor export --layer cells --format parquet --out cells.parquet
    """
    from surveyor.export import export_layer, format_from_suffix
    from surveyor.i18n import format_number

    fmt = format_from_suffix(out, fmt, layer)  # usage errors before the database is opened
    settings = survey_settings(db, config, all_data=all_data, language=lang)
    with open_survey(db) as store, output_path(out, overwrite) as target:
        path = export_layer(store, settings, target, layer=layer, fmt=fmt, area=area, anonymize=anonymize,
                            lang=settings.language, show_samples=show_samples)
    if layer == "samples" and fmt != "blankspot" and not anonymize:
        click.echo(_("Note: this file may contain personal data (volunteers, devices, positions); "
                     "use --anonymize before sending it out."), err=True)
    size = path.stat().st_size
    click.echo(_("{path}: {size} MB").format(path=path, size=format_number(size / 1e6, language(), 1))
               + (" " + _("(one placemark per cell and operator; --show-samples for every sample)")
                  if fmt == "kml" and layer == "samples" and not show_samples else ""), err=True)
    click.echo(str(path))
