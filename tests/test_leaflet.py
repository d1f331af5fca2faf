"""surveyor.leaflet: Leaflet ready to inline, with the standard library only (the logger's page uses
it on a phone, and the coverage map)."""

from __future__ import annotations

import re
import subprocess
import sys

from surveyor.leaflet import leaflet_assets


def test_assets_are_self_contained():
    js, css = leaflet_assets()
    assert "L.version" in js or '"1.9.4"' in js
    assert "sourceMappingURL" not in js and "</script" not in js.lower()
    assert ".leaflet-container" in css
    # Every image inlined (old Internet Explorer's url(#default#VML) names no file).
    assert not re.search(r"url\(\s*['\"]?(?!data:|#)", css)
    assert css.count("url(data:image/png;base64,") >= 3


def test_imports_only_the_standard_library():
    code = ("import sys; before = set(sys.modules); import surveyor.leaflet as m; m.leaflet_assets(); "
            "print(sorted(n for n in set(sys.modules) - before if n.split('.')[0] not in sys.stdlib_module_names))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert set(eval(r.stdout)) <= {"surveyor", "surveyor.leaflet", "js_lib_leaflet"}
