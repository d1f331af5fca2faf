"""``surveyor map``: the interactive coverage map as one offline HTML file (a thin layer over
:func:`surveyor.render.html_map.render_map`)."""

from __future__ import annotations

import click

from surveyor.cli.options import (
    all_data_option,
    area_option,
    check_flags,
    check_operators,
    config_option,
    db_option,
    district_option,
    lang_option,
    open_survey,
    operator_option,
    out_option,
    output_path,
    overwrite_option,
    survey_settings,
)


@click.command(name="map")
@db_option
@out_option("maps/coverage.html", "HTML file to write (one file, works offline).")
@operator_option(multiple=True)
@area_option
@district_option
@click.option("--tiles", default="none", show_default=True, metavar="osm|none|URL",
              help="Background map tiles: none (the map is complete offline), osm, an xyzservices name "
                   "or a https://.../{z}/{x}/{y}.png URL. Tiles need the internet and tell the tile "
                   "server where the map is looked at.")
@lang_option
@click.option("--show-samples", is_flag=True,
              help="Also draw survey walks and (thinned) measurement points. Off by default: a walk "
                   "can reveal where a volunteer lives.")
@overwrite_option
@config_option
@all_data_option
def command(db, out, operators, area, district, tiles, lang, show_samples, overwrite, config, all_data):
    """Write the interactive coverage map: one self-contained HTML file to share (e.g. on WhatsApp).

    It opens on a phone with no data plan and shows, per operator, where there is usable 4G,
    where there is not (dead zones with their IDs), where evidence is still thin and where nobody
    has surveyed yet. Prints the path written. With --district CODE: one polygon per village of
    that kecamatan or kabupaten, coloured by what the survey found there.
    """
    from surveyor.render.html_map import render_map
    check_flags(language=lang)
    settings = survey_settings(db, config, language=lang, all_data=all_data)
    if district is not None:  # the overview: one polygon per village (surveyor.render.district)
        from surveyor.render.district import render_district_map

        with open_survey(db) as store, output_path(out, overwrite) as path:
            click.echo(str(render_district_map(store, settings, district, path, lang=settings.language)))
        return
    with open_survey(db) as store, output_path(out, overwrite) as path:
        written = render_map(store, settings, path, operators=check_operators(store, operators), area=area,
                             tiles=tiles, lang=settings.language, show_samples=show_samples)
    click.echo(str(written))
