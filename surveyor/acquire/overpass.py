"""The Overpass API client of ``surveyor basemap fetch``: bytes in, bytes out, standard library only.

One query, once, when online: the OpenStreetMap elements the basemap needs inside a bounding box
(roads and paths, buildings, water, place names and public facilities), as Overpass JSON with the
member ways and nodes of everything selected. What the answer means is decided by
:mod:`surveyor.ingest.osm` and :mod:`surveyor.ingest.basemap`; this module only talks HTTP, and
turns what a server or the network can do wrong into one clear message each.

The public servers ask for a User-Agent that names the program, for one query at a time and for
no repeated queries: surveyor sends one query per ``basemap fetch`` and never retries on its own
(a 429 says to wait, and the user decides when).
"""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.parse
import urllib.request

from surveyor import __version__
from surveyor.errors import InvalidRequest, NetworkError

DEFAULT_URL = "https://overpass-api.de/api/interpreter"
USER_AGENT = f"surveyor/{__version__} (village connectivity survey; basemap fetch)"
DEFAULT_TIMEOUT_S = 180.0
# The server's own time limit (Overpass QL [timeout:]), a little under ours so that it gives up
# first and says so.
SERVER_TIMEOUT_S = 150

# The selectors of what the basemap keeps (see surveyor.ingest.basemap), per element type.
SELECTORS = (
    'way["highway"]',
    'nwr["building"]',
    'way["waterway"]',
    'nwr["natural"="water"]',
    'relation["waterway"="riverbank"]',
    'nwr["place"]',
    'nwr["amenity"~"^(school|kindergarten|college|university|clinic|doctors|hospital|place_of_worship|townhall)$"]',
    'nwr["healthcare"]',
    'nwr["office"="government"]',
)


def build_query(south: float, west: float, north: float, east: float, *,
                server_timeout_s: int = SERVER_TIMEOUT_S) -> str:
    """The Overpass QL query for a bounding box (degrees, EPSG:4326).

    ``out body`` gives the selected elements with their tags, ``>`` adds the ways and nodes they
    are made of, ``out skel qt`` those without tags (only what geometry needs).
    """
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise InvalidRequest(f"Not a bounding box: south {south}, west {west}, north {north}, east {east}.")
    bbox = f"{south:.6f},{west:.6f},{north:.6f},{east:.6f}"
    lines = [f"[out:json][timeout:{int(server_timeout_s)}];", "("]
    lines += [f"  {s}({bbox});" for s in SELECTORS]
    lines += [");", "out body;", ">;", "out skel qt;"]
    return "\n".join(lines) + "\n"


def _body_text(body: bytes, limit: int = 300) -> str:
    """The readable words of an error page (Overpass answers errors as small HTML pages)."""
    text = body.decode("utf-8", "replace")
    strong = re.findall(r"<strong[^>]*>(.*?)</strong>\s*(.*?)</p>", text, flags=re.S | re.I)
    if strong:
        text = " ".join(f"{a} {b}" for a, b in strong)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit] + ("..." if len(text) > limit else "")


def fetch(query: str, url: str = DEFAULT_URL, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> bytes:
    """POST ``query`` to the Overpass server at ``url``; the answer's bytes.

    Raises
    ------
    NetworkError
        The server cannot be reached, does not answer within ``timeout_s``, or answers with an HTTP
        error (429 too many requests, 504 overloaded, 400 a query it refuses, ...).
    InvalidRequest
        ``url`` is not an http(s) URL.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"--overpass-url {url!r} is not an http:// or https:// URL.",
                             fix=f"For example --overpass-url {DEFAULT_URL}")
    data = urllib.parse.urlencode({"data": query}).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "User-Agent": USER_AGENT, "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    again = ("Nothing was changed. Try again later, or another server with --overpass-url, or bring an "
             "extract on a USB stick and use `surveyor basemap import FILE`.")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        try:
            detail = _body_text(exc.read())
        except Exception:  # the body is only for the message
            detail = ""
        detail = f": {detail.rstrip('.')}" if detail else ""
        if exc.code == 429:
            raise NetworkError(f"The Overpass server at {url} refused the query: too many queries from this "
                               f"address (HTTP 429){detail}.", fix="Nothing was changed. Wait a few minutes before "
                               "trying again, or use another server (--overpass-url), or bring an extract on a USB "
                               "stick and use `surveyor basemap import FILE`.") from None
        if exc.code in (502, 503, 504):
            raise NetworkError(f"The Overpass server at {url} is overloaded or timed out (HTTP {exc.code} "
                               f"{exc.reason}){detail}.", fix=again) from None
        if exc.code == 400:
            raise NetworkError(f"The Overpass server at {url} refused the query (HTTP 400){detail}.",
                               fix="Check that --overpass-url is an Overpass API interpreter URL. " + again) from None
        raise NetworkError(f"The Overpass server at {url} answered HTTP {exc.code} {exc.reason}{detail}.",
                           fix=again) from None
    except TimeoutError:
        raise NetworkError(f"The Overpass server at {url} did not answer within {timeout_s:.0f} s.",
                           fix=again) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise NetworkError(f"The Overpass server at {url} did not answer within {timeout_s:.0f} s.",
                               fix=again) from None
        raise NetworkError(f"Cannot reach the Overpass server at {url} ({reason}).",
                           fix="Connect to the internet and try again, or bring an extract on a USB stick and "
                               "use `surveyor basemap import FILE`.") from None
    except (ConnectionError, OSError) as exc:
        raise NetworkError(f"The connection to the Overpass server at {url} broke ({exc}).", fix=again) from None
