"""``surveyor package``: one zip for Diskominfo and the operators (a thin layer over
:func:`surveyor.app.package.build_package`)."""

from __future__ import annotations

import click

from surveyor.cli.options import (
    area_option,
    config_option,
    db_option,
    load_settings,
    open_survey,
    output_path,
    overwrite_option,
)
from surveyor.cli.texts import _


@click.command(name="package")
@db_option
@click.option("--out", "out", default=None, metavar="FILE.zip",
              help="Zip to write (default: reports/paket-VILLAGE-DATE.zip).")
@click.option("--anonymize", is_flag=True,
              help="Reports without volunteer names and device IDs, for sending out of the village. "
                   "The GeoPackage and CSV files never hold personal data.")
@area_option
@overwrite_option
@config_option
@click.pass_context
def command(ctx: click.Context, db, out, anonymize, area, overwrite, config) -> None:
    """Write one zip to send to Diskominfo and the operators' regional offices.

    It holds the report in Bahasa Indonesia and English, the blank-spot sheet, KML of the dead zones
    and the cells, the survey as an anonymised GeoPackage, CSV of the cells and zones, a README in
    Bahasa Indonesia saying what each file is, and SHA256SUMS to check that nothing changed on the
    way (`sha256sum -c SHA256SUMS`).

    \b
    Examples:
      surveyor package --anonymize
      surveyor package --out reports/paket-untuk-diskominfo.zip --anonymize
    """
    from surveyor.app.package import build_package, default_name
    from surveyor.i18n import format_count, format_number

    settings = load_settings(config)
    out = out or f"reports/{default_name(settings)}"
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    with open_survey(db) as store, output_path(out, overwrite) as target:
        result = build_package(store, settings, target, anonymize=anonymize, area=area, say=say)
    lang = settings.language
    for note in result.notes:
        click.echo(note, err=True)
    size_mb = result.path.stat().st_size / 1e6
    click.echo(_("{files}, {size} MB; check with: unzip {name} && sha256sum -c SHA256SUMS").format(
        files=format_count(len(result.files) + 1, "{n} file", "{n} files", lang),
        size=format_number(size_mb, lang, 1), name=result.path.name), err=True)
    if not anonymize:
        click.echo(_("Note: the reports in this package contain personal data (volunteer names, device IDs); "
                     "use --anonymize for a package to send out."), err=True)
    click.echo(str(result.path))
