"""``surveyor print``: the printable coverage map, PDF or PNG (a thin layer over
:func:`surveyor.render.print_map.render_print`)."""

from __future__ import annotations

import click

from surveyor.cli.options import (
    all_data_option,
    area_option,
    check_flags,
    check_operators,
    config_option,
    db_option,
    lang_option,
    open_survey,
    operator_option,
    out_option,
    output_path,
    overwrite_option,
    survey_settings,
)


@click.command(name="print")
@db_option
@out_option("maps/coverage.pdf", "PDF (one page per operator) or PNG (one image), by suffix.")
@click.option("--paper", type=click.Choice(["A4", "A3"], case_sensitive=False), default="A4", show_default=True,
              help="Paper size.")
@click.option("--orientation", type=click.Choice(["landscape", "portrait"], case_sensitive=False), default="landscape",
              show_default=True, help="Page orientation.")
@operator_option(multiple=True)
@area_option
@lang_option
@click.option("--size", type=click.Choice(["whatsapp"], case_sensitive=False), default=None,
              help="whatsapp: a PNG about 1600 px wide and under 1 MB, for sending in a chat.")
@overwrite_option
@config_option
@all_data_option
def command(db, out, paper, orientation, operators, area, lang, size, overwrite, config, all_data):
    """Write a printable coverage map: title, classes with hatching (readable in black and white),
    dead-zone IDs, village boundary, legend, scale bar, north arrow, data summary and source.

    Prints the path written.
    """
    from surveyor.render.print_map import render_print
    check_flags(language=lang)
    if size == "whatsapp" and out == "maps/coverage.pdf":
        out = "maps/coverage-whatsapp.png"
    settings = survey_settings(db, config, language=lang, all_data=all_data)
    with open_survey(db) as store, output_path(out, overwrite) as path:
        written = render_print(store, settings, path, paper=paper.upper(), orientation=orientation,
                               operators=check_operators(store, operators), lang=settings.language, size=size,
                               area=area)
    for p in written:
        click.echo(str(p))
