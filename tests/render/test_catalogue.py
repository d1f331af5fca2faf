"""Every msgid the map and print code uses is in both `map` catalogues (id, en)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import surveyor.render as render_pkg
from surveyor.geo.bearing import COMPASS_POINTS
from surveyor.i18n import catalog, missing_messages

SOURCES = ["style.py", "html_map.py", "print_map.py"]


def used_msgids() -> list[str]:
    """String literals passed to _() or N_() in the map/print modules."""
    found = []
    for name in SOURCES:
        tree = ast.parse((Path(render_pkg.__file__).parent / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append(node.args[0].value)
    return list(dict.fromkeys(found))


def test_scan_finds_the_messages():
    ids = used_msgids()
    assert len(ids) > 50 and "Legend" in ids and "Not surveyed" in ids


@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_msgid_is_missing(lang):
    ids = used_msgids() + list(COMPASS_POINTS)  # compass keys come from the dead_zones layer
    assert missing_messages(lang, "map", ids) == []


def test_placeholders_survive_translation():
    table = catalog("id", "map")
    for msgid in used_msgids():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", table[msgid])), msgid


def test_po_files_have_a_header():
    for lang in ("id", "en"):
        text = (Path(render_pkg.__file__).parent.parent / "i18n" / "locale" / lang / "LC_MESSAGES" / "map.po").read_text("utf-8")
        assert text.count('msgid ""\nmsgstr ""\n"Project-Id-Version: surveyor') == 1
        assert "Content-Type: text/plain; charset=utf-8" in text
