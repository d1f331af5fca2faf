"""``surveyor demo``: the main job on the bundled Lipursari sample survey."""

from __future__ import annotations

import click

from surveyor.cli.options import _lower, check_flags
from surveyor.cli.texts import LANGUAGES


@click.command(name="demo")
@click.option("--out", "out", default="surveyor-demo", show_default=True, metavar="DIR",
              help="Folder to write into (a new one, or one an earlier demo made).")
@click.option("--lang", default="id", show_default=True, metavar="|".join(LANGUAGES), callback=_lower,
              help="Language of the maps (the report is written in both).")
@click.pass_context
def command(ctx: click.Context, out: str, lang: str) -> None:
    """Run merge, analyze, map, print, report and export on the bundled sample survey.

    The sample survey is SIMULATED (made by surveyor.testing.simulate with a fixed seed), not
    measurements: it shows what surveyor does with a month of walks in Lipursari. Works offline.
    Prints every path written.
    """
    from surveyor.app.demo import run_demo

    check_flags(language=lang)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    for path in run_demo(out, lang=lang, say=(lambda m: None) if quiet else (lambda m: click.echo(m, err=True))):
        click.echo(str(path))
