"""``surveyor log``: field logging into a crash-safe journal (a thin layer over
:func:`surveyor.acquire.logger.run_logger`).

Imports nothing of the geospatial stack: this command runs in Termux on a phone.
"""

from __future__ import annotations

import signal as _signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from surveyor.cli.options import choice
from surveyor.cli.texts import _, ngettext
from surveyor.model import ENVIRONMENTS

if TYPE_CHECKING:
    import logging


def _fmt_status(summary, last_by_op: dict) -> str:
    last = summary.last or summary.last_speed
    if last.get("no_fix"):
        pos = _("GPS: no fix")
    elif "lat" in last:
        acc = f" ±{last['accuracy_m']:.0f} m" if last.get("accuracy_m") is not None else ""
        pos = f"GPS {last['lat']:.5f},{last['lon']:.5f}{acc}"
    else:
        pos = "GPS: -"
    cells = []
    for op, s in last_by_op.items():
        if s.get("service") == "no_service":
            cells.append(_("{operator} NO SERVICE").format(operator=op or "?"))
        elif s.get("service") == "unknown" and not s.get("tech"):
            cells.append(_("{operator}: source failing").format(operator=op or _("signal")))
        else:
            val = s.get("rsrp_dbm", s.get("nr_rsrp_dbm", s.get("rscp_dbm", s.get("rssi_dbm"))))
            lvl = f" {val:.0f} dBm" if val is not None else (
                " " + _("{n} bars").format(n=s["level"]) if "level" in s else "")
            cells.append(f"{op or '?'} {s.get('tech') or ''}{lvl}".strip())
    sp = summary.last_speed
    if not sp:
        speed = _("speed: -")
    elif sp.get("test") == "failed":
        speed = _("speed: FAILED")
    else:
        up = sp.get("upload_mbps")
        speed = (_("speed {down}/{up} Mbit/s").format(down=f"{sp.get('download_mbps', 0):.1f}", up=f"{up:.1f}")
                 if up is not None else
                 _("speed {down} Mbit/s down").format(down=f"{sp.get('download_mbps', 0):.1f}"))
        if sp.get("latency_ms") is not None:
            speed += f" {sp['latency_ms']:.0f} ms"
    return " | ".join([pos, "; ".join(cells) or _("signal: -"), speed,
                       ngettext("{n} sample", "{n} samples", summary.samples).format(n=summary.samples)])


def _metres(m: float) -> str:
    # The phone has no Babel: plain digits, kilometres from 1 km as everywhere else.
    return f"{m:.0f} m" if round(m) < 1000 else f"{m / 1000:.1f} km"


def summary_text(s) -> str:
    """The end-of-run summary (the same after Ctrl-C, with manual prompts too)."""
    parts = [ngettext("{n} sample", "{n} samples", s.samples).format(n=s.samples)
             + " (" + _("{signal} signal, {speed} speed tests").format(signal=s.signal_samples, speed=s.speed_samples)
             + (", " + _("{n} failed").format(n=s.speed_failed) if s.speed_failed else "") + ")",
             _("{n} without GPS fix").format(n=s.no_fix), _("{n} with no service").format(n=s.no_service)]
    if s.unknown_service:
        parts.append(_("{n} with the signal source failing").format(n=s.unknown_service))
    if s.bytes_used:
        parts.append(_("{mb} MB used by speed tests").format(mb=f"{s.bytes_used / 1e6:.1f}"))
    return ((_("Stopped.") if s.interrupted else _("Done.")) + " " + ", ".join(parts) + "; "
            + _("{distance} walked in {seconds} s.").format(distance=_metres(s.distance_m),
                                                            seconds=f"{s.elapsed_s:.0f}")
            + " " + _("Journal: {path} (session {session}).").format(path=s.out, session=s.session))


@click.command(name="log")
@click.option("--out", "out", required=True, metavar="JOURNAL",
              help="Journal file (JSON Lines); appended to if it exists.")
@click.option("--gps", "gps", default="none", show_default=True, metavar="SPEC",
              help="gpsd[://HOST:PORT], nmea:PATH_OR_DEVICE[@BAUD], termux, fixed:LAT,LON or none "
                   "(samples get no_fix and are placed later from another device's track).")
@click.option("--signal", "signal_spec", default="none", show_default=True, metavar="SPEC",
              help="termux, mmcli[:MODEM], at:DEVICE[@BAUD], manual or none.")
@click.option("--speedtest", "speedtest", default="none", show_default=True, metavar="SPEC",
              help="speedtest[:SERVER_ID], mini:URL (works offline), http:URL or none.")
@click.option("--interval", "interval_s", type=float, default=1.0, show_default=True, metavar="S",
              help="Seconds between signal samples.")
@click.option("--speed-every", "speed_every_s", type=float, default=None, metavar="S",
              help="Seconds between speed tests (default 300 when --speedtest is given).")
@click.option("--speed-every-m", "speed_every_m", type=float, default=None, metavar="M",
              help="Metres walked between speed tests.")
@click.option("--max-mb", "max_mb", type=float, default=5.0, show_default=True, metavar="MB",
              help="Data cap of each speed test, in MB (1,000,000 bytes).")
@click.option("--duration", "duration_s", type=float, default=None, metavar="S", help="Stop after S seconds.")
@click.option("--count", "count", type=int, default=None, metavar="N", help="Stop after N sampling rounds.")
@click.option("--volunteer", default=None, metavar="NAME", help="Who walks (personal data, kept local).")
@click.option("--route", default=None, metavar="NAME", help="Name of the walk, e.g. 'Dusun Krajan loop'.")
@click.option("--environment", type=choice(ENVIRONMENTS), default=None,
              help="Where the samples are taken; indoor samples are left out of coverage.")
@click.option("--device", "device", default=None, metavar="ID",
              help="Device ID (default: a stable per-machine ID in ~/.config/surveyor/device-id).")
@click.option("--device-model", "device_model", default=None, metavar="MODEL",
              help="Phone or modem model, e.g. 'Redmi 9A' or 'Huawei E3372'.")
@click.option("--web", "web", is_flag=True,
              help="Also serve a live map of the walk on this device (open http://127.0.0.1:8765 in its "
                   "browser). Nothing leaves the device.")
@click.option("--web-port", "web_port", type=int, default=8765, show_default=True, metavar="PORT",
              help="Port of the --web page.")
@click.option("--web-bind", "web_bind", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Address the --web page listens on; 127.0.0.1 keeps it to this device (0.0.0.0 "
                   "shows your position to every device on the same network).")
@click.option("--targets", "targets", default=None, metavar="FILE",
              help="Places that still need evidence, shown on the --web page with the nearest one's "
                   "distance and direction: GPX from `surveyor revisit --format gpx`, or GeoJSON points "
                   "or polygons.")
@click.option("-q", "--quiet", "quiet", is_flag=True, help="No status line and no summary (for scripts).")
@click.pass_context
def command(ctx: click.Context, out, gps, signal_spec, speedtest, interval_s, speed_every_s, speed_every_m,
            max_mb, duration_s, count, volunteer, route, environment, device, device_model, web, web_port,
            web_bind, targets, quiet) -> None:
    """Log signal, speed tests and GPS into a crash-safe journal.

    Every sample is written and synced to JOURNAL at once, so a dead battery loses nothing
    already logged; `surveyor merge JOURNAL` imports it. Samples without signal are written as
    `no_service` evidence and failed speed tests as `test: failed`. Stop with Ctrl-C.

    \b
    Examples:
      phone (Termux):  surveyor log --out walk.jsonl --gps termux --signal termux --speedtest mini:http://192.168.1.10/
      laptop + modem:  surveyor log --out walk.jsonl --gps gpsd --signal mmcli --speedtest speedtest --speed-every-m 200
      no instrument:   surveyor log --out walk.jsonl --gps termux --signal manual
      live map:        surveyor log --out walk.jsonl --gps termux --signal termux --web --targets revisit.gpx
    """
    import logging

    from surveyor.acquire.logger import LogOptions, run_logger
    from surveyor.cli.texts import language

    quiet = quiet or bool((ctx.obj or {}).get("quiet"))
    opts = LogOptions(out=out, gps=gps, signal=signal_spec, speedtest=speedtest, interval_s=interval_s,
                      speed_every_s=speed_every_s, speed_every_m=speed_every_m, max_mb=max_mb,
                      duration_s=duration_s, count=count, volunteer=volunteer, route=route,
                      environment=environment, device=device, device_model=device_model, web=web,
                      web_port=web_port, web_bind=web_bind, targets=targets, lang=language())
    stop = threading.Event()
    manual = signal_spec.strip().lower() == "manual"
    if manual:
        opts.operators = _survey_operators()
    old = {}
    if threading.current_thread() is threading.main_thread():
        def _stop(signum, frame):
            stop.set()
        # Ctrl-C stops after the sample being taken (clean journal and summary); with manual
        # prompts the default KeyboardInterrupt is kept so it also breaks out of a prompt.
        sigs = [_signal.SIGTERM] + ([] if manual else [_signal.SIGINT])
        for s in sigs:
            old[s] = _signal.signal(s, _stop)

    def ask(question: str, default: str) -> str:
        try:
            return click.prompt(question, default=default, show_default=bool(default), err=True)
        except click.exceptions.Abort:
            # Ctrl-C (or the end of input) at a prompt stops like Ctrl-C elsewhere: with the summary.
            raise KeyboardInterrupt from None

    live = None
    status = None
    notice = None
    if not quiet:
        from rich.console import Console
        from rich.live import Live

        console = Console(stderr=True)
        last_by_op: dict = {}
        if not manual and console.is_terminal:
            # Refreshed only when a sample is written: rich's own refresh thread costs CPU.
            live = Live(_("starting..."), console=console, auto_refresh=False, transient=False)
            live.start()

        def status(summary, sample):
            if sample.get("kind") != "speed":
                if sample.get("operator") is None and last_by_op and sample.get("service") == "unknown":
                    last_by_op.clear()
                last_by_op[sample.get("operator")] = sample
                if len(last_by_op) > 3:
                    last_by_op.pop(next(iter(last_by_op)))
            line = _fmt_status(summary, last_by_op)
            if live is not None:
                live.update(line, refresh=True)
            elif not manual and summary.samples % 10 == 1:
                # Not a terminal (a log file): one line every ten samples instead of a live line.
                click.echo(line, err=True)

        def notice(message: str) -> None:
            if live is not None:
                live.console.print(message, markup=False, highlight=False)
            else:
                click.echo(message, err=True)
    # Warnings (a GPS lost, a source retrying) go through notice(): above the live status line,
    # never into it.
    root = logging.getLogger()
    saved = list(root.handlers)
    if notice is not None:
        handler = _notice_handler(notice)
        handler.setLevel(max(logging.WARNING, root.level) if root.level else logging.WARNING)
        root.handlers = [handler]
    try:
        summary = run_logger(opts, status=status, stop=stop, ask=ask if manual else None, notice=notice)
    finally:
        root.handlers = saved
        if live is not None:
            live.stop()
        for s, h in old.items():
            _signal.signal(s, h)
    if not quiet:
        click.echo(summary_text(summary), err=True)
    if summary.interrupted and not quiet:
        sys.stderr.flush()


def _notice_handler(notice: Callable[[str], None]) -> logging.Handler:
    """A logging handler that hands each message to the logger's notice() (see above)."""
    import logging

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                notice(f"{record.levelname.capitalize()}: {record.getMessage()}")
            except Exception:  # a message must never stop the logging
                self.handleError(record)

    return Handler()


def _survey_operators() -> tuple[str, ...]:
    """The operators of ./survey.toml (or the defaults), for the manual logger's pick list."""
    from surveyor.config import load_settings
    from surveyor.errors import SurveyorError

    try:
        return tuple(load_settings().operators)
    except SurveyorError:
        return ()
