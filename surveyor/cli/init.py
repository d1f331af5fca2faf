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
@click.option("--yes", is_flag=True, help="With --overwrite: do not ask (a backup is kept all the same).")
def command(directory, area, name, code, lang, overwrite, yes) -> None:
    """Write survey.toml, an empty survey.gpkg and the folders samples/, maps/, reports/ in DIR.

    \b
    Examples:
      surveyor init lipursari
      surveyor init my-village --area desa.geojson --name Kalikajar --code 33.07.06.2001
    """
    import sys
    from pathlib import Path

    from surveyor.app.project import init_project
    from surveyor.config import CONFIG_NAME, DEFAULT_DB

    check_flags(language=lang)
    existing = [p for p in (Path(directory) / DEFAULT_DB, Path(directory) / CONFIG_NAME) if p.exists()]
    if overwrite and existing and not yes and sys.stdin.isatty():
        if not click.confirm(f"Replace the survey in {directory} ({', '.join(map(str, existing))})? A backup is "
                             "kept in its backups/ folder", err=True):
            click.echo("Nothing replaced.", err=True)
            return
    backups: list[Path] = []
    for path in init_project(directory, area=area, name=name, code=code, language=lang, overwrite=overwrite,
                             backups=backups):
        click.echo(str(path))
    for folder in backups:
        click.echo(f"The survey it replaced (geodatabase, survey.toml with its exclusion zones) is kept in {folder}.",
                   err=True)
