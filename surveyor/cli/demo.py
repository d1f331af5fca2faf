"""``surveyor demo``: the main job on the bundled Lipursari sample survey."""

from __future__ import annotations

import click

from surveyor.cli.options import _lower, check_flags
from surveyor.cli.texts import LANGUAGES, _, language


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
    from surveyor.app.demo import DemoTexts, run_demo
    from surveyor.cli import analyze, merge
    from surveyor.outputs.zones import zones_table

    check_flags(language=lang)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    # The demo's progress in the command line's language, in the words merge and analyze use.
    steps = {"merge": _("Merging the simulated Lipursari sample survey ..."),
             "analyze": _("Analysing coverage ...")}
    texts = DemoTexts(step=steps.__getitem__, file=merge.file_text, merged=merge.summary_text,
                      analysed=lambda summary, db: analyze.summary_text(summary, db, next_steps=False).rstrip("\n"),
                      zones=lambda zones: zones_table(zones, language()))
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    for path in run_demo(out, lang=lang, say=say, texts=texts):
        click.echo(str(path))
