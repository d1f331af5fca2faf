"""``surveyor merge``: import journals, app exports, tracks and tower lists."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import check_flags, config_option, db_option, json_option, survey_settings
from surveyor.cli.texts import _, language, ngettext

if TYPE_CHECKING:
    from surveyor.ingest.merge import FileResult, MergeSummary


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    """``--map COLUMN=FIELD`` (``FIELD=COLUMN`` is understood too when only the left side is a field)."""
    from surveyor.model import SAMPLE_FIELDS

    fields = list(SAMPLE_FIELDS) + ["date", "sample_id"]
    mapping = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(_("{value!r} is not COLUMN=FIELD (e.g. Signal=rsrp_dbm).").format(value=v),
                                     param_hint="--map")
        column, fld = (x.strip() for x in v.split("=", 1))
        if fld not in fields and column in fields:
            column, fld = fld, column
        if fld not in fields:
            message = _("{field!r} is not a sample field; fields are: {fields} (date: a column of dates beside a "
                        "time-of-day column).")
            raise click.BadParameter(message.format(field=fld, fields=", ".join(fields)), param_hint="--map")
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
        raise click.UsageError(ngettext("no such file or folder: {paths}. Check the path.",
                                        "no such files or folders: {paths}. Check the paths.",
                                        len(missing)).format(paths=", ".join(missing)))
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
        # The library's own words (a file's error, why a path was passed over, what to do about
        # samples without a position) are English for now; the sentences around them are not.
        for f in summary.failed:
            click.echo(_("Error: {message}").format(message=f.error), err=True)
        for path, reason in summary.passed_over:
            click.echo(_("Passed over {path}: {reason}.").format(path=path, reason=reason), err=True)
        click.echo(summary_text(summary, shown_db))
        for line in after_text(summary):
            click.echo(line, err=True)
    if summary.failed:
        ctx.exit(1)


def _n(value: int) -> str:
    from surveyor.i18n import format_number

    return format_number(value, language())


def _count(n: int, singular: str, plural: str) -> str:
    """``n`` said with its noun in the command line's language (``1 row``, ``3.605 baris``)."""
    return ngettext(singular, plural, n).format(n=_n(n))


def count_words(key: str, n: int) -> str:
    """A row count of a merge in words, by its key in :data:`surveyor.store.base.MERGE_COUNT_KEYS`
    (``read`` -> ``3 rows``; ``added`` is said as samples added)."""
    if key == "read":
        return _count(n, "{n} row", "{n} rows")
    if key == "added":
        return _count(n, "{n} sample added", "{n} samples added")
    if key == "duplicates":
        return _count(n, "{n} duplicate", "{n} duplicates")
    if key == "quarantined":
        return _count(n, "{n} quarantined", "{n} quarantined")
    if key == "neighbours":
        return _count(n, "{n} neighbour-cell measurement", "{n} neighbour-cell measurements")
    if key == "track_points":
        return _count(n, "{n} GPS track point", "{n} GPS track points")
    if key == "towers":
        return _count(n, "{n} tower", "{n} towers")
    return f"{_n(n)} {key.replace('_', ' ')}"


def _unplaced(key: str, n: int) -> str:
    """``n`` samples without GPS that could not be placed from tracks, and why (the keys of
    ``Placement.reasons``)."""
    words = {"no_tracks": _("{n} with no GPS track"), "no_track_at_time": _("{n} with no track at their time"),
             "gap_too_long": _("{n} in a track gap longer than --max-gap"), "no_time": _("{n} without a time")}
    return words.get(key, "{n} " + key.replace("_", " ")).format(n=_n(n))


def after_text(summary: MergeSummary) -> list[str]:
    """The lines on stderr after the summary: quarantine reasons, and samples placed (or not yet)
    from GPS tracks."""
    lines = []
    by_reason: dict[str, int] = {}
    for r in summary.per_file:
        if not r.skipped and not r.error:
            for k, v in r.by_reason.items():
                by_reason[k] = by_reason.get(k, 0) + v
    if by_reason:
        # The reason codes are the quarantine layer's own (what a user filters it by): not translated.
        lines.append(_("Quarantined by reason: {reasons} (see the quarantine layer)").format(
            reasons=", ".join(f"{k} {_n(v)}" for k, v in by_reason.items())))
    placed = summary.placed_from_tracks
    if placed is not None and placed.placed:
        lines.append(_count(placed.placed, "Placed {n} sample without GPS from a track.",
                            "Placed {n} samples without GPS from tracks."))
    if placed is not None and placed.unplaced and summary.added:
        why = ", ".join(_unplaced(k, v) for k, v in placed.reasons.items())
        lines.append(ngettext("{n} sample has no position yet ({why}); no map shows it.",
                              "{n} samples have no position yet ({why}); no map shows them.",
                              placed.unplaced).format(n=_n(placed.unplaced), why=why))
        lines += ["  " + message for message in placed.messages]
    return lines


def _progress(r: FileResult) -> None:
    if not r.skipped:
        click.echo(file_text(r), err=True)


def file_text(r: FileResult) -> str:
    """What one merged file brought, as the merge goes (a line, and one per note)."""
    if r.skipped:
        return _("{file}: merged before, nothing added (use --replace to read it again)").format(file=r.file)
    parts = [count_words("read", r.read), _count(r.added, "{n} added", "{n} added")]
    parts += [count_words(key, n) for key, n in r.counts().items() if key not in ("read", "added") and n]
    lines = [f"{r.file} [{r.format}]: " + ", ".join(parts)]
    notes = []
    if r.already_stored:
        notes.append(ngettext(
            "{n} of its samples was in the database already (another copy of the same walk: a re-saved, cut or "
            "exported file); it was not added again.",
            "{n} of its samples were in the database already (another copy of the same walk: a re-saved, cut or "
            "exported file); they were not added again.", r.already_stored).format(n=_n(r.already_stored)))
    if r.unused_columns:
        notes.append(_("columns not used: {columns} (map one with --map COLUMN=FIELD if it holds a sample "
                       "field)").format(columns=", ".join(r.unused_columns)))
    if r.far_from_area:
        # Coordinates stay as GPS and map apps write them (decimal point), so they can be pasted into one.
        at = (" " + _("(e.g. at {lat}, {lon})").format(lat=r.far_example[0], lon=r.far_example[1])
              if r.far_example else "")
        notes.append(ngettext(
            "{n} sample lies far from the survey's area{at}: kept, but left out of the analysis, maps, the report "
            "and exports ([scope] max_distance_m; --all-data includes it).",
            "{n} samples lie far from the survey's area{at}: kept, but left out of the analysis, maps, the report "
            "and exports ([scope] max_distance_m; --all-data includes them).",
            r.far_from_area).format(n=_n(r.far_from_area), at=at))
    if r.outside_period:
        notes.append(ngettext(
            "{n} sample is outside the survey period ([scope] period_days before the newest sample): kept, but "
            "left out of the outputs (--all-data includes it).",
            "{n} samples are outside the survey period ([scope] period_days before the newest sample): kept, but "
            "left out of the outputs (--all-data includes them).", r.outside_period).format(n=_n(r.outside_period)))
    for name, n in r.other_operators.items():
        guess = r.near_misses.get(name)
        if guess:
            notes.append(ngettext(
                "{n} sample names the operator {name!r}: probably {guess!r} misspelt; fix the file (or give "
                "--operator {guess}) and merge it again with --replace.",
                "{n} samples name the operator {name!r}: probably {guess!r} misspelt; fix the file (or give "
                "--operator {guess}) and merge it again with --replace.", n).format(n=_n(n), name=name, guess=guess))
        else:
            notes.append(ngettext(
                "{n} sample of operator {name!r}, which survey.toml does not list: left out of the outputs (add "
                "it to [survey] operators, or use --all-data).",
                "{n} samples of operator {name!r}, which survey.toml does not list: left out of the outputs (add "
                "it to [survey] operators, or use --all-data).", n).format(n=_n(n), name=name))
    notes += [_("Warning: {message}").format(message=w) for w in r.warnings]
    return "\n".join(lines + ["  " + note for note in notes])


def summary_text(s: MergeSummary, db: str) -> str:
    """The merge's result on stdout: one line (files merged before are counted on their own)."""
    before = [r for r in s.per_file if r.skipped]
    if before and len(before) == s.files:
        return ngettext("{n} file merged before, nothing new -> {db}", "{n} files merged before, nothing new -> {db}",
                        len(before)).format(n=_n(len(before)), db=db)
    new = [r for r in s.per_file if not r.skipped]
    counts = [count_words("added", s.added), count_words("duplicates", sum(r.duplicates for r in new)),
              count_words("quarantined", sum(r.quarantined for r in new))]
    counts += [count_words(key, n) for key, n in
               (("neighbours", s.neighbours), ("track_points", s.track_points), ("towers", s.towers)) if n]
    tail = (" " + _("({n} more merged before, nothing new)").format(n=_n(len(before)))) if before else ""
    return _("{files}, {rows}: {counts}{tail} -> {db}").format(
        files=_count(len(new), "{n} file", "{n} files"), rows=count_words("read", sum(r.read for r in new)),
        counts=", ".join(counts), tail=tail, db=db)
