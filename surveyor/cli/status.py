"""``surveyor status``: what the geodatabase holds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import db_option, json_option, open_survey
from surveyor.cli.texts import _, language, ngettext

if TYPE_CHECKING:
    from surveyor.store.base import StoreStatus


def _n(value) -> str:
    from surveyor.i18n import format_number

    return format_number(value, language()) if isinstance(value, int) else str(value)


def _count(n: int, singular: str, plural: str) -> str:
    return ngettext(singular, plural, n).format(n=_n(n))


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters at a word boundary (space, ``-``, ``_``), with an ellipsis."""
    text = str(text)
    if len(text) <= width:
        return text
    cut = max(text.rfind(sep, 0, width - 1) for sep in (" ", "-", "_"))
    return (text[:cut] if cut > width // 2 else text[:width - 1]).rstrip(" -_") + "…"


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def sessions_line(status: StoreStatus, sessions=None) -> str:
    """"13 sessions, 3 devices named, 2 files without a device": sessions of formats that name no
    device (an app export, a GPX track) are counted as files, not as devices."""
    parts = [_count(status.sessions, "{n} session", "{n} sessions")]
    if sessions is not None and len(sessions) and "device" in sessions.columns:
        named = sessions["device"].map(_text)
        devices = named.dropna().nunique()
        without = int(named.isna().sum())
        parts.append(_count(devices, "{n} device named", "{n} devices named"))
        if without:
            parts.append(_count(without, "{n} file without a device", "{n} files without a device"))
        if "placed" in sessions.columns:
            placed = int((sessions["placed"].fillna(0) > 0).sum())
            if placed != status.sessions:
                parts.append(_("{n} with a position (those the maps and the report count)").format(n=_n(placed)))
    else:
        parts.append(_count(status.devices, "{n} device", "{n} devices"))
    return ", ".join(parts)


def status_text(status: StoreStatus, sessions=None) -> str:
    """The human summary of a store's status (and its ``sessions`` layer, when given)."""
    shown = status.db  # a PostGIS URL comes back with its password masked
    if not status.samples:
        return _("{db}: no samples yet. Merge some: surveyor merge FILES --db {db}").format(db=shown) + "\n"
    lines = [_("{db}: {samples} in {sessions}, on {days}, {first} .. {last}").format(
        db=shown, samples=_count(status.samples, "{n} sample", "{n} samples"), sessions=sessions_line(status, sessions),
        days=_count(status.days, "{n} day", "{n} days"), first=status.first, last=status.last)]
    width = max(len(str(k)) for k in status.by_operator)
    lines += [f"  {op!s:<{width}}  {_n(n):>9}" for op, n in status.by_operator.items()]
    lines.append("  " + _("kinds:") + " " + ", ".join(f"{k} {_n(v)}" for k, v in status.by_kind.items()))
    if status.unplaced:
        lines.append("  " + _("without a position (not on maps until placed from a GPS track): {n}").format(
            n=_n(status.unplaced)))
    for count, label in ((status.track_points, _("GPS track points")), (status.towers, _("known towers")),
                         (status.neighbours, _("neighbour-cell measurements"))):
        if count:
            lines.append(f"  {label}: {_n(count)}")
    if status.quarantined:
        reasons = ", ".join(f"{k} {v}" for k, v in status.quarantine_by_reason.items())
        lines.append("  " + _("quarantined rows: {n} ({reasons}); they are in the quarantine layer").format(
            n=_n(status.quarantined), reasons=reasons))
    lines.append("  " + _("merged sources: {merges}; last analysis: {analysed}").format(
        merges=_n(status.merges), analysed=status.analysed_at or _("none yet")))
    if sessions is not None and len(sessions):
        head = [_("session"), _("first"), _("last"), _("samples"), _("model")]
        lines.append("\n  " + f"{head[0]:<36}  {head[1]:<20}  {head[2]:<20}  {head[3]:>7}  {head[4]}")
        for r in sessions.sort_values("first").itertuples(index=False):
            first = r.first.strftime("%Y-%m-%d %H:%M:%SZ") if r.first == r.first else "-"
            last = r.last.strftime("%Y-%m-%d %H:%M:%SZ") if r.last == r.last else "-"
            lines.append(f"  {shorten(r.session, 36):<36}  {first:<20}  {last:<20}  {int(r.samples):>7}  "
                         f"{_text(r.device_model) or '-'}")
    return "\n".join(lines) + "\n"


@click.command(name="status")
@db_option
@click.option("--sessions/--no-sessions", default=True, show_default=True, help="List the sessions too.")
@json_option
def command(db, sessions, as_json) -> None:
    """Show samples per operator, kind and session, the dates covered, and what was quarantined."""
    with open_survey(db) as store:
        status = store.status()
        table = store.read_layer("sessions")
        basemap = store.get_meta("basemap")
    if as_json:
        out = status.to_dict()
        if basemap:
            out["basemap"] = {k: basemap.get(k) for k in ("source", "imported_at", "attribution", "counts")}
        if table is not None and len(table):
            out["per_session"] = json.loads(table.drop(columns=["volunteer"], errors="ignore")
                                            .to_json(orient="records", date_format="iso"))
        click.echo(json.dumps(out, indent=2, default=str))
        return
    if basemap:
        counts = ", ".join(f"{_n(v)} {k}" for k, v in (basemap.get("counts") or {}).items())
        click.echo(_("{db}: basemap from {source} ({when}): {counts}; {attribution}").format(
            db=status.db, source=basemap.get("source"), when=basemap.get("imported_at"), counts=counts,
            attribution=basemap.get("attribution")))
    click.echo(status_text(status, table if len(table) else None) if sessions else
               _status_without_table(status, table), nl=False)


def _status_without_table(status, table) -> str:
    text = status_text(status, table if len(table) else None)
    return text.split("\n\n  ", 1)[0].rstrip("\n") + "\n"
