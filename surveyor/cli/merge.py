"""``surveyor merge``: import journals, app exports, tracks and tower lists."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import config_option, db_option, json_option, load_settings

if TYPE_CHECKING:
    from surveyor.ingest.merge import FileResult, MergeSummary


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    from surveyor.model import SAMPLE_FIELDS

    mapping = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"{v!r} is not COLUMN=FIELD (e.g. Signal=rsrp_dbm).", param_hint="--map")
        column, fld = v.split("=", 1)
        if fld.strip() not in SAMPLE_FIELDS:
            raise click.BadParameter(f"{fld!r} is not a sample field; fields are: {', '.join(SAMPLE_FIELDS)}.",
                                     param_hint="--map")
        mapping[column.strip()] = fld.strip()
    return mapping


@click.command(name="merge")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@db_option
@config_option
@click.option("--format", "fmt", default="auto", show_default=True, metavar="NAME",
              help="Force a format instead of recognising it: journal, gnettrack, towercollector, ookla, "
                   "opencellid, gpx, nmea, generic.")
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD",
              help="Read a table's COLUMN as the sample FIELD (generic tables), repeatable.")
@click.option("--tz", default=None, metavar="ZONE",
              help="Time zone of local timestamps without a zone (default: survey.toml, else Asia/Jakarta).")
@click.option("--operator", default=None, metavar="NAME", help="Operator for files that do not say (Ookla).")
@click.option("--volunteer", default=None, metavar="NAME", help="Volunteer for files that do not say.")
@click.option("--device", default=None, metavar="ID", help="Device ID for files that do not say.")
@click.option("--max-gap", "max_gap_s", default=30.0, show_default=True, type=click.FloatRange(min=0),
              metavar="S", help="Place samples without GPS from track points at most S seconds apart.")
@click.option("--replace", is_flag=True, help="Read sources merged before again (e.g. with a corrected --tz).")
@json_option
@click.pass_context
def command(ctx: click.Context, sources, db, config, fmt, mapping, tz, operator, volunteer, device, max_gap_s,
            replace, as_json) -> None:
    """Import SOURCE files or folders (or - for standard input) into the geodatabase.

    Formats are recognised by content. Merging is idempotent: a source merged before adds
    nothing, and samples already stored (the same walk copied onto two computers) are counted as
    duplicates. Rows that cannot be used are kept in the quarantine layer with the reason.

    \b
    Examples:
      surveyor merge walks/                      # a folder, recursively
      surveyor merge log.jsonl gnettrack.csv --db survey.gpkg
      surveyor merge ookla.csv --operator Telkomsel --tz Asia/Jakarta
      surveyor merge old.csv --tz Asia/Jakarta --replace
    """
    from surveyor.ingest.large_files import merge_helper

    # Started before the heavy imports below, so the helper's own start-up overlaps them.
    helper = merge_helper(sources)
    try:
        _merge(ctx, helper, sources, db, config, fmt, mapping, tz, operator, volunteer, device, max_gap_s, replace,
               as_json)
    finally:
        helper.stop()


def _merge(ctx: click.Context, helper, sources, db, config, fmt, mapping, tz, operator, volunteer, device, max_gap_s,
           replace, as_json) -> None:
    from surveyor.ingest.merge import MergeOptions, merge_sources
    from surveyor.store import open_store

    settings = load_settings(config, timezone=tz)
    options = MergeOptions(fmt=fmt, mapping=_parse_map(mapping), tz=settings.timezone, operator=operator,
                           volunteer=volunteer, device=device, max_gap_s=max_gap_s, replace=replace)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    with open_store(db, create=True) as store:
        shown_db = store.url  # a PostGIS URL comes back with its password masked
        summary = merge_sources(store, sources, options, helper=helper,
                                progress=None if (as_json or quiet) else lambda r: click.echo(file_text(r), err=True))
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        for f in summary.failed:
            click.echo(f"Error: {f.error}", err=True)
        click.echo(summary_text(summary, shown_db))
        if summary.by_reason:
            click.echo("Quarantined by reason: " + ", ".join(f"{k} {v}" for k, v in summary.by_reason.items())
                       + " (see the quarantine layer)", err=True)
        placed = summary.placed_from_tracks
        if placed is not None and placed.placed:
            click.echo(f"Placed {placed.placed} samples without GPS from tracks.", err=True)
    if summary.failed:
        ctx.exit(1)


def file_text(r: FileResult) -> str:
    """One line per merged file, as the merge goes."""
    if r.skipped:
        return f"{r.file}: merged before, nothing added (use --replace to read it again)"
    parts = [f"{r.read} rows", f"{r.added} added"]
    parts += [f"{n} {key.replace('_', ' ')}" for key, n in r.counts().items()
              if key not in ("read", "added") and n]
    return f"{r.file} [{r.format}]: " + ", ".join(parts)


def summary_text(s: MergeSummary, db: str) -> str:
    """The merge's one-line result on stdout."""
    extra = "".join(f", {n} {key.replace('_', ' ')}" for key, n in
                    (("neighbours", s.neighbours), ("track_points", s.track_points), ("towers", s.towers)) if n)
    return (f"{s.files} files, {s.read} rows: {s.added} samples added, {s.duplicates} duplicates, "
            f"{s.quarantined} quarantined{extra} -> {db}")
