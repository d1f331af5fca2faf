"""``surveyor remove``: take merged data out again."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import db_option, json_option, open_survey
from surveyor.cli.texts import _, language, ngettext

if TYPE_CHECKING:
    from surveyor.ingest.remove import Removal


@click.command(name="remove")
@db_option
@click.option("--source", default=None, metavar="FILE|FOLDER",
              help="A merged source file (with all it brought), or every source merged from a folder.")
@click.option("--session", default=None, metavar="ID", help="All samples of one session.")
@click.option("--device", default=None, metavar="ID", help="All samples of one device.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
def command(ctx: click.Context, db, source, session, device, yes, as_json) -> None:
    """Remove merged data: one source file (or a folder of them), one session or one device.

    `surveyor sources` lists what was merged, each with its remove command. A GeoPackage is copied
    into backups/ beside it first (the message says where). A removed source can be merged again
    later. Samples removed by session or device stay out until their source is merged again with
    --replace. Prints what was removed; --json prints the rows removed per layer as JSON.
    """
    from surveyor.ingest.remove import remove

    chosen = [x for x in (source, session, device) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError(_("Give exactly one of --source, --session or --device (see `surveyor sources`)."))
    what = (_("source {path}").format(path=source) if source is not None else
            _("session {id}").format(id=session) if session is not None else _("device {id}").format(id=device))
    # Opened before asking: a folder without a survey is said so at once, and the question names
    # the database as it may be shown (a PostGIS URL without its password).
    with open_survey(db) as store:
        shown_db = store.url
        question = _("Remove {what} from {db}? (a backup is kept)").format(what=what, db=shown_db)
        if not yes and not click.confirm(question, err=True):
            click.echo(_("Nothing removed."), err=True)
            return
        removed = remove(store, source=source, session=session, device=device)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    if as_json:
        click.echo(json.dumps(dict(removed.to_dict(), backup=removed.backup)))
    else:
        click.echo(removal_text(removed, shown_db, what))
    if not quiet:
        click.echo(_("A copy of the database as it was is kept in {path}.").format(path=removed.backup)
                   if removed.backup else
                   _("No backup was made (a shared PostGIS database: back it up with pg_dump)."), err=True)


def _count(n: int, singular: str, plural: str) -> str:
    from surveyor.i18n import format_number

    return ngettext(singular, plural, n).format(n=format_number(n, language()))


def removal_text(r: Removal, db: str, what: str | None = None) -> str:
    """What was removed, for people; ``what`` names it (``source walks/a.csv``; default: the
    library's own English words)."""
    parts = [_count(r.samples, "{n} sample", "{n} samples") if r.samples else "",
             _count(r.quarantine, "{n} quarantined row", "{n} quarantined rows") if r.quarantine else "",
             _count(r.neighbours, "{n} neighbour-cell row", "{n} neighbour-cell rows") if r.neighbours else "",
             _count(r.tracks, "{n} GPS track point", "{n} GPS track points") if r.tracks else "",
             _count(r.towers, "{n} tower", "{n} towers") if r.towers else ""]
    merges = (" " + _count(r.merges, "({n} merge)", "({n} merges)")) if r.merges else ""
    return _("Removed {what}{merges} from {db}: {rows}.").format(
        what=what or r.what, merges=merges, db=db, rows=", ".join(p for p in parts if p) or _("nothing else"))
