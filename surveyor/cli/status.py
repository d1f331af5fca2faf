"""``surveyor status``: what the geodatabase holds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import db_option, json_option

if TYPE_CHECKING:
    from surveyor.store.base import StoreStatus


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def status_text(status: StoreStatus, sessions=None) -> str:
    """The human summary of a store's status (and its ``sessions`` layer, when given)."""
    shown = status.db  # a PostGIS URL comes back with its password masked
    if not status.samples:
        return f"{shown}: no samples yet. Merge some: surveyor merge FILES --db {shown}\n"
    lines = [f"{shown}: {_n(status.samples)} samples in {status.sessions} sessions by {status.devices} devices "
             f"on {status.days} days, {status.first} .. {status.last}"]
    width = max(len(k) for k in status.by_operator)
    lines += [f"  {op:<{width}}  {_n(n):>9}" for op, n in status.by_operator.items()]
    lines.append("  kinds: " + ", ".join(f"{k} {_n(v)}" for k, v in status.by_kind.items()))
    if status.unplaced:
        lines.append(f"  without a position (not on maps until placed from a GPS track): {_n(status.unplaced)}")
    for count, label in ((status.track_points, "GPS track points"), (status.towers, "known towers"),
                         (status.neighbours, "neighbour-cell measurements")):
        if count:
            lines.append(f"  {label}: {_n(count)}")
    if status.quarantined:
        reasons = ", ".join(f"{k} {v}" for k, v in status.quarantine_by_reason.items())
        lines.append(f"  quarantined rows: {_n(status.quarantined)} ({reasons}); they are in the quarantine layer")
    lines.append(f"  merged sources: {status.merges}; last analysis: {status.analysed_at or 'none yet'}")
    if sessions is not None and len(sessions):
        lines.append("\n  session                               first                 last                  samples  model")
        for r in sessions.sort_values("first").itertuples(index=False):
            first = r.first.strftime("%Y-%m-%d %H:%M:%SZ") if r.first == r.first else "-"
            last = r.last.strftime("%Y-%m-%d %H:%M:%SZ") if r.last == r.last else "-"
            lines.append(f"  {str(r.session)[:36]:<36}  {first:<20}  {last:<20}  {int(r.samples):>7}  "
                         f"{r.device_model or '-'}")
    return "\n".join(lines) + "\n"


@click.command(name="status")
@db_option
@click.option("--sessions/--no-sessions", default=True, show_default=True, help="List the sessions too.")
@json_option
def command(db, sessions, as_json) -> None:
    """Show samples per operator, kind and session, the dates covered, and what was quarantined."""
    from surveyor.store import open_store

    with open_store(db) as store:
        status = store.status()
        table = store.read_layer("sessions") if (sessions or as_json) else None
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
        click.echo(f"{status.db}: basemap from {basemap.get('source')} ({basemap.get('imported_at')}): {counts}; "
                   f"{basemap.get('attribution')}")
    click.echo(status_text(status, table if sessions else None), nl=False)
