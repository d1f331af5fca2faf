"""The field logger loop behind ``surveyor log``: sample signal with the current position every
``interval_s``, run speed tests by time or distance walked, write every sample to the journal.

:func:`run_logger` is the library function (usable from Python); the CLI only parses options and
draws the status line. Sources that fail are retried with back-off while the others go on, and the
samples say what was missing (``no_fix``, ``service: unknown``).
"""

from __future__ import annotations

import logging
import math
import os

try:  # not on Windows; the logger runs on Linux, Termux and macOS
    import resource

    HAVE_RESOURCE = True
except ImportError:  # pragma: no cover
    HAVE_RESOURCE = False
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from surveyor.acquire.gps import GpsSource, open_gps
from surveyor.acquire.journal import JournalWriter, make_sample, new_session_id, utc_now
from surveyor.acquire.journal import device_id as default_device_id
from surveyor.acquire.signal import SignalError, SignalSource, open_signal
from surveyor.acquire.speed import SpeedResult, SpeedTest, open_speedtest
from surveyor.errors import InvalidRequest, SurveyorError
from surveyor.geo.distance import haversine_m
from surveyor.model import ENVIRONMENTS

log = logging.getLogger(__name__)

# A source whose tool is missing is looked for again this many times, this far apart, before the
# logger stops: long enough for a tool being installed, short enough not to log useless samples.
TOOL_TRIES, TOOL_RETRY_S = 3, 0.5
# What works instead of a source that cannot work here, per --gps/--signal SPEC.
ALTERNATIVES = {
    ("gps", "termux"): ("it comes with Termux:API on an Android phone",
                        "--gps gpsd (a receiver through gpsd), --gps nmea:/dev/ttyACM0 (a serial receiver), "
                        "--gps fixed:LAT,LON (standing still) or --gps none (placed later from another device's "
                        "GPS track)"),
    ("signal", "termux"): ("it comes with Termux:API on an Android phone",
                           "--signal mmcli (a USB modem with ModemManager), --signal at:/dev/ttyUSB2 (the modem's "
                           "AT port) or --signal manual (you type the bars)"),
    ("signal", "mmcli"): ("install ModemManager: sudo apt install modemmanager",
                          "--signal at:/dev/ttyUSB2 (the modem's AT port), --signal termux (on the phone) or "
                          "--signal manual"),
}


class SourceUnavailable(SurveyorError):
    """A --gps or --signal source that cannot work on this machine (its tool is not installed)."""


def require_tools(gps, signal, *, tries: int = TOOL_TRIES, retry_s: float = TOOL_RETRY_S) -> None:
    """Refuse, after a short retry, a source whose command-line tool is not on this machine.

    Without it every sample would say only that the tool failed: a journal of useless samples.

    Raises
    ------
    SourceUnavailable
        Naming the source, the missing tool and what to use instead.
    """
    for option, source in (("gps", gps), ("signal", signal)):
        tool = getattr(source, "tool", None)
        if not tool:
            continue
        for attempt in range(tries):
            if shutil.which(tool):
                break
            if attempt + 1 < tries:
                time.sleep(retry_s)
        else:
            why, instead = ALTERNATIVES.get((option, source.name), ("", "another source"))
            raise SourceUnavailable(
                f"--{option} {source.name} cannot work on this machine: {tool} is not installed"
                + (f" ({why})" if why else "") + ".",
                fix=f"Use {instead}.")

SIGNAL_BACKOFF_MAX_S = 60.0


@dataclass
class LogOptions:
    """What ``surveyor log`` was asked to do (the command-line options, with units in names)."""

    out: str
    gps: str = "none"
    signal: str = "none"
    speedtest: str | None = None
    interval_s: float = 1.0
    speed_every_s: float | None = None
    speed_every_m: float | None = None
    max_mb: float = 5.0
    duration_s: float | None = None
    count: int | None = None
    volunteer: str | None = None
    route: str | None = None
    environment: str | None = None
    device: str | None = None
    device_model: str | None = None
    speed_timeout_s: float = 15.0
    speed_length_s: float = 5.0
    web: bool = False
    web_port: int = 8765
    web_bind: str = "127.0.0.1"
    targets: str | None = None
    # Language of the --signal manual prompts (id or en; None: English).
    lang: str | None = None
    # The survey's operators (survey.toml): --signal manual offers them as a numbered list.
    operators: tuple[str, ...] = ()


@dataclass
class Summary:
    """What one run wrote; printed at the end and returned to Python callers."""

    out: str
    session: str
    device: str
    samples: int = 0
    signal_samples: int = 0
    speed_samples: int = 0
    speed_failed: int = 0
    no_fix: int = 0
    no_service: int = 0
    unknown_service: int = 0
    bytes_used: int = 0
    distance_m: float = 0.0
    elapsed_s: float = 0.0
    interrupted: bool = False
    cpu_self_s: float = 0.0
    cpu_tools_s: float = 0.0
    last: dict = field(default_factory=dict)
    last_speed: dict = field(default_factory=dict)
    web_url: str | None = None

    def text(self) -> str:
        parts = [f"{self.samples} samples ({self.signal_samples} signal, {self.speed_samples} speed tests"
                 + (f", {self.speed_failed} failed" if self.speed_failed else "") + ")",
                 f"{self.no_fix} without GPS fix", f"{self.no_service} with no service"]
        if self.unknown_service:
            parts.append(f"{self.unknown_service} with the signal source failing")
        if self.bytes_used:
            parts.append(f"{self.bytes_used / 1e6:.1f} MB used by speed tests")
        return (("Stopped. " if self.interrupted else "Done. ") + ", ".join(parts)
                + f"; {self.distance_m:.0f} m walked in {self.elapsed_s:.0f} s."
                + f" Journal: {self.out} (session {self.session}).")


def _on_termux() -> bool:
    return "com.termux" in os.environ.get("PREFIX", "") or os.environ.get("TERMUX_VERSION") is not None


def _termux_tool(name: str) -> None:
    """Best effort: a missing termux-wake-lock must not stop a survey."""
    if shutil.which(name) is None:
        return
    try:
        subprocess.run([name], timeout=10, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("%s failed: %s", name, exc)


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of the device tools it ran (termux-api, mmcli), apart."""
    if not HAVE_RESOURCE:  # pragma: no cover
        return 0.0, 0.0
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def validate(opts: LogOptions) -> None:
    """Collect every problem with the options and raise once (exit code 2)."""
    problems = []
    if opts.interval_s <= 0:
        problems.append("--interval must be more than 0 seconds")
    if opts.speed_every_s is not None and opts.speed_every_s <= 0:
        problems.append("--speed-every must be more than 0 seconds")
    if opts.speed_every_m is not None and opts.speed_every_m <= 0:
        problems.append("--speed-every-m must be more than 0 metres")
    if opts.duration_s is not None and opts.duration_s <= 0:
        problems.append("--duration must be more than 0 seconds")
    if opts.count is not None and opts.count <= 0:
        problems.append("--count must be at least 1")
    if opts.environment is not None and opts.environment not in ENVIRONMENTS:
        problems.append(f"--environment must be one of {', '.join(ENVIRONMENTS)}")
    if opts.max_mb <= 0:
        problems.append("--max-mb must be more than 0")
    if (opts.signal or "none") == "none" and (opts.speedtest or "none") == "none":
        problems.append("nothing to log: give --signal and/or --speedtest")
    if (opts.speed_every_m is not None) and (opts.gps or "none") == "none":
        problems.append("--speed-every-m needs a GPS (--gps) to measure the distance walked")
    if not 1 <= opts.web_port <= 65535:
        problems.append("--web-port must be a port number from 1 to 65535")
    if opts.targets and not opts.web:
        problems.append("--targets are shown on the page of --web: add --web")
    if problems:
        raise InvalidRequest("; ".join(problems) + ".", fix="See `surveyor log --help`.")


class _SpeedWorker:
    """Runs one speed test in a thread so signal sampling goes on meanwhile."""

    def __init__(self, test: SpeedTest, started_fix, started_time):
        self.fix, self.time = started_fix, started_time
        self.cancel = threading.Event()
        self.result: SpeedResult | None = None
        self.thread = threading.Thread(target=self._run, args=(test,), name="speedtest", daemon=True)
        self.thread.start()

    def _run(self, test: SpeedTest) -> None:
        self.result = test.run(self.cancel)

    def done(self) -> bool:
        return not self.thread.is_alive()

    def outcome(self) -> SpeedResult:
        """The finished test's result (:meth:`SpeedTest.run` never raises, so there always is one)."""
        if self.result is None:
            raise RuntimeError("the speed test thread ended without a result")
        return self.result


def _start_companion(opts: LogOptions, notice: Callable[[str], None] | None):
    """The ``--web`` page, or None when it cannot start: the survey matters more than the page, so
    a port in use, a bad --web-bind or a broken --targets file is a warning and logging goes on."""
    from surveyor.acquire.web import Companion, CompanionError

    try:
        # Where this run starts writing: the page reads today's earlier lines up to here.
        end_offset = os.path.getsize(opts.out)
    except OSError:
        end_offset = 0
    try:
        companion = Companion(bind=opts.web_bind, port=opts.web_port, targets=opts.targets)
    except CompanionError as exc:
        log.warning("%s", exc)
        return None
    except Exception as exc:  # a fault of the page must not cost the walk
        log.warning("Field companion not started (%s). Logging goes on without the page.", exc)
        log.debug("companion", exc_info=True)
        return None
    if notice is not None:
        notice(f"Field companion: open {companion.url} in the phone's browser.")
    companion.load_today(opts.out, end_offset)
    return companion


def run_logger(opts: LogOptions, *, status: Callable[[Summary, dict], None] | None = None,
               stop: threading.Event | None = None, ask: Callable[[str, str], str] | None = None,
               gps: GpsSource | None = None, signal: SignalSource | None = None,
               speed: SpeedTest | None = None, notice: Callable[[str], None] | None = None) -> Summary:
    """Log until ``duration_s``, ``count`` rounds, ``stop`` is set or Ctrl-C; return a summary.

    Parameters
    ----------
    opts
        The options; sources are opened from their SPECs unless given as objects.
    status
        Called after every written sample with the summary and the sample (the status line).
    stop
        Set it (e.g. from a signal handler) to stop cleanly after the current sample.
    ask
        Prompt function for ``--signal manual``: ``ask(question, default) -> answer``.
    notice
        Called with messages for the volunteer (the address of the ``--web`` page).

    ``count`` counts sampling rounds (one round may write two samples on a dual-SIM phone); with
    ``--signal none`` it counts speed tests.
    """
    validate(opts)
    stop = stop or threading.Event()
    gps = gps or open_gps(opts.gps, interval_s=opts.interval_s)
    signal = signal or open_signal(opts.signal, ask=ask, interval_s=opts.interval_s, lang=opts.lang,
                                   operators=opts.operators)
    if speed is None:
        speed = open_speedtest(opts.speedtest, max_mb=opts.max_mb, timeout_s=opts.speed_timeout_s,
                               length_s=opts.speed_length_s)
    if speed is not None and opts.speed_every_s is None and opts.speed_every_m is None:
        # No schedule given: one test at the start and then every 5 minutes, a data-thrifty default.
        opts.speed_every_s = 300.0
    require_tools(gps, signal)  # before the journal: nothing is written by a logger that cannot work
    writer = JournalWriter(opts.out)  # opened before the devices: a bad --out fails before touching them
    session = new_session_id()
    device = opts.device or default_device_id()
    summary = Summary(out=str(opts.out), session=session, device=device)
    common = {"session": session, "device": device, "device_model": opts.device_model,
              "volunteer": opts.volunteer, "route": opts.route, "environment": opts.environment}
    wake = _on_termux() or "termux" in (opts.gps, opts.signal)
    cpu0, tools0 = _cpu()
    t0 = time.monotonic()
    worker: _SpeedWorker | None = None
    companion = None
    try:
        if opts.web:
            companion = _start_companion(opts, notice)
            summary.web_url = companion.url if companion is not None else None
        if wake:
            _termux_tool("termux-wake-lock")
        gps.start()
        signal_backoff_until, signal_delay = 0.0, 1.0
        try:
            signal.start()
        except SignalError as exc:
            log.warning("signal source: %s (retrying)", exc)
            signal_backoff_until = time.monotonic() + signal_delay
        rounds = 0
        next_sample = t0
        next_speed = t0 if speed is not None else math.inf
        last_pos = None
        dist_since_speed = 0.0
        speed_due_by_distance = False

        def write(sample_fields: dict, fix, when) -> dict:
            pos = ({"lat": round(fix.lat, 7), "lon": round(fix.lon, 7), "accuracy_m": fix.accuracy_m,
                    "altitude_m": fix.altitude_m, "speed_kmh": fix.speed_kmh, "gps": gps.name}
                   if fix is not None else {"no_fix": True, "gps": gps.name})
            sample = make_sample(time=when, **pos, **common, **sample_fields)
            writer.write(sample)
            summary.samples += 1
            if fix is None:
                summary.no_fix += 1
            if sample.get("kind") == "speed":
                summary.speed_samples += 1
                summary.bytes_used += sample.get("bytes_used", 0)
                summary.speed_failed += sample.get("test") == "failed"
                summary.last_speed = sample
            else:
                summary.signal_samples += 1
                summary.no_service += sample.get("service") == "no_service"
                summary.unknown_service += sample.get("service") == "unknown"
                summary.last = sample
            if companion is not None:
                companion.add(sample)
            if status is not None:
                status(summary, sample)
            return sample

        while not stop.is_set():
            now = time.monotonic()
            if opts.duration_s is not None and now - t0 >= opts.duration_s:
                break
            # A finished speed test is written at the place and time it started.
            if worker is not None and worker.done():
                write(worker.outcome().fields(), worker.fix, worker.time)
                worker = None
                if signal.name == "none":
                    rounds += 1
                    if opts.count is not None and rounds >= opts.count:
                        break
            # A test due by time is started before the round's sample, so the first test runs at the
            # start even with --count 1 (it is finished and written when the count is reached).
            if speed is not None and worker is None and now >= next_speed:
                worker = _SpeedWorker(speed, gps.current(), utc_now())
                next_speed = now + opts.speed_every_s if opts.speed_every_s else math.inf
                dist_since_speed, speed_due_by_distance = 0.0, False
            if now >= next_sample:
                fix = gps.current()
                if fix is not None:
                    if last_pos is not None:
                        step = haversine_m(last_pos[0], last_pos[1], fix.lat, fix.lon)
                        # GPS jitter while standing still is not walking.
                        if step >= (fix.accuracy_m or 5.0) * 0.5:
                            summary.distance_m += step
                            dist_since_speed += step
                            last_pos = (fix.lat, fix.lon)
                    else:
                        last_pos = (fix.lat, fix.lon)
                if opts.speed_every_m is not None and dist_since_speed >= opts.speed_every_m:
                    speed_due_by_distance = True
                if signal.name != "none":
                    when = utc_now()
                    if now < signal_backoff_until:
                        readings = [{"service": "unknown"}]
                    else:
                        try:
                            readings = signal.read()
                            signal_delay = 1.0
                        except SignalError as exc:
                            log.warning("signal source: %s (retrying in %.0f s)", exc.message, signal_delay)
                            readings = [{"service": "unknown"}]
                            signal_backoff_until = time.monotonic() + signal_delay
                            signal_delay = min(signal_delay * 2, SIGNAL_BACKOFF_MAX_S)
                        # The fix at the moment the answer came (manual prompts can take a while).
                        if signal.name == "manual":
                            fix, when = gps.current(), utc_now()
                    kind = "manual" if signal.name == "manual" else "signal"
                    for reading in readings:
                        write({"kind": kind, **reading}, fix, when)
                    rounds += 1
                    if opts.count is not None and rounds >= opts.count:
                        break
                next_sample += opts.interval_s
                if next_sample < time.monotonic():  # fell behind (slow device): do not burst
                    next_sample = time.monotonic() + opts.interval_s
            if speed is not None and worker is None and speed_due_by_distance:
                # Due by distance: started where the walk reached it, after this round's fix.
                worker = _SpeedWorker(speed, gps.current(), utc_now())
                next_speed = time.monotonic() + opts.speed_every_s if opts.speed_every_s else math.inf
                dist_since_speed, speed_due_by_distance = 0.0, False
            wait = next_sample - time.monotonic()
            if worker is not None:
                wait = min(wait, 0.1)
            if opts.duration_s is not None:
                wait = min(wait, t0 + opts.duration_s - time.monotonic())
            if wait > 0:
                stop.wait(wait)
        if worker is not None and not stop.is_set():
            # --count or --duration reached during a test: let it finish (it is bounded by its own
            # timeouts) so the data it used is not wasted. On Ctrl-C it is cancelled instead.
            worker.thread.join()
            write(worker.outcome().fields(), worker.fix, worker.time)
            worker = None
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if worker is not None:
            worker.cancel.set()
            worker.thread.join(timeout=5)
        if stop.is_set():
            summary.interrupted = True
        for closer in (gps.close, signal.close, writer.close, *((companion.close,) if companion else ())):
            try:
                closer()
            except Exception as exc:  # closing must not hide the summary or the real error
                log.debug("close failed: %s", exc)
        if wake:
            _termux_tool("termux-wake-unlock")
        summary.elapsed_s = time.monotonic() - t0
        cpu1, tools1 = _cpu()
        summary.cpu_self_s, summary.cpu_tools_s = cpu1 - cpu0, tools1 - tools0
    return summary
