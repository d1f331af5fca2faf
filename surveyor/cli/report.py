"""``surveyor report``: the advocacy report (a thin layer over :func:`surveyor.render.report.render_report`)."""

from __future__ import annotations

import click

from surveyor.cli.options import (
    all_data_option,
    area_option,
    check_flags,
    config_option,
    db_option,
    district_option,
    lang_option,
    open_survey,
    out_option,
    output_path,
    overwrite_option,
    survey_settings,
)
from surveyor.cli.texts import _


@click.command(name="report")
@db_option
@out_option("reports/report.pdf", "Report file: .pdf (WeasyPrint) or .html (one self-contained file).")
@area_option
@district_option
@lang_option
@click.option("--anonymize", is_flag=True,
              help="Leave out volunteer names, device IDs, notes, file names and sample positions, "
                   "for a copy to send out. Exclusion zones are always left out.")
@overwrite_option
@config_option
@all_data_option
def command(db: str, out: str, area: str | None, district: str | None, lang: str | None, anonymize: bool,
            overwrite: bool, config: str | None, all_data: bool) -> None:
    """Write the advocacy report (PDF, or HTML by suffix) in Indonesian or English.

    \b
    Examples:
      surveyor report
      surveyor report --lang en --anonymize --out reports/report-en.pdf
      surveyor report --out reports/report.html
      surveyor report --district 33.07 --out reports/district.xlsx   # one sheet per kecamatan
    """
    from surveyor.render.report import render_report
    check_flags(language=lang)
    settings = survey_settings(db, config, language=lang, all_data=all_data)
    lang = settings.language
    if district is not None:  # the overview per village (surveyor.render.district): .pdf, .html or .xlsx
        from surveyor.render.district import render_district_report

        with open_survey(db) as store, output_path(out, overwrite) as target:
            click.echo(str(render_district_report(store, settings, district, target, lang=lang)))
        return
    with open_survey(db) as store, output_path(out, overwrite) as target:
        path = render_report(store, settings, target, lang=lang, area=area, anonymize=anonymize)
    if not anonymize:
        click.echo(_("Note: this report contains personal data (volunteer names, device IDs); "
                     "use --anonymize for a copy to send out."), err=True)
    click.echo(str(path))
