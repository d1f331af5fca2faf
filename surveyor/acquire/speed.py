"""Speed tests for the logger: speedtest.net and Speedtest Mini (through speedtest-cli's library)
and a plain capped HTTP download/upload against any server.

Every test returns a :class:`SpeedResult`, never raises: a test that cannot connect, times out or
gets HTTP errors is a ``test: failed`` sample with the error, because a failed test at a spot is
evidence. Every result records ``bytes_used`` (payload bytes downloaded and uploaded, plus the
speedtest.net configuration), because volunteers pay for prepaid data, and every test stops at the
``max_bytes`` cap.

Latency: speedtest-cli's ``get_best_server`` divides the sum of three round trips by six, so its
ping is half the real round-trip time. We do not use it: :func:`measure_latency_ms` times three
requests on an already open (keep-alive) connection and reports their median, one real round trip
plus server time, which is what other speed-test apps call ping.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlsplit

from surveyor.errors import InvalidRequest

DEFAULT_MAX_MB = 5.0
DEFAULT_TIMEOUT_S = 15.0
# Each direction of a test runs at most this long (speedtest.net's own default is 10 s).
DEFAULT_LENGTH_S = 5.0
BYTES_PER_MB = 1_000_000  # operators count prepaid quota in decimal megabytes
# Share of the byte cap for the download; the rest is for the upload.
DOWNLOAD_SHARE = 2 / 3
# Sizes of speedtest.net's randomNxN.jpg files (bytes), used to plan a test that fits the cap.
SPEEDTEST_JPG_BYTES = {350: 245388, 500: 505544, 750: 1118012, 1000: 1986284, 1500: 4468241,
                       2000: 7907740, 2500: 12407926, 3000: 17816816, 3500: 24262167, 4000: 31625365}
# speedtest-cli's upload sizes, without 65536: its pre-allocated body for that size is 7 bytes
# shorter than the Content-Length it sends (36 * round(65536 / 36) < 65536 - 9), so the server
# waits for bytes that never come and the upload stalls until the test length runs out.
SPEEDTEST_UPLOAD_SIZES = (32768, 131072, 262144, 524288, 1048576)


@dataclass
class SpeedResult:
    """One speed test as journal fields (``kind: speed``)."""

    test: str
    download_mbps: float | None = None
    upload_mbps: float | None = None
    latency_ms: float | None = None
    test_error: str | None = None
    test_server: str | None = None
    bytes_used: int = 0

    def fields(self) -> dict:
        out = {"kind": "speed", "test": self.test, "download_mbps": _r(self.download_mbps),
               "upload_mbps": _r(self.upload_mbps), "latency_ms": _r(self.latency_ms, 1),
               "test_error": self.test_error, "test_server": self.test_server,
               "bytes_used": int(self.bytes_used)}
        return {k: v for k, v in out.items() if v is not None}


def _r(v, nd=3):
    return None if v is None else round(float(v), nd)


class Meter:
    """Counts bytes and says when to stop: the cap is reached, the deadline passed or the logger
    is stopping. Offers ``isSet()`` so speedtest-cli's threads take it as their shutdown event."""

    def __init__(self, max_bytes: int, deadline: float, cancel: threading.Event | None = None):
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.cancel = cancel or threading.Event()
        self.bytes = 0
        self.capped = False
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.bytes += n
            if self.bytes >= self.max_bytes:
                self.capped = True

    def isSet(self) -> bool:  # speedtest-cli's name
        return self.capped or self.cancel.is_set() or time.monotonic() > self.deadline

    is_set = isSet

    def set(self) -> None:
        self.cancel.set()


class _CountingResponse:
    def __init__(self, resp, meter: Meter):
        self._resp, self._meter = resp, meter

    def read(self, *args):
        data = self._resp.read(*args)
        self._meter.add(len(data))
        return data

    def __getattr__(self, name):
        return getattr(self._resp, name)


class _CountingOpener:
    """Wraps speedtest-cli's opener so every response body is counted against the cap."""

    def __init__(self, opener, meter: Meter):
        self._opener, self._meter = opener, meter

    def open(self, *args, **kwargs):
        return _CountingResponse(self._opener.open(*args, **kwargs), self._meter)

    def __getattr__(self, name):
        return getattr(self._opener, name)


def short_plan(max_bytes: int, length_s: float) -> dict:
    """speedtest-cli config for the shortest test within ``max_bytes``: one connection each way
    (like ``--single``), one request per size, smallest sizes first, ``length_s`` per direction."""
    budget_dl = max_bytes * DOWNLOAD_SHARE
    dl, total = [], 0
    for size, nbytes in SPEEDTEST_JPG_BYTES.items():
        if total + nbytes > budget_dl:
            break
        dl.append(size)
        total += nbytes
    up, total = [], 0
    for size in SPEEDTEST_UPLOAD_SIZES:
        if total + size > max_bytes - budget_dl:
            break
        up.append(size)
        total += size
    # A cap too small for even the smallest file still tries one; the meter stops it at the cap.
    return {"sizes": {"download": dl or [350], "upload": up or [32768]},
            "counts": {"download": 1, "upload": 1},
            "threads": {"download": 1, "upload": 1},
            "length": {"download": length_s, "upload": length_s},
            "upload_max": len(up or [32768])}


def measure_latency_ms(url: str, *, method: str = "GET", timeout_s: float = 5.0, n: int = 3,
                       meter: Meter | None = None, strict: bool = False) -> float | None:
    """Median round trip (ms) of ``n`` requests on one kept-alive connection, after a warm-up
    request that pays for the TCP (and TLS) handshake. None when the server does not answer 2xx,
    or with ``strict`` the error itself (refused, timed out, HTTP 500), to be recorded."""
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.netloc, timeout=timeout_s)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    times = []
    try:
        for i in range(n + 1):
            start = time.perf_counter()
            conn.request(method, path, headers={"Cache-Control": "no-cache"})
            resp = conn.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - start
            if meter is not None:
                meter.add(len(body))
            if not 200 <= resp.status < 300:
                if strict:
                    raise urllib.error.HTTPError(url, resp.status, resp.reason, resp.headers, None)
                return None
            if i:
                times.append(elapsed * 1000.0)
    except (OSError, http.client.HTTPException):
        if strict:
            raise
        return None
    finally:
        conn.close()
    return statistics.median(times) if times else None


def _err(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, urllib.error.HTTPError):
        text = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        text = f"cannot connect: {exc.reason}"
    return f"{type(exc).__name__}: {text}"[:300]


class SpeedTest:
    """Base: :meth:`run` never raises."""

    name = "none"

    def __init__(self, *, max_bytes: int = int(DEFAULT_MAX_MB * BYTES_PER_MB),
                 timeout_s: float = DEFAULT_TIMEOUT_S, length_s: float = DEFAULT_LENGTH_S):
        self.max_bytes, self.timeout_s, self.length_s = max_bytes, timeout_s, length_s

    def _meter(self, cancel) -> Meter:
        # Whole test: both directions, latency and set-up, with room for slow connects.
        return Meter(self.max_bytes, time.monotonic() + 2 * self.length_s + 3 * self.timeout_s, cancel)

    def run(self, cancel: threading.Event | None = None) -> SpeedResult:
        meter = self._meter(cancel)
        try:
            return self._run(meter)
        except Exception as exc:  # any failure is a failed test at this spot, never a crash
            return SpeedResult("failed", test_error=_err(exc), test_server=self.server_label(),
                               bytes_used=meter.bytes)

    def server_label(self) -> str | None:
        return None

    def _run(self, meter: Meter) -> SpeedResult:  # pragma: no cover - abstract
        raise NotImplementedError


class _LibraryTest(SpeedTest):
    """Shared speedtest-cli download/upload once the server is chosen."""

    def _speedtest(self, meter: Meter, *, mini: bool, secure: bool):
        import speedtest

        plan = short_plan(self.max_bytes, self.length_s)

        class _Speedtest(speedtest.Speedtest):
            _opener: Any  # speedtest-cli's URL opener, set in its __init__

            def get_config(inner):  # `inner`: `self` is the enclosing test
                inner._opener = _CountingOpener(inner._opener, meter)
                if mini:
                    # A Speedtest Mini server must work with no internet: skip speedtest.net's
                    # configuration and use the short plan with a placeholder client.
                    inner.config.update({"client": {"ip": "", "isp": "", "lat": "0", "lon": "0",
                                                    "country": "", "isprating": "", "rating": "",
                                                    "ispdlavg": "", "ispulavg": "", "loggedin": "0"},
                                         "ignore_servers": []})
                else:
                    super().get_config()
                inner.config.update(plan)
                return inner.config

        return _Speedtest(timeout=self.timeout_s, secure=secure, shutdown_event=meter)

    def _measure(self, st, meter: Meter, server: dict, label: str) -> SpeedResult:
        base = server["url"].rsplit("/", 1)[0]
        latency = measure_latency_ms(base + "/latency.txt", timeout_s=self.timeout_s, meter=meter)
        if latency is None:
            return SpeedResult("failed", test_error=f"the server does not answer {base}/latency.txt",
                               test_server=label, bytes_used=meter.bytes)
        start_bytes = meter.bytes
        down_bps = st.download()
        received = meter.bytes - start_bytes
        if received <= 0:
            return SpeedResult("failed", latency_ms=latency, test_server=label, bytes_used=meter.bytes,
                               test_error="download received no data (the server answered errors or nothing)")
        up_bps = st.upload(pre_allocate=True) if not meter.isSet() else None
        sent = st.results.bytes_sent or 0
        uploaded = bool(up_bps and sent)
        # A test whose upload did not run is not a passed test: the download is kept, the test failed.
        return SpeedResult("ok" if uploaded else "failed", download_mbps=down_bps / 1e6,
                           upload_mbps=(up_bps / 1e6) if uploaded and up_bps is not None else None,
                           latency_ms=latency, test_server=label, bytes_used=meter.bytes + sent,
                           test_error=None if uploaded else "upload sent no data")


class SpeedtestNet(_LibraryTest):
    """speedtest.net through speedtest-cli, over HTTPS (``secure``): plain-HTTP configuration
    fetches are refused by some networks (HTTP 403)."""

    name = "speedtest"

    def __init__(self, server_id: int | None = None, *, secure: bool = True, **kw):
        super().__init__(**kw)
        self.server_id, self.secure = server_id, secure
        self._label: str | None = f"speedtest.net #{server_id}" if server_id else "speedtest.net"

    def server_label(self) -> str | None:
        return self._label

    def _run(self, meter: Meter) -> SpeedResult:
        st = self._speedtest(meter, mini=False, secure=self.secure)
        st.get_servers([self.server_id] if self.server_id else [])
        best = st.get_best_server()  # its ping is halved; ours is measured in _measure
        self._label = f"{best.get('sponsor', '')} ({best.get('name', '')}) #{best.get('id', '')}".strip()
        return self._measure(st, meter, best, self._label)


class SpeedtestMini(_LibraryTest):
    """A Speedtest Mini server (e.g. on the village office's LAN): works with no internet."""

    name = "mini"

    def __init__(self, url: str, **kw):
        super().__init__(**kw)
        self.url = url

    def server_label(self) -> str | None:
        return self.url

    def _run(self, meter: Meter) -> SpeedResult:
        # speedtest-cli reports any failure to reach a Mini server as "Failed to connect"; probe
        # first so the journal says why (refused, timed out, HTTP 500).
        parts = urlsplit(self.url)
        root = self.url.rsplit("/", 1)[0] if "." in parts.path.rsplit("/", 1)[-1] else self.url.rstrip("/")
        measure_latency_ms(root + "/speedtest/latency.txt", timeout_s=self.timeout_s, n=0, meter=meter,
                           strict=True)
        st = self._speedtest(meter, mini=True, secure=self.url.startswith("https"))
        server = st.set_mini_server(self.url)[0]
        st._best.update(server)
        st.results.server = server
        return self._measure(st, meter, server, self.url)


class HttpTest(SpeedTest):
    """A capped download (GET) and upload (POST) against any HTTP(S) server.

    The download reads at most its share of the cap and ``length_s`` seconds; the upload posts
    the rest of the cap. A server that refuses uploads (405) still gives a download result.
    """

    name = "http"

    def __init__(self, url: str, **kw):
        super().__init__(**kw)
        self.url = url

    def server_label(self) -> str | None:
        return self.url

    def _run(self, meter: Meter) -> SpeedResult:
        latency = measure_latency_ms(self.url, method="HEAD", timeout_s=self.timeout_s, meter=meter)
        budget_dl = int(self.max_bytes * DOWNLOAD_SHARE)
        req = urllib.request.Request(self.url, headers={"Cache-Control": "no-cache"})
        got = 0
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
            start = time.perf_counter()
            stop_at = start + self.length_s
            while got < budget_dl and time.perf_counter() < stop_at and not meter.isSet():
                chunk = resp.read(min(65536, budget_dl - got))
                if not chunk:
                    break
                got += len(chunk)
                meter.add(len(chunk))
            elapsed = max(time.perf_counter() - start, 1e-6)
        if got == 0:
            return SpeedResult("failed", latency_ms=latency, test_server=self.url, bytes_used=meter.bytes,
                               test_error="download received no data")
        down_mbps = got * 8 / elapsed / 1e6
        up_mbps, up_err = None, None
        try:
            up_mbps = self._upload(meter, self.max_bytes - budget_dl)
        except Exception as exc:  # the download measured is kept; the test as a whole failed
            up_err = "upload: " + _err(exc)
        if up_mbps is None and up_err is None and self.max_bytes - budget_dl > 0:
            up_err = "upload: nothing was sent"
        return SpeedResult("failed" if up_err else "ok", download_mbps=down_mbps, upload_mbps=up_mbps,
                           latency_ms=latency, test_server=self.url, bytes_used=meter.bytes, test_error=up_err)

    def _upload(self, meter: Meter, budget: int) -> float | None:
        if budget <= 0:
            return None
        parts = urlsplit(self.url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.netloc, timeout=self.timeout_s)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        block = b"0" * 65536
        sent = 0
        try:
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Length", str(budget))
            conn.endheaders()
            start = time.perf_counter()
            stop_at = start + self.length_s
            while sent < budget and time.perf_counter() < stop_at and not meter.cancel.is_set():
                piece = block[: min(len(block), budget - sent)]
                conn.send(piece)
                sent += len(piece)
                meter.add(len(piece))
            elapsed = max(time.perf_counter() - start, 1e-6)
            if sent == budget:
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    raise urllib.error.HTTPError(self.url, resp.status, resp.reason, resp.headers, None)
        finally:
            conn.close()
        return sent * 8 / elapsed / 1e6


class _Limits(TypedDict):
    """What every speed test is bounded by (the keywords of :class:`SpeedTest`)."""

    max_bytes: int
    timeout_s: float
    length_s: float


def open_speedtest(spec: str | None, *, max_mb: float = DEFAULT_MAX_MB,
                   timeout_s: float = DEFAULT_TIMEOUT_S, length_s: float = DEFAULT_LENGTH_S) -> SpeedTest | None:
    """A speed test from its ``--speedtest`` SPEC, or None for ``none``."""
    spec = (spec or "none").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if max_mb <= 0:
        raise InvalidRequest(f"--max-mb {max_mb}: the cap must be positive.", fix="For example --max-mb 5.")
    kw: _Limits = {"max_bytes": int(max_mb * BYTES_PER_MB), "timeout_s": timeout_s, "length_s": length_s}
    if kind == "none":
        return None
    if kind == "speedtest":
        sid = None
        if arg:
            try:
                sid = int(arg)
            except ValueError:
                raise InvalidRequest(
                    f"--speedtest {spec}: the server ID must be a number.",
                    fix="List servers with `speedtest-cli --list`, then --speedtest speedtest:ID.") from None
        return SpeedtestNet(sid, **kw)
    if kind in ("mini", "http"):
        if not arg.startswith(("http://", "https://")):
            raise InvalidRequest(f"--speedtest {spec}: needs a URL.",
                             fix=f"For example --speedtest {kind}:http://192.168.1.10/"
                                 + ("" if kind == "mini" else "file.bin") + ".")
        return SpeedtestMini(arg, **kw) if kind == "mini" else HttpTest(arg, **kw)
    raise InvalidRequest(f"--speedtest {spec}: unknown speed test.",
                     fix="Use speedtest[:SERVER_ID], mini:URL, http:URL or none.")
