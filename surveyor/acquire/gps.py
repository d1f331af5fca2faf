"""GPS sources for the logger: gpsd, NMEA (serial receiver or file), Termux, fixed, none.

Each source keeps its latest fix in the background (a thread per streaming source) and answers
:meth:`GpsSource.current` instantly, so a slow or lost GPS never delays signal sampling: a fix older
than ``max_age_s`` counts as no fix, and a lost connection is retried with back-off.
The parsers (:func:`parse_nmea`, :func:`parse_gpsd_line`, :func:`parse_termux_location`) take plain
text, so they are tested without devices.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import threading
import time
from dataclasses import dataclass

from surveyor.acquire import port_and_baud
from surveyor.errors import InvalidRequest, SurveyorError

log = logging.getLogger(__name__)

KNOTS_TO_KMH = 1.852
MS_TO_KMH = 3.6
# A receiver that stopped talking must not keep stamping its last position on new samples.
DEFAULT_MAX_AGE_S = 5.0
# NMEA has no accuracy field; HDOP times this is the usual rough horizontal error (metres).
UERE_M = 5.0


class GpsError(SurveyorError):
    """A GPS source failed (no gpsd, no such device, termux-location error)."""


@dataclass(frozen=True)
class Fix:
    """A position fix. ``received`` is the local monotonic time it arrived (for staleness)."""

    lat: float
    lon: float
    accuracy_m: float | None = None
    altitude_m: float | None = None
    speed_kmh: float | None = None
    received: float = 0.0


# ---------------------------------------------------------------------------------------------
# Pure parsers


def nmea_checksum_ok(sentence: str) -> bool:
    """True when the ``*HH`` checksum matches; sentences without one are accepted (some loggers
    strip it) but a wrong one means line noise from a serial port."""
    body = sentence.strip()
    if not body.startswith("$"):
        return False
    if "*" not in body:
        return True
    data, _, given = body[1:].partition("*")
    calc = 0
    for ch in data:
        calc ^= ord(ch)
    try:
        return calc == int(given[:2], 16)
    except ValueError:
        return False


def _nmea_deg(value: str, hemi: str) -> float | None:
    if not value or not hemi:
        return None
    try:
        dot = value.index(".") if "." in value else len(value)
        deg = float(value[: dot - 2])
        minutes = float(value[dot - 2:])
    except ValueError:
        return None
    out = deg + minutes / 60.0
    return -out if hemi in ("S", "W") else out


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class NmeaState:
    """Accumulates GGA/RMC/VTG sentences into fixes (any talker: GP, GN, GL, ...).

    :meth:`feed` returns ``Fix`` for a sentence that carries a valid position, ``False`` for one
    that says there is no fix (RMC status V, GGA quality 0), and None for everything else.
    """

    def __init__(self) -> None:
        self.speed_kmh: float | None = None
        self._seen_gga = False

    def feed(self, line: str, now: float | None = None) -> Fix | bool | None:
        line = line.strip()
        if not line.startswith("$") or not nmea_checksum_ok(line):
            return None
        now = time.monotonic() if now is None else now
        fields = line.split("*")[0].split(",")
        kind = fields[0][3:] if len(fields[0]) >= 6 else ""
        if kind == "GGA" and len(fields) >= 10:
            self._seen_gga = True
            if fields[6] in ("", "0"):
                return False
            lat, lon = _nmea_deg(fields[2], fields[3]), _nmea_deg(fields[4], fields[5])
            if lat is None or lon is None:
                return False
            hdop = _float(fields[8])
            return Fix(lat, lon, accuracy_m=round(hdop * UERE_M, 1) if hdop else None,
                       altitude_m=_float(fields[9]), speed_kmh=self.speed_kmh, received=now)
        if kind == "RMC" and len(fields) >= 8:
            if fields[2] != "A":
                return False
            knots = _float(fields[7])
            if knots is not None:
                self.speed_kmh = round(knots * KNOTS_TO_KMH, 2)
            if self._seen_gga:
                # GGA carries altitude and HDOP too; RMC only adds the speed then.
                return None
            lat, lon = _nmea_deg(fields[3], fields[4]), _nmea_deg(fields[5], fields[6])
            if lat is None or lon is None:
                return False
            return Fix(lat, lon, speed_kmh=self.speed_kmh, received=now)
        if kind == "VTG" and len(fields) >= 8:
            kmh = _float(fields[7])
            if kmh is not None:
                self.speed_kmh = kmh
        return None


def parse_nmea(text: str) -> list[Fix | bool]:
    """All fix / no-fix events in a block of NMEA text (``#`` comment lines and CRLF allowed)."""
    state = NmeaState()
    out = []
    for line in text.splitlines():
        ev = state.feed(line, now=0.0)
        if ev is not None:
            out.append(ev)
    return out


def parse_gpsd_line(line: str, now: float | None = None) -> Fix | bool | None:
    """A gpsd JSON report: ``Fix`` for a TPV with mode 2/3, ``False`` for TPV mode 0/1 (no fix),
    None for other classes or junk."""
    try:
        obj = json.loads(line)
    except (ValueError, TypeError):
        return None
    if not isinstance(obj, dict) or obj.get("class") != "TPV":
        return None
    if (obj.get("mode") or 0) < 2 or obj.get("lat") is None or obj.get("lon") is None:
        return False
    eph = obj.get("eph")
    if eph is None and obj.get("epx") is not None and obj.get("epy") is not None:
        eph = max(obj["epx"], obj["epy"])
    alt = obj.get("altMSL", obj.get("alt"))
    speed = obj.get("speed")
    return Fix(float(obj["lat"]), float(obj["lon"]),
               accuracy_m=round(float(eph), 1) if eph is not None else None,
               altitude_m=float(alt) if alt is not None else None,
               speed_kmh=round(float(speed) * MS_TO_KMH, 2) if speed is not None else None,
               received=time.monotonic() if now is None else now)


def parse_termux_location(text: str, now: float | None = None) -> Fix:
    """``termux-location`` output -> Fix; raises :class:`GpsError` for ``{"API_ERROR": ...}``,
    empty output (no fix before the timeout) or junk."""
    try:
        obj = json.loads(text) if text.strip() else None
    except ValueError:
        raise GpsError(f"termux-location printed something that is not JSON: {text[:80]!r}.",
                       fix="Update termux-api (the app and the package) to matching versions.") from None
    if not obj:
        raise GpsError("termux-location gave no position.", fix="Go outdoors and wait for a GPS fix.")
    if "API_ERROR" in obj:
        raise GpsError(f"termux-location: {obj['API_ERROR']}.",
                       fix="Turn on location and give Termux:API the location permission.")
    if obj.get("latitude") is None or obj.get("longitude") is None:
        raise GpsError("termux-location answered without a position.", fix="Wait for a GPS fix.")
    speed = obj.get("speed")
    return Fix(float(obj["latitude"]), float(obj["longitude"]),
               accuracy_m=_round(_float(obj.get("accuracy")), 1), altitude_m=_round(_float(obj.get("altitude")), 2),
               speed_kmh=round(float(speed) * MS_TO_KMH, 2) if speed is not None else None,
               received=time.monotonic() if now is None else now)


def _round(v: float | None, nd: int) -> float | None:
    # Android reports float32 noise (3.9000000953674316); keep what the receiver can know.
    return None if v is None else round(v, nd)


# ---------------------------------------------------------------------------------------------
# Sources


class GpsSource:
    """Base: ``name`` is what the journal's ``gps`` field records."""

    name: str | None = None

    def __init__(self, max_age_s: float = DEFAULT_MAX_AGE_S):
        self.max_age_s = max_age_s
        self._fix: Fix | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: str | None = None  # the last failure, for the status line

    def start(self) -> None:
        pass

    def close(self) -> None:
        self._stop.set()

    def _set(self, fix: Fix | None) -> None:
        with self._lock:
            self._fix = fix

    def current(self) -> Fix | None:
        """The latest fix if it is fresh, else None (no fix, receiver silent or lost)."""
        with self._lock:
            fix = self._fix
        if fix is None or time.monotonic() - fix.received > self.max_age_s:
            return None
        return fix


class NoGps(GpsSource):
    name = None


class FixedGps(GpsSource):
    """A stationary test at known coordinates: always the same fix, never stale."""

    name = "fixed"

    def __init__(self, lat: float, lon: float):
        super().__init__()
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidRequest(f"fixed:{lat},{lon} is not a position.",
                             fix="Use --gps fixed:LAT,LON in degrees, e.g. fixed:-7.437,109.858.")
        self.lat, self.lon = lat, lon

    def current(self) -> Fix | None:
        return Fix(self.lat, self.lon, received=time.monotonic())


class _ThreadedGps(GpsSource):
    """A source read by a background thread that reconnects with back-off."""

    backoff_max_s = 30.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"gps-{self.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._run_once()
                delay = 1.0
            except (OSError, GpsError, ValueError) as exc:
                self._set(None)  # a lost receiver has no fix, not its last one
                msg = exc.message if isinstance(exc, SurveyorError) else str(exc)
                if msg != self.error:
                    log.warning("GPS %s: %s (retrying)", self.name, msg)
                self.error = msg
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
            else:
                if not self._stop.is_set():
                    self._stop.wait(delay)

    def _run_once(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _feed_event(self, ev) -> None:
        if ev is False:
            self._set(None)
        elif ev is not None:
            self.error = None
            self._set(ev)


class GpsdGps(_ThreadedGps):
    """gpsd's JSON protocol: ``?WATCH={"enable":true,"json":true}`` and TPV reports."""

    name = "gpsd"

    def __init__(self, host: str = "127.0.0.1", port: int = 2947, **kw):
        super().__init__(**kw)
        self.host, self.port = host, port

    def _run_once(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=5)
        except OSError as exc:
            raise GpsError(f"cannot reach gpsd at {self.host}:{self.port} ({exc}).",
                           fix="Start gpsd (sudo systemctl start gpsd) or give --gps gpsd://HOST:PORT.") from None
        try:
            sock.sendall(b'?WATCH={"enable":true,"json":true};\n')
            # A silent gpsd (receiver unplugged) must not block forever: time out and reconnect.
            sock.settimeout(max(self.max_age_s, 2.0) * 2)
            buf = b""
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    self._set(None)
                    continue
                if not chunk:
                    raise GpsError("gpsd closed the connection.", fix="Check that gpsd is running.")
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    self._feed_event(parse_gpsd_line(raw.decode("utf-8", "replace")))
        finally:
            sock.close()


class NmeaGps(_ThreadedGps):
    """NMEA 0183 from a serial receiver (pyserial) or from a file that is followed as it grows."""

    name = "nmea"

    def __init__(self, path: str, baud: int = 4800, **kw):
        super().__init__(**kw)
        self.path, self.baud = path, baud

    def _is_device(self) -> bool:
        try:
            return stat.S_ISCHR(os.stat(self.path).st_mode)
        except FileNotFoundError:
            raise GpsError(f"no such GPS device or file: {self.path}.",
                           fix="Plug the receiver in, or check the path (ls /dev/ttyUSB* /dev/ttyACM*).") from None

    def _run_once(self) -> None:
        state = NmeaState()
        if self._is_device():
            import serial  # pyserial; imported here so file replay works without it

            try:
                port = serial.Serial(self.path, self.baud, timeout=1)
            except (serial.SerialException, OSError) as exc:
                raise GpsError(f"cannot open {self.path}: {exc}.",
                               fix="Check the device and that you may use it (group dialout).") from None
            with port:
                buf = b""
                last = time.monotonic()
                while not self._stop.is_set():
                    chunk = port.read(port.in_waiting or 1)
                    if not chunk:
                        if time.monotonic() - last > self.max_age_s:
                            self._set(None)
                        continue
                    last = time.monotonic()
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for raw in lines:
                        self._feed_event(state.feed(raw.decode("ascii", "replace")))
        else:
            with open(self.path, "rb") as f:
                buf = b""
                while not self._stop.is_set():
                    chunk = f.read(65536)
                    if not chunk:
                        self._stop.wait(0.2)  # follow the file like `tail -f`
                        continue
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for raw in lines:
                        self._feed_event(state.feed(raw.decode("ascii", "replace")))


class TermuxGps(_ThreadedGps):
    """``termux-location -p gps -r once``, polled (``-r updates`` is broken upstream).

    The command can hang for minutes without a fix, so it runs with a timeout; an
    ``{"API_ERROR": ...}`` answer is retried with back-off.
    """

    name = "termux"
    tool = "termux-location"  # a source that cannot work without it (see logger.require_tools)

    def __init__(self, poll_s: float = 1.0, timeout_s: float = 30.0, **kw):
        kw.setdefault("max_age_s", max(DEFAULT_MAX_AGE_S, poll_s * 3))
        super().__init__(**kw)
        self.poll_s, self.timeout_s = poll_s, timeout_s

    def _run_once(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                out = subprocess.run(["termux-location", "-p", "gps", "-r", "once"],
                                     capture_output=True, text=True, timeout=self.timeout_s)
            except FileNotFoundError:
                raise GpsError("termux-location not found.",
                               fix="Install it in Termux: pkg install termux-api (and the Termux:API app).") from None
            except subprocess.TimeoutExpired:
                self._set(None)
                raise GpsError(f"termux-location gave no answer within {self.timeout_s:.0f} s.",
                               fix="Go outdoors; the phone has no GPS fix yet.") from None
            self._feed_event(parse_termux_location(out.stdout))
            self._stop.wait(max(0.0, self.poll_s - (time.monotonic() - started)))


def open_gps(spec: str, *, interval_s: float = 1.0) -> GpsSource:
    """A GPS source from its ``--gps`` SPEC (the README, `surveyor log`)."""
    spec = (spec or "none").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "none":
        return NoGps()
    if kind == "fixed":
        try:
            lat_s, lon_s = arg.split(",")
            return FixedGps(float(lat_s), float(lon_s))
        except ValueError:
            raise InvalidRequest(f"--gps {spec}: expected fixed:LAT,LON.",
                             fix="For example --gps fixed:-7.437,109.858.") from None
    if kind == "gpsd":
        host, port = "127.0.0.1", 2947
        if arg:
            rest = arg[2:] if arg.startswith("//") else arg
            if rest:
                h, _, p = rest.rpartition(":") if ":" in rest else (rest, "", "")
                host = h or host
                try:
                    port = int(p) if p else port
                except ValueError:
                    raise InvalidRequest(f"--gps {spec}: the port must be a number.",
                                     fix="For example --gps gpsd://127.0.0.1:2947.") from None
        return GpsdGps(host, port, max_age_s=max(DEFAULT_MAX_AGE_S, interval_s * 2))
    if kind == "nmea":
        if not arg:
            raise InvalidRequest("--gps nmea needs a device or file.", fix="For example --gps nmea:/dev/ttyACM0@9600.")
        path, baud = port_and_baud("--gps", spec, arg, 4800, "nmea:/dev/ttyUSB0@9600")
        return NmeaGps(path, baud, max_age_s=max(DEFAULT_MAX_AGE_S, interval_s * 2))
    if kind == "termux":
        return TermuxGps(poll_s=max(1.0, interval_s))
    raise InvalidRequest(f"--gps {spec}: unknown GPS source.",
                     fix="Use gpsd[://HOST:PORT], nmea:PATH[@BAUD], termux, fixed:LAT,LON or none.")
