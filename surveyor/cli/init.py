"""``surveyor init``: start a survey folder."""

from __future__ import annotations

import click

from surveyor.cli.options import LANGUAGES, check_flags, overwrite_option


@click.command(name="init")
@click.argument("directory", default=".", required=False, metavar="[DIR]")
@click.option("--area", type=click.Path(exists=True, dir_okay=False), default=None, metavar="FILE.geojson",
              help="Village boundary (GeoJSON). Default: Lipursari (Kec. Leksono, Kab. Wonosobo).")
@click.option("--name", default=None, help="Village name (with --area).")
@click.option("--code", default=None, help="Kemendagri village code, e.g. 33.07.05.2002 (with --area).")
@click.option("--lang", default=None, metavar="|".join(LANGUAGES), help="Language of maps and reports.")
@overwrite_option
def command(directory, area, name, code, lang, overwrite) -> None:
    """Write survey.toml, an empty survey.gpkg and the folders samples/, maps/, reports/ in DIR.

    \b
    Examples:
      surveyor init lipursari
      surveyor init my-village --area desa.geojson --name Kalikajar --code 33.07.06.2001
    """
    from surveyor.app.project import init_project

    check_flags(language=lang)
    for path in init_project(directory, area=area, name=name, code=code, language=lang, overwrite=overwrite):
        click.echo(str(path))
