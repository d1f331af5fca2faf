"""``surveyor status``: what the geodatabase holds."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import db_option, json_option


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


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
    if as_json:
        if table is not None and len(table):
            status["per_session"] = json.loads(table.drop(columns=["volunteer"], errors="ignore")
                                               .to_json(orient="records", date_format="iso"))
        click.echo(json.dumps(status, indent=2, default=str))
        return
    shown = status.get("db", db)  # a PostGIS URL comes back with its password masked
    if not status["samples"]:
        click.echo(f"{shown}: no samples yet. Merge some: surveyor merge FILES --db {shown}")
        return
    click.echo(f"{shown}: {_n(status['samples'])} samples in {status['sessions']} sessions by "
               f"{status['devices']} devices on {status['days']} days, {status['first']} .. {status['last']}")
    width = max(len(k) for k in status["by_operator"])
    for op, n in status["by_operator"].items():
        click.echo(f"  {op:<{width}}  {_n(n):>9}")
    click.echo("  kinds: " + ", ".join(f"{k} {_n(v)}" for k, v in status["by_kind"].items()))
    if status["unplaced"]:
        click.echo(f"  without a position (not on maps until placed from a GPS track): {_n(status['unplaced'])}")
    for key, label in (("track_points", "GPS track points"), ("towers", "known towers"),
                       ("neighbours", "neighbour-cell measurements")):
        if status[key]:
            click.echo(f"  {label}: {_n(status[key])}")
    if status["quarantined"]:
        reasons = ", ".join(f"{k} {v}" for k, v in status["quarantine_by_reason"].items())
        click.echo(f"  quarantined rows: {_n(status['quarantined'])} ({reasons}); they are in the quarantine layer")
    click.echo(f"  merged sources: {status['merges']}; last analysis: {status['analysed_at'] or 'none yet'}")
    if sessions and table is not None and len(table):
        click.echo("\n  session                               first                 last                  samples  model")
        for r in table.sort_values("first").itertuples(index=False):
            first = r.first.strftime("%Y-%m-%d %H:%M:%SZ") if r.first == r.first else "-"
            last = r.last.strftime("%Y-%m-%d %H:%M:%SZ") if r.last == r.last else "-"
            click.echo(f"  {str(r.session)[:36]:<36}  {first:<20}  {last:<20}  {int(r.samples):>7}  "
                       f"{r.device_model or '-'}")
