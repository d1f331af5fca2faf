"""``surveyor sources``: every merged source, with its counts and the command that removes it."""

from __future__ import annotations

import json
import shlex

import click

from surveyor.cli.options import db_option, json_option, open_survey
from surveyor.cli.texts import _, language, ngettext


@click.command(name="sources")
@db_option
@json_option
def command(db: str, as_json: bool) -> None:
    """List every merged source: file, format, rows read and where they went, merge time, and the
    `surveyor remove` command that takes it out again."""
    with open_survey(db) as store:
        shown_db = store.url
        merges = store.merges()
    rows = []
    for m in merges:
        remove = f"surveyor remove --source {shlex.quote(m.source_file)}"
        if db != "survey.gpkg":
            remove += f" --db {shlex.quote(shown_db)}"
        rows.append({"merge_id": m.merge_id, "file": m.source_file, "format": m.format, "merged_at": m.merged_at,
                     **m.counts, "remove": remove})
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo(_("{db}: nothing merged yet (`surveyor merge FILES`).").format(db=shown_db), err=True)
        return
    click.echo(sources_text(rows, shown_db), nl=False)


def sources_text(rows: list[dict], db: str) -> str:
    """The merged sources for people: a line per source and its remove command."""
    from surveyor.cli.merge import count_words
    from surveyor.i18n import format_number

    lines = [ngettext("{db}: {n} merged source", "{db}: {n} merged sources", len(rows)).format(
        db=db, n=format_number(len(rows), language()))]
    for r in rows:
        counts = [count_words(k, r.get(k) or 0) for k in ("read", "added")]
        counts += [count_words(k, r[k]) for k in ("duplicates", "quarantined", "neighbours", "track_points", "towers")
                   if r.get(k)]
        lines.append(_("{file} [{format}], merged {when}: {counts}").format(
            file=r["file"], format=r["format"], when=r["merged_at"], counts=", ".join(counts)))
        lines.append("    " + _("remove: {command}").format(command=r["remove"]))
    return "\n".join(lines) + "\n"
