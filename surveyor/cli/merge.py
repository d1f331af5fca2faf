"""``surveyor merge``: import journals, app exports, tracks and tower lists."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import check_flags, config_option, db_option, json_option, survey_settings

if TYPE_CHECKING:
    from surveyor.ingest.merge import FileResult, MergeSummary


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    """``--map COLUMN=FIELD`` (``FIELD=COLUMN`` is understood too when only the left side is a field)."""
    from surveyor.model import SAMPLE_FIELDS

    fields = list(SAMPLE_FIELDS) + ["date", "sample_id"]
    mapping = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"{v!r} is not COLUMN=FIELD (e.g. Signal=rsrp_dbm).", param_hint="--map")
        column, fld = (x.strip() for x in v.split("=", 1))
        if fld not in fields and column in fields:
            column, fld = fld, column
        if fld not in fields:
            raise click.BadParameter(f"{fld!r} is not a sample field; fields are: {', '.join(fields)} "
                                     "(date: a column of dates beside a time-of-day column).", param_hint="--map")
        mapping[column] = fld
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
@click.option("--date-order", type=click.Choice(["dmy", "mdy"]), default=None,
              help="Order of slash dates in tables (25/04/2024 is dmy, 04/25/2024 mdy); by default decided "
                   "from the data, and a file where no date decides it is refused.")
@click.option("--max-stdin-mb", "max_stdin_mb", type=click.IntRange(min=1), default=1024, show_default=True,
              metavar="MB", help="Refuse more than this much data on standard input (-).")
@json_option
@click.pass_context
def command(ctx: click.Context, sources, db, config, fmt, mapping, tz, operator, volunteer, device, max_gap_s,
            replace, date_order, max_stdin_mb, as_json) -> None:
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
    import signal

    from surveyor.ingest.large_files import merge_helper

    def terminated(signum, frame):  # SIGTERM ends the merge like Ctrl-C: temporary files removed
        raise KeyboardInterrupt

    import threading

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminated) if main else None
    # Started before the heavy imports below, so the helper's own start-up overlaps them.
    helper = merge_helper(sources)
    try:
        _merge(ctx, helper, sources, db, config, fmt, mapping, tz, operator, volunteer, device, max_gap_s, replace,
               date_order, max_stdin_mb, as_json)
    finally:
        helper.stop()
        if main:
            signal.signal(signal.SIGTERM, previous)


def _merge(ctx: click.Context, helper, sources, db, config, fmt, mapping, tz, operator, volunteer, device, max_gap_s,
           replace, date_order, max_stdin_mb, as_json) -> None:
    from surveyor.ingest.merge import MergeOptions, merge_sources
    from surveyor.store import open_store

    check_flags(timezone=tz)
    mapped = _parse_map(mapping)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    settings = survey_settings(db, config, required=False, timezone=tz)
    import os

    missing = [s for s in sources if s != "-" and not os.path.exists(s)]
    if missing:
        raise click.UsageError("no such file or folder: " + ", ".join(missing) + ". Check the path.")
    with open_store(db, create=True) as store:
        shown_db = store.url  # a PostGIS URL comes back with its password masked
        options = MergeOptions(fmt=fmt, mapping=mapped, tz=settings.timezone, operator=operator,
                               volunteer=volunteer, device=device, max_gap_s=max_gap_s, replace=replace,
                               date_order=date_order, stdin_max_bytes=max_stdin_mb << 20,
                               settings=settings)
        summary = merge_sources(store, sources, options, helper=helper,
                                progress=None if (as_json or quiet) else lambda r: _progress(r))
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        for f in summary.failed:
            click.echo(f"Error: {f.error}", err=True)
        for path, reason in summary.passed_over:
            click.echo(f"Passed over {path}: {reason}.", err=True)
        click.echo(summary_text(summary, shown_db))
        fresh = [r for r in summary.per_file if not r.skipped and not r.error]
        by_reason: dict[str, int] = {}
        for r in fresh:
            for k, v in r.by_reason.items():
                by_reason[k] = by_reason.get(k, 0) + v
        if by_reason:
            click.echo("Quarantined by reason: " + ", ".join(f"{k} {v}" for k, v in by_reason.items())
                       + " (see the quarantine layer)", err=True)
        placed = summary.placed_from_tracks
        if placed is not None and placed.placed:
            click.echo(f"Placed {placed.placed} samples without GPS from tracks.", err=True)
        if placed is not None and placed.unplaced and summary.added:
            why = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in placed.reasons.items())
            click.echo(f"{placed.unplaced} samples have no position yet ({why}); no map shows them.", err=True)
            for message in placed.messages:
                click.echo("  " + message, err=True)
    if summary.failed:
        ctx.exit(1)


def _progress(r: FileResult) -> None:
    if not r.skipped:
        click.echo(file_text(r), err=True)


def file_text(r: FileResult) -> str:
    """What one merged file brought, as the merge goes (a line, and one per note)."""
    if r.skipped:
        return f"{r.file}: merged before, nothing added (use --replace to read it again)"
    parts = [f"{r.read} rows", f"{r.added} added"]
    parts += [f"{n} {key.replace('_', ' ')}" for key, n in r.counts().items()
              if key not in ("read", "added") and n]
    lines = [f"{r.file} [{r.format}]: " + ", ".join(parts)]
    if r.already_stored:
        lines.append(f"  {r.already_stored} of its samples were in the database already (another copy of the "
                     "same walk: a re-saved, cut or exported file); they were not added again.")
    if r.unused_columns:
        lines.append("  columns not used: " + ", ".join(r.unused_columns)
                     + " (map one with --map COLUMN=FIELD if it holds a sample field)")
    if r.far_from_area:
        at = f" (e.g. at {r.far_example[0]}, {r.far_example[1]})" if r.far_example else ""
        lines.append(f"  {r.far_from_area} samples lie far from the survey's area{at}: kept, but left out of the "
                     "analysis, maps, the report and exports ([scope] max_distance_m; --all-data includes them).")
    if r.outside_period:
        lines.append(f"  {r.outside_period} samples are outside the survey period ([scope] period_days before the "
                     "newest sample): kept, but left out of the outputs (--all-data includes them).")
    for name, n in r.other_operators.items():
        guess = r.near_misses.get(name)
        if guess:
            lines.append(f"  {n} samples name the operator {name!r}: probably {guess!r} misspelt; fix the file (or "
                         f"give --operator {guess}) and merge it again with --replace.")
        else:
            lines.append(f"  {n} samples of operator {name!r}, which survey.toml does not list: left out of the "
                         "outputs (add it to [survey] operators, or use --all-data).")
    lines += [f"  Warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def summary_text(s: MergeSummary, db: str) -> str:
    """The merge's result on stdout: one line (files merged before are counted on their own)."""
    before = [r for r in s.per_file if r.skipped]
    if before and len(before) == s.files:
        return f"{len(before)} file{'s' if len(before) != 1 else ''} merged before, nothing new -> {db}"
    extra = "".join(f", {n} {key.replace('_', ' ')}" for key, n in
                    (("neighbours", s.neighbours), ("track_points", s.track_points), ("towers", s.towers)) if n)
    new = [r for r in s.per_file if not r.skipped]
    read = sum(r.read for r in new)
    dup = sum(r.duplicates for r in new)
    quarantined = sum(r.quarantined for r in new)
    tail = f" ({len(before)} more merged before, nothing new)" if before else ""
    return (f"{len(new)} files, {read} rows: {s.added} samples added, {dup} duplicates, "
            f"{quarantined} quarantined{extra}{tail} -> {db}")
