"""``surveyor init``: start a survey folder."""

from __future__ import annotations

import click

from surveyor.cli.options import LANGUAGES, _lower, check_flags
from surveyor.cli.texts import _


@click.command(name="init")
@click.argument("directory", default=".", required=False, metavar="[DIR]")
@click.option("--area", type=click.Path(exists=True, dir_okay=False), default=None, metavar="FILE.geojson",
              help="Village boundary (GeoJSON). Default: Lipursari (Kec. Leksono, Kab. Wonosobo).")
@click.option("--name", default=None, metavar="NAME", help="Village name (with --area).")
@click.option("--code", default=None, metavar="CODE", help="Kemendagri village code, e.g. 33.07.05.2002 (with --area).")
@click.option("--lang", default=None, metavar="|".join(LANGUAGES), callback=_lower,
              help="Language of the survey's maps, reports and messages (written to survey.toml; default: id).")
@click.option("--overwrite", is_flag=True,
              help="Start again where DIR holds a survey (a copy of it is kept in DIR/backups/ first).")
@click.option("--yes", is_flag=True, help="With --overwrite: do not ask (a backup is kept all the same).")
@click.pass_context
def command(ctx: click.Context, directory, area, name, code, lang, overwrite, yes) -> None:
    """Write survey.toml, an empty survey.gpkg and the folders samples/, maps/, reports/ in DIR.

    Prints the paths written on stdout, and the next steps on stderr (not with -q).

    \b
    Examples:
      surveyor init lipursari
      surveyor init my-village --area desa.geojson --name Kalikajar --code 33.07.06.2001
    """
    import sys
    from pathlib import Path

    from surveyor.app.project import init_project
    from surveyor.cli.texts import cli_language, use_language
    from surveyor.config import CONFIG_NAME, DEFAULT_DB

    check_flags(language=lang)
    existing = [p for p in (Path(directory) / DEFAULT_DB, Path(directory) / CONFIG_NAME) if p.exists()]
    if overwrite and existing and not yes and sys.stdin.isatty():
        if not click.confirm(_("Replace the survey in {directory} ({files})? A backup is kept in its backups/ "
                               "folder").format(directory=directory, files=", ".join(map(str, existing))), err=True):
            click.echo(_("Nothing replaced."), err=True)
            return
    backups: list[Path] = []
    for path in init_project(directory, area=area, name=name, code=code, language=lang, overwrite=overwrite,
                             backups=backups):
        click.echo(str(path))
    for folder in backups:
        click.echo(_("The survey it replaced (geodatabase, survey.toml with its exclusion zones) is kept in "
                     "{folder}.").format(folder=folder), err=True)
    if not (ctx.find_root().obj or {}).get("quiet", False):
        # In the language the next commands will speak in the new folder: SURVEYOR_CLI_LANGUAGE or
        # SURVEYOR_LANGUAGE when set, else the survey's own (--lang, else its default).
        use_language(cli_language(cwd=directory))
        click.echo(next_steps(directory), err=True)


def next_steps(directory: str) -> str:
    """What to do after ``surveyor init DIR``, in the command line's language: go into DIR, put the
    walks into samples/, merge, analyse, map and report; the basemap and the elevation model optionally."""
    import os
    import shlex
    from pathlib import Path

    lines = [_("Next steps:")]
    if Path(directory).resolve() != Path(os.getcwd()).resolve():
        lines.append(f"  cd {shlex.quote(str(directory))}")
    lines.append("  " + _("Put the walks into samples/: the journals of `surveyor log`, the exports of G-NetTrack, "
                          "Tower Collector or Ookla, GPX tracks."))
    commands = [("surveyor merge samples/", _("everyone's walks into survey.gpkg")),
                ("surveyor analyze", _("coverage per operator, dead zones")),
                ("surveyor map", _("the interactive map: maps/coverage.html")),
                ("surveyor report", _("the report: reports/report.pdf"))]
    width = max(len(c) for c, note in commands)
    lines += [f"  {c:<{width}}   # {note}" for c, note in commands]
    lines.append("  " + _("Optional: `surveyor basemap fetch` once while online (roads, buildings and names for "
                          "the maps); `surveyor dem import FILE...` (an elevation model, for terrain analysis)."))
    return "\n".join(lines)
