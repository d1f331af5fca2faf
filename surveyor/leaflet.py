"""Leaflet 1.9.4, ready to inline into a page that must work with no network.

Both the interactive coverage map (a file sent around on WhatsApp) and the logger's field companion
(a page served on the phone itself) draw with Leaflet and must not fetch anything: the script and
stylesheet come from the ``django-js-lib-leaflet`` package (static files only, BSD-2-Clause, no
dependencies), read through :mod:`importlib.resources`, with the stylesheet's images turned into
``data:`` URIs. Standard library only, so the logger can use it on a phone without the geospatial
stack.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from importlib import resources

LEAFLET_PACKAGE = "js_lib_leaflet"
LEAFLET_DIR = ("static", "js_lib_leaflet")


@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """(javascript, css) of Leaflet 1.9.4 with every image inlined as a ``data:`` URI.

    Returns
    -------
    tuple of str
        The script, safe to put between ``<script>`` tags (no closing script tag inside, no
        source-map reference), and the stylesheet without any ``url(images/...)``.

    Raises
    ------
    ModuleNotFoundError
        When ``django-js-lib-leaflet`` is not installed.
    """
    base = resources.files(LEAFLET_PACKAGE).joinpath(*LEAFLET_DIR)
    js = base.joinpath("leaflet.js").read_text(encoding="utf-8")
    # The source map is only fetched by developer tools, but it is still a network reference.
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    css = base.joinpath("leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        name = match.group(1)
        data = base.joinpath("images", name).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

    css = re.sub(r"url\(\s*['\"]?images/([A-Za-z0-9_\-]+\.png)['\"]?\s*\)", inline, css)
    # Inline scripts must not contain a closing script tag.
    js = js.replace("</script", "<\\/script")
    return js, css
