"""``surveyor sources``: every merged source, with its counts and the command that removes it."""

from __future__ import annotations

import json
import shlex

import click

from surveyor.cli.options import db_option, json_option


@click.command(name="sources")
@db_option
@json_option
def command(db: str, as_json: bool) -> None:
    """List every merged source: file, format, rows read and where they went, merge time, and the
    `surveyor remove` command that takes it out again."""
    from surveyor.store import open_store

    with open_store(db) as store:
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
        click.echo(f"{shown_db}: nothing merged yet (`surveyor merge FILES`).", err=True)
        return
    click.echo(f"{shown_db}: {len(rows)} merged source{'s' if len(rows) != 1 else ''}")
    for r in rows:
        others = ", ".join(f"{r[k]} {k.replace('_', ' ')}" for k in
                           ("duplicates", "quarantined", "neighbours", "track_points", "towers") if r.get(k))
        click.echo(f"{r['file']} [{r['format']}], merged {r['merged_at']}: {r['read']} rows, {r['added']} samples "
                   f"added" + (f", {others}" if others else ""))
        click.echo(f"    remove: {r['remove']}")
