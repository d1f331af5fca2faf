"""The command line in Bahasa Indonesia and English: every user-facing string of the command
modules (messages, prompts, help texts, click's own words) is in both `cli` catalogues, and the
language is chosen by SURVEYOR_CLI_LANGUAGE / SURVEYOR_LANGUAGE / survey.toml."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import surveyor
from surveyor.cli import COMMANDS
from surveyor.cli.texts import CLICK_MSGIDS, CLICK_PLURALS, help_texts
from surveyor.i18n import catalog, missing_messages, plural_catalog

PKG = Path(surveyor.__file__).parent
# Being changed in another line of work; they join this test by leaving this list.
NOT_YET = ("merge.py", "remove.py", "init.py", "sources.py")
# Command modules, plus the manual logger's prompts.
SOURCES = [p for p in sorted((PKG / "cli").glob("*.py")) if p.name not in NOT_YET] + [PKG / "acquire" / "signal.py"]


def literal_msgids(path: Path) -> list[str]:
    """First arguments of _(), N_(), ngettext() (both forms) and self._() that are string literals."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in ("_", "N_", "ngettext") and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            found.append(node.args[0].value)
    return found


def command_help_texts() -> list[str]:
    texts = []
    for name, (module, short) in COMMANDS.items():
        if f"{module.rsplit('.', 1)[1]}.py" in NOT_YET:
            continue
        texts.append(short)
        texts += help_texts(importlib.import_module(module).command)
    from surveyor.cli import cli

    texts += [cli.help] + [p.help for p in cli.params if getattr(p, "help", None)]
    return texts


def all_msgids() -> list[str]:
    ids = [m for path in SOURCES for m in literal_msgids(path)]
    ids += command_help_texts() + list(CLICK_MSGIDS)
    return list(dict.fromkeys(ids))


def test_the_scan_finds_messages_help_and_prompts():
    ids = all_msgids()
    assert len(ids) > 150
    assert "Bars 0-4, or n for no service" in ids and "Show this message and exit." in ids
    assert any(t.startswith("Log signal, speed tests and GPS") for t in ids)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_user_facing_string_is_in_the_catalogue(lang):
    assert missing_messages(lang, "cli", all_msgids()) == []


def test_click_plurals_have_both_forms():
    for lang, need in (("id", 1), ("en", 2)):
        forms = plural_catalog(lang, "cli")
        for singular in CLICK_PLURALS:
            assert len([f for f in forms.get(singular, []) if f]) >= need, (lang, singular)


def test_placeholders_survive_translation():
    table = catalog("id", "cli")
    for msgid in all_msgids():
        if msgid in table:
            assert set(re.findall(r"\{\w*[^{}]*\}", msgid)) == set(re.findall(r"\{\w*[^{}]*\}", table[msgid])), msgid


def test_indonesian_is_really_translated():
    table = catalog("id", "cli")
    same = [m for m, s in table.items() if m == s and re.search(r"[a-z]{4,} [a-z]{4,} [a-z]{4,}", m)]
    assert len(same) < 5, same


def test_language_from_environment_and_survey_toml(tmp_path, monkeypatch, invoke):
    monkeypatch.delenv("SURVEYOR_CLI_LANGUAGE", raising=False)
    monkeypatch.delenv("SURVEYOR_LANGUAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    r = invoke("status", "--help")
    assert r.exit_code == 0 and "Penggunaan:" in r.output and "Opsi" in r.output   # Indonesian by default
    assert "Tampilkan pesan ini lalu keluar." in r.output
    (tmp_path / "survey.toml").write_text('[survey]\nlanguage = "en"\n', encoding="utf-8")
    r = invoke("status", "--help")
    assert "Usage:" in r.output and "Show samples per operator" in r.output
    monkeypatch.setenv("SURVEYOR_LANGUAGE", "id")
    r = invoke("status", "--help")
    assert "Penggunaan:" in r.output
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "en")
    assert "Usage:" in invoke("--help").output


def test_messages_and_usage_errors_in_indonesian(tmp_path, monkeypatch, invoke):
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "id")
    monkeypatch.chdir(tmp_path)
    r = invoke("status")
    assert r.exit_code == 1 and "Tidak ada survei di sini" in r.stderr and "surveyor init" in r.stderr
    r = invoke("export")
    assert r.exit_code == 2 and "Kurang opsi '--out'" in r.stderr
    r = invoke("revisit", "--format", "kml")
    assert r.exit_code == 2 and "bukan salah satu dari" in r.stderr


EXPORT_SOURCES = sorted((PKG / "export").glob("*.py")) + [PKG / "outputs" / "zones.py", PKG / "app" / "package.py"]


def test_sheet_kml_and_revisit_words_are_in_the_export_catalogues():
    ids = list(dict.fromkeys(m for path in EXPORT_SOURCES for m in literal_msgids(path)))
    assert len(ids) > 50 and "Evidence" in ids and "{n} more check" in ids
    for lang in ("id", "en"):
        assert missing_messages(lang, "export", ids) == [], lang
