"""Every user-facing string of the report and of the report/export commands is translated."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jinja2
from jinja2 import nodes

import surveyor
from surveyor.i18n import catalog, missing_messages

PKG = Path(surveyor.__file__).parent


def _template_ids() -> set[str]:
    env = jinja2.Environment()
    ids = set()
    for tpl in (PKG / "render" / "templates").glob("report*.j2"):
        for call in env.parse(tpl.read_text(encoding="utf-8")).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "_" and isinstance(call.args[0], nodes.Const):
                ids.add(call.args[0].value)
    return ids


def _code_ids(path: Path) -> set[str]:
    ids = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_" \
                and node.args and isinstance(node.args[0], ast.Constant):
            ids.add(node.args[0].value)
    return ids


def test_report_catalogues_hold_every_template_and_code_string():
    from surveyor.render.report import report_msgids

    ids = set(report_msgids())
    assert _template_ids() <= ids
    assert _code_ids(PKG / "render" / "report.py") <= ids
    assert len(ids) > 100
    for lang in ("id", "en"):
        assert missing_messages(lang, "report", sorted(ids)) == [], lang


def test_cli_catalogues_hold_the_command_messages():
    ids = _code_ids(PKG / "cli" / "report.py") | _code_ids(PKG / "cli" / "export.py")
    assert ids
    for lang in ("id", "en"):
        assert missing_messages(lang, "cli", sorted(ids)) == [], lang


def test_indonesian_is_really_translated():
    table = catalog("id", "report")
    assert table["Summary"] == "Ringkasan"
    same = [m for m, s in table.items() if m == s and re.search(r"[a-z]{4,} [a-z]{4,}", m)]
    assert len(same) < 5, same


def test_po_files_have_a_header_entry():
    for lang in ("id", "en"):
        for domain in ("report", "cli"):
            text = (PKG / "i18n" / "locale" / lang / "LC_MESSAGES" / f"{domain}.po").read_text("utf-8")
            assert text.split('msgid ""\nmsgstr ""\n', 1)[1].startswith('"Project-Id-Version:')
            assert "Content-Type: text/plain; charset=utf-8" in text


def test_every_count_of_the_report_has_its_plural_forms():
    from surveyor.render import words
    from surveyor.render.report import PLURALS

    for lang in ("id", "en"):
        assert {singular for singular, _plural in PLURALS} <= words.plural_msgids(lang, "report"), lang
    assert words.count("en", "report", "{n} house", "{n} houses", 1) == "1 house"
    assert words.count("en", "report", "{n} house", "{n} houses", 0) == "0 houses"
    assert words.count("id", "report", "{n} house", "{n} houses", 2) == "2 rumah"
