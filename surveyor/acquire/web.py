"""The field companion of ``surveyor log --web``: a live map of the walk, served by the logger itself.

The volunteer opens ``http://127.0.0.1:8765`` in the phone's browser and sees the current position,
each operator's technology and signal in large type, today's track coloured by signal class, the
survey's targets (``surveyor revisit --format gpx``) with the nearest one's distance and direction,
and how many samples and speed tests were logged.

How it stays out of the logger's way:

- :class:`Snapshot` is all the page reads: a small, lock-protected summary that the logger loop
  updates after each sample is written and fsync'd (a few list operations; no I/O). The track is
  thinned when it grows (older points first, never where the colour changes), so memory stays
  bounded on a long walk.
- :class:`CompanionServer` is the standard library's HTTP server on its own daemon thread. A
  request copies what it needs under the lock and builds its answer outside it. A browser that is
  killed or a phone that sleeps only ends a connection; errors of a connection are never raised
  into the logger.
- The page polls at most once a second and asks only for what changed since the last sequence
  number it saw, so a page left open costs the logger one small JSON answer a second.

How the position stays on the phone: the server binds to 127.0.0.1 unless told otherwise, answers
only requests whose ``Host`` is an IP address or ``localhost`` (a web site cannot reach it by DNS
rebinding), and the page carries a Content-Security-Policy that lets it connect to nothing but its
own origin; Leaflet is inlined (:mod:`surveyor.leaflet`) and there are no map tiles.

Standard library only (plus :mod:`surveyor.model` and :mod:`surveyor.leaflet`): this runs on a
phone in Termux without the geospatial stack.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import errno
import ipaddress
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from surveyor.acquire.targets import Target, read_targets
from surveyor.errors import InputError, SurveyorError
from surveyor.geo.bearing import bearing_deg, compass
from surveyor.geo.distance import haversine_m
from surveyor.model import rsrp_class, speed_failed

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
DEFAULT_BIND = "127.0.0.1"
POLL_MS = 1000  # the page asks at most once a second (the logger samples at most about that often)
MAX_TRACK_POINTS = 3000  # thinned beyond this: a day's walk in a few hundred kB of memory
KEEP_RECENT_POINTS = 600  # the last points are never thinned (the part the volunteer looks at)
MIN_STEP_M = 3.0  # standing still (GPS jitter) updates the last point instead of adding one
BREAK_GAP_S = 120.0  # a pause longer than this or a jump longer than this starts a new line,
BREAK_JUMP_M = 300.0  # as on the coverage map
VISIT_RADIUS_M = 35.0  # about half an H3 resolution-10 cell: standing inside the target's cell
VISIT_MAX_ACCURACY_M = 50.0  # worse fixes do not mark a target visited (the analysis drops them too)
MAX_PRELOAD_BYTES = 16_000_000  # today's earlier lines of the journal: read at most this much of its end

# Signal classes of the track. LTE/5G RSRP classes as in RTR-NetTest and Android (docs/method.md);
# colours from the Okabe-Ito palette of the coverage map (surveyor.render.style): blue as "usable 4G",
# yellow as "mixed or weak", vermillion as "no usable 4G", grey as "not known".
SIGNAL_CLASSES: tuple[tuple[str, str, str, str], ...] = (
    # key, label, colour, what it means
    ("excellent", "Excellent", "#0072B2", "4G, RSRP -85 dBm or stronger"),
    ("good", "Good", "#56B4E9", "4G, RSRP -95 to -85 dBm"),
    ("fair", "Fair", "#009E73", "4G, RSRP -105 to -95 dBm"),
    ("poor", "Poor", "#F0E442", "4G, RSRP -115 to -105 dBm"),
    ("none", "No usable 4G", "#D55E00", "4G too weak: RSRP below -115 dBm"),
    ("2g3g", "2G/3G only", "#E69F00", "only 2G or 3G: calls, no usable data"),
    ("nosignal", "No signal", "#000000", "no network at all"),
    ("unknown", "Unknown", "#888888", "the signal source gave no value"),
)
CLASS_KEYS = tuple(c[0] for c in SIGNAL_CLASSES)
ANY_OPERATOR = "*"  # a sample without an operator (no network at all, or the source failing)

STATIC = "static"
PAGE = "companion.html"
SCRIPT = "companion.js"


class CompanionError(SurveyorError):
    """The companion page cannot be served (port in use, bad bind address); logging goes on."""


# ---------------------------------------------------------------------------------------------
# Signal class of one journal line


def _best_rsrp(sample: dict) -> float | None:
    vals = [v for v in (sample.get("rsrp_dbm"), sample.get("nr_rsrp_dbm"))
            if isinstance(v, (int, float)) and v == v]
    return max(vals) if vals else None


def signal_class(sample: dict) -> str | None:
    """The track class of a signal or manual sample (a key of :data:`SIGNAL_CLASSES`); None for a
    speed test.

    No service or ``tech: NONE`` is ``nosignal``; 2G or 3G only is ``2g3g`` (no usable 4G,
    docs/method.md); 4G/5G is classed by RSRP (for 5G non-standalone the better of the LTE anchor
    and NR), below -115 dBm ``none``. A manual sample is classed by its bars (0-1 bars: no usable 4G).
    """
    if (sample.get("kind") or "signal") == "speed":
        return None
    return _track_class(sample)


def _track_class(sample: dict) -> str:
    """:func:`signal_class` of a signal or manual sample."""
    kind = sample.get("kind") or "signal"
    service, tech = sample.get("service"), sample.get("tech")
    if service == "no_service" or tech == "NONE":
        return "nosignal"
    if kind == "manual":
        level = sample.get("level")
        if not isinstance(level, int):
            return "unknown"
        return {4: "excellent", 3: "good", 2: "fair"}.get(level, "none" if level >= 0 else "unknown")
    if tech in ("GSM", "UMTS"):
        return "2g3g"
    return rsrp_class(_best_rsrp(sample)) or "unknown"


def _value_text(sample: dict) -> str:
    rsrp = _best_rsrp(sample)
    if rsrp is not None:
        return f"{rsrp:.0f} dBm"
    for key in ("rscp_dbm", "rssi_dbm"):
        v = sample.get(key)
        if isinstance(v, (int, float)) and v == v:
            return f"{v:.0f} dBm"
    if isinstance(sample.get("level"), int):
        return f"{sample['level']} bars"
    return ""


def _epoch(text) -> float | None:
    """Seconds since the epoch of a journal ``time`` (ISO 8601 with Z or an offset)."""
    if not isinstance(text, str):
        return None
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return when.timestamp()


# ---------------------------------------------------------------------------------------------
# What the page shows


# Track point: [id, lat, lon, {operator: class}, starts_new_line, seq_of_last_change, epoch_s]
_ID, _LAT, _LON, _CLS, _BRK, _SEQ, _T = range(7)


class Snapshot:
    """Everything the companion page shows, updated by the logger after each written sample.

    Thread-safe: :meth:`add` (the logger thread) and :meth:`state` (server threads) hold one lock
    for a few list operations each. Memory is bounded: at most ``max_points`` track points (older
    ones thinned), the latest sample per operator, the last speed test, counts, and the targets.
    """

    def __init__(self, targets: Iterable[Target] = (), *, targets_file: str | None = None,
                 targets_error: str | None = None, max_points: int = MAX_TRACK_POINTS,
                 keep_recent: int = KEEP_RECENT_POINTS):
        self._lock = threading.Lock()
        self.run = secrets.token_hex(4)  # a page left open across a logger restart starts afresh
        self._version = 0  # bumped when points are thinned or history is merged: pages reload all
        self.seq = 0
        self.max_points, self.keep_recent = max_points, min(keep_recent, max_points // 2)
        self._points: list[list] = []
        self._next_id = 0
        self._last_fix: dict | None = None
        self._fix_now = False
        self._last_by_op: dict[str, dict] = {}
        self._last_speed: dict | None = None
        self.counts = {"samples": 0, "signal": 0, "speed": 0, "speed_failed": 0, "no_fix": 0}
        self.targets = list(targets)
        self.targets_file = targets_file
        self.targets_error = targets_error
        self._visited: set[int] = set()
        self._visited_seq = 0

    @property
    def gen(self) -> str:
        return f"{self.run}.{self._version}"

    # -- updates (logger thread) --------------------------------------------------------------

    def add(self, sample: dict) -> None:
        """Take in one journal line just written."""
        with self._lock:
            self._add(sample, live=True)

    def _add(self, sample: dict, *, live: bool) -> None:
        self.seq += 1
        seq = self.seq
        t = _epoch(sample.get("time"))
        kind = sample.get("kind") or "signal"
        counts = self.counts
        counts["samples"] += 1
        has_fix = (not sample.get("no_fix") and isinstance(sample.get("lat"), (int, float))
                   and isinstance(sample.get("lon"), (int, float)))
        if not has_fix:
            counts["no_fix"] += 1
        if kind == "speed":
            counts["speed"] += 1
            failed = speed_failed(sample.get("test"), sample.get("download_mbps"), sample.get("upload_mbps"))
            counts["speed_failed"] += failed
            self._last_speed = {"test": sample.get("test"), "passed": not failed, "t": t,
                                **{k: sample.get(k) for k in ("download_mbps", "upload_mbps", "latency_ms")}}
            return
        counts["signal"] += 1
        cls = _track_class(sample)
        op = sample.get("operator") or ANY_OPERATOR
        if live:
            # A sample without an operator speaks for every SIM (no network, or the source failing);
            # one with an operator ends that state (the same rule as the status line).
            if op == ANY_OPERATOR:
                self._last_by_op.clear()
            else:
                self._last_by_op.pop(ANY_OPERATOR, None)
            self._last_by_op[op] = {"operator": None if op == ANY_OPERATOR else op, "tech": sample.get("tech"),
                                    "service": sample.get("service"), "value": _value_text(sample),
                                    "class": cls, "t": t}
            if len(self._last_by_op) > 4:  # a dual-SIM phone shows two; do not grow on odd names
                self._last_by_op.pop(next(iter(self._last_by_op)))
            self._fix_now = has_fix
        if not has_fix:
            return
        lat, lon = float(sample["lat"]), float(sample["lon"])
        if live:
            self._last_fix = {"lat": lat, "lon": lon, "accuracy_m": sample.get("accuracy_m"),
                              "speed_kmh": sample.get("speed_kmh"), "t": t}
        if self._add_point(lat, lon, op, cls, t, seq):
            acc = sample.get("accuracy_m")
            if acc is None or acc <= VISIT_MAX_ACCURACY_M:
                self._mark_visited(lat, lon, seq)

    def _add_point(self, lat: float, lon: float, op: str, cls: str, t: float | None, seq: int) -> bool:
        """Extend the track; True when a new point was added (not an update of the last one)."""
        pts = self._points
        brk = True
        if pts:
            last = pts[-1]
            step = haversine_m(last[_LAT], last[_LON], lat, lon)
            gap = (t - last[_T]) if (t is not None and last[_T] is not None) else 0.0
            if step < MIN_STEP_M and gap <= BREAK_GAP_S:
                last[_CLS][op] = cls
                last[_SEQ], last[_T] = seq, t if t is not None else last[_T]
                return False
            brk = gap > BREAK_GAP_S or step > BREAK_JUMP_M
        pts.append([self._next_id, round(lat, 6), round(lon, 6), {op: cls}, brk, seq, t])
        self._next_id += 1
        if len(pts) > self.max_points:
            self._thin()
        return True

    def _thin(self) -> None:
        """Halve the older part of the track, keeping line starts and ends and colour changes;
        if that is not enough (a track whose colour changes at every point), thin regardless."""
        pts = self._points
        cut = len(pts) - self.keep_recent
        old, recent = pts[:cut], pts[cut:]
        budget = max(1, self.max_points * 3 // 4 - len(recent))
        for respect_colour in (True, False):
            out = []
            for i, p in enumerate(old):
                nxt = old[i + 1] if i + 1 < len(old) else (recent[0] if recent else None)
                if (i % 2 == 0 or nxt is None or p[_BRK] or nxt[_BRK]
                        or (respect_colour and (p[_CLS] != nxt[_CLS]))):
                    out.append(p)
            old = out
            if len(old) <= budget:
                break
        if len(old) > budget:  # every point a line of its own: the oldest go
            old = old[len(old) - budget:]
            if old:
                old[0][_BRK] = True
        self._points = old + recent
        self._version += 1

    def _mark_visited(self, lat: float, lon: float, seq: int) -> None:
        if not self.targets:
            return
        dlat = VISIT_RADIUS_M / 111_000.0 * 1.5
        dlon = dlat / max(0.01, math.cos(math.radians(lat)))
        for i, tg in enumerate(self.targets):
            if (i not in self._visited and abs(tg.lat - lat) < dlat and abs(tg.lon - lon) < dlon
                    and haversine_m(lat, lon, tg.lat, tg.lon) <= VISIT_RADIUS_M):
                self._visited.add(i)
                self._visited_seq = seq

    def add_history(self, samples: Iterable[dict]) -> int:
        """Put earlier samples of today (from the journal, older than every live one) before the
        live ones; pages reload the whole track. Returns how many were taken in."""
        older = Snapshot(self.targets, max_points=self.max_points, keep_recent=self.keep_recent)
        n = 0
        for sample in samples:
            older._add(sample, live=False)
            n += 1
        if not n:
            return 0
        with self._lock:
            for p in older._points:
                p[_ID] = p[_ID] - older._next_id  # negative ids: never those of live points
                p[_SEQ] = 0
            if self._points:
                first, last_old = self._points[0], older._points[-1] if older._points else None
                if last_old is not None:
                    gap = (first[_T] - last_old[_T]) if first[_T] and last_old[_T] else 0.0
                    first[_BRK] = first[_BRK] or gap > BREAK_GAP_S or haversine_m(
                        last_old[_LAT], last_old[_LON], first[_LAT], first[_LON]) > BREAK_JUMP_M
            self._points = older._points + self._points
            while len(self._points) > self.max_points:
                self._thin()
            for key, value in older.counts.items():
                self.counts[key] += value
            if older._visited - self._visited:
                self._visited |= older._visited
                self._visited_seq = self.seq
            if self._last_speed is None:
                self._last_speed = older._last_speed
            self._version += 1
        return n

    # -- reads (server threads) ---------------------------------------------------------------

    def state(self, since: int = -1, gen: str = "") -> dict:
        """What changed since sequence number ``since`` of generation ``gen`` (all when either is
        not the current one): the page's one request."""
        with self._lock:
            full = gen != self.gen or since < 0 or since > self.seq
            if full:
                pts = self._points
            else:
                pts = self._points[bisect.bisect_right(self._points, since, key=lambda p: p[_SEQ]):]
            track = [[p[_ID], p[_LAT], p[_LON], dict(p[_CLS]), 1 if p[_BRK] else 0] for p in pts]
            fix = dict(self._last_fix) if self._last_fix else None
            fix_now = self._fix_now
            signals = [dict(s) for s in self._last_by_op.values()]
            speed = dict(self._last_speed) if self._last_speed else None
            counts = dict(self.counts)
            visited = set(self._visited)
            send_visited = full or self._visited_seq > since
            seq, gen_now = self.seq, self.gen
        now = time.time()
        for item in [*signals, *(x for x in (fix, speed) if x)]:
            t = item.pop("t", None)
            item["age_s"] = None if t is None else round(max(0.0, now - t), 1)
        if fix is not None:
            fix["current"] = fix_now
        out = {"seq": seq, "gen": gen_now, "full": full, "track": track, "fix": fix,
               "signals": sorted(signals, key=lambda s: (s["operator"] is not None, s["operator"] or "")),
               "speed": speed, "counts": counts, "nearest": self._nearest(fix, visited),
               "targets_total": len(self.targets), "targets_visited": len(visited)}
        if send_visited:
            out["visited"] = sorted(visited)
        if full:
            out["targets"] = [[t.name, t.lat, t.lon] for t in self.targets]
            out["targets_file"] = self.targets_file
            out["targets_error"] = self.targets_error
        return out

    def _nearest(self, fix: dict | None, visited: set[int]) -> dict | None:
        if fix is None or not self.targets:
            return None
        best, best_m = None, math.inf
        for i, tg in enumerate(self.targets):
            if i in visited:
                continue
            d = haversine_m(fix["lat"], fix["lon"], tg.lat, tg.lon)
            if d < best_m:
                best, best_m = i, d
        if best is None:
            return None
        tg = self.targets[best]
        b = bearing_deg(fix["lat"], fix["lon"], tg.lat, tg.lon)
        return {"index": best, "name": tg.name, "lat": tg.lat, "lon": tg.lon, "distance_m": round(best_m, 1),
                "bearing_deg": round(b, 1), "direction": compass(b)}


def read_today(path: str | Path, end_offset: int, *, day_start_s: float | None = None,
               max_bytes: int = MAX_PRELOAD_BYTES) -> list[dict]:
    """Today's lines of a journal (local time), up to byte ``end_offset`` (where this run began
    writing), reading at most ``max_bytes`` of its end. Unreadable lines are passed over: the
    journal is the merge's business, this only draws a track."""
    if day_start_s is None:
        lt = time.localtime()
        day_start_s = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    start = max(0, end_offset - max_bytes)
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end_offset - start)
    except OSError:
        return []
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # cut in the middle
    out = []
    for raw in reversed(lines):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        t = _epoch(obj.get("time")) if isinstance(obj, dict) else None
        if t is None:
            continue
        if t < day_start_s:
            break
        out.append(obj)
    out.reverse()
    return out


# ---------------------------------------------------------------------------------------------
# The page and the server


def page_html() -> bytes:
    """The companion page: one HTML document with Leaflet, its styles and its script inlined."""
    from surveyor.leaflet import leaflet_assets

    base = resources.files("surveyor.acquire").joinpath(STATIC)
    html = base.joinpath(PAGE).read_text(encoding="utf-8")
    script = base.joinpath(SCRIPT).read_text(encoding="utf-8")
    js, css = leaflet_assets()
    config = {"poll_ms": POLL_MS, "classes": [{"key": k, "label": lab, "colour": c, "means": m}
                                              for k, lab, c, m in SIGNAL_CLASSES]}
    config_js = json.dumps(config).replace("</", "<\\/")
    parts = {"/*LEAFLET_CSS*/": css, "/*LEAFLET_JS*/": js, "/*CONFIG*/": config_js,
             "/*COMPANION_JS*/": script.replace("</script", "<\\/script")}
    for marker, value in parts.items():
        head, sep, tail = html.partition(marker)
        if not sep:
            raise RuntimeError(f"{PAGE} lacks {marker}")
        html = head + value + tail  # partition: no marker inside the inserted text is touched
    return html.encode("utf-8")


# The page may run its own inline script and styles and talk to its own origin; nothing else.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def host_allowed(host: str | None) -> bool:
    """Requests must name the server by IP address or ``localhost``: a web site that resolves its
    own name to 127.0.0.1 (DNS rebinding) sends its own name and is refused."""
    if not host:
        return True  # not a browser (browsers always send Host)
    name = host.strip()
    if name.startswith("["):
        name = name[1:name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name.lower() in ("localhost", "localhost."):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a sleeping phone's kept-alive connection must not hold up the exit

    def handle_error(self, request, client_address) -> None:
        # A browser killed mid-answer, a phone that slept: a connection's end, never the logger's.
        log.debug("companion: connection from %s ended with an error", client_address, exc_info=True)


class CompanionServer:
    """The companion page and its JSON on ``http://BIND:PORT``, on a daemon thread.

    Raises
    ------
    CompanionError
        The port is in use or the address cannot be bound (the message names the port and
        ``--web-port``).
    """

    def __init__(self, snapshot: Snapshot, *, bind: str = DEFAULT_BIND, port: int = DEFAULT_PORT):
        self.snapshot = snapshot
        try:
            page = page_html()
        except ModuleNotFoundError as exc:
            raise CompanionError(f"Field companion not started: {exc.name} is not installed. "
                                 "Logging goes on without the page.",
                                 fix="Install it: pip install django-js-lib-leaflet") from None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "surveyor"
            sys_version = ""
            timeout = 120  # an idle kept-alive connection (a tab gone to sleep) frees its thread

            def log_message(self, fmt, *args) -> None:
                log.debug("companion: " + fmt, *args)

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

            def _answer(self, *, head: bool) -> None:
                if not host_allowed(self.headers.get("Host")):
                    self._send(421, b"Open the page as http://127.0.0.1:PORT/\n", "text/plain", head)
                    return
                url = urlsplit(self.path)
                if url.path == "/":
                    self._send(200, page, "text/html; charset=utf-8", head, cache="no-cache")
                elif url.path == "/api/state":
                    q = parse_qs(url.query)
                    try:
                        since = int(q.get("since", ["-1"])[0])
                    except ValueError:
                        since = -1
                    body = json.dumps(snapshot.state(since, q.get("gen", [""])[0]),
                                      separators=(",", ":"), allow_nan=False).encode("utf-8")
                    self._send(200, body, "application/json", head)
                else:
                    self._send(404, b"not found\n", "text/plain", head)

            def _send(self, code: int, body: bytes, ctype: str, head: bool, cache: str = "no-store") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", cache)
                self.send_header("Content-Security-Policy", CSP)
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        try:
            self.httpd = _Server((bind, port), Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CompanionError(
                    f"Field companion not started: port {port} on {bind} is already in use "
                    "(another `surveyor log --web`?). Logging goes on without the page.",
                    fix=f"Choose a free port with --web-port, e.g. --web-port {port + 1 if port < 65535 else 8766}."
                ) from None
            raise CompanionError(
                f"Field companion not started: cannot listen on {bind} port {port} ({exc.strerror or exc}). "
                "Logging goes on without the page.",
                fix="Check --web-bind (an address of this device, e.g. 127.0.0.1) and --web-port "
                    "(1024-65535).") from None
        self.port = self.httpd.server_address[1]
        shown = "127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind
        self.url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                       name="companion", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Companion:
    """What the logger holds while ``--web`` is on: the snapshot and (when it started) the server."""

    def __init__(self, *, bind: str = DEFAULT_BIND, port: int = DEFAULT_PORT, targets: str | None = None):
        found, error = [], None
        if targets:
            try:
                found = read_targets(targets)
            except InputError as exc:
                error = str(exc)
                log.warning("Targets not shown: %s Logging goes on.", error)
        self.snapshot = Snapshot(found, targets_file=Path(targets).name if targets else None, targets_error=error)
        self.server = CompanionServer(self.snapshot, bind=bind, port=port)  # CompanionError: the caller logs it
        self.url = self.server.url

    def add(self, sample: dict) -> None:
        try:
            self.snapshot.add(sample)
        except Exception:  # the page must never stop the logging
            log.debug("companion: sample not taken in", exc_info=True)

    def load_today(self, journal: str | Path, end_offset: int) -> threading.Thread:
        """Today's earlier samples of the journal, read on a thread of their own (logging does not
        wait for them)."""
        def work() -> None:
            try:
                n = self.snapshot.add_history(read_today(journal, end_offset))
                log.debug("companion: %d earlier samples of today from %s", n, journal)
            except Exception:
                log.debug("companion: today's earlier samples not read", exc_info=True)

        thread = threading.Thread(target=work, name="companion-history", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.server.close()
