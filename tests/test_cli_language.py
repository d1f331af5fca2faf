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

from helpers import journal_sample, walk_rows, write_gnettrack, write_journal

PKG = Path(surveyor.__file__).parent
# Command modules, plus the manual logger's prompts.
SOURCES = sorted((PKG / "cli").glob("*.py")) + [PKG / "acquire" / "signal.py"]


# Calls whose argument at this position is a msgid: _(), N_(), ngettext() and self._() take it
# first; format_count(n, singular, plural, ...) and the commands' _count(n, singular, plural) second.
MSGID_ARG = {"_": 0, "N_": 0, "ngettext": 0, "format_count": 1, "_count": 1}


def literal_msgids(path: Path) -> list[str]:
    """The msgids given as string literals to the calls of :data:`MSGID_ARG`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        at = MSGID_ARG.get(name)
        if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant) \
                and isinstance(node.args[at].value, str):
            found.append(node.args[at].value)
    return found


def command_help_texts() -> list[str]:
    texts = []
    for module, short in COMMANDS.values():
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


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{\w*[^{}]*\}", text))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_placeholders_survive_translation(lang):
    table, forms = catalog(lang, "cli"), plural_catalog(lang, "cli")
    for msgid in all_msgids():
        if table.get(msgid):
            assert placeholders(msgid) == placeholders(table[msgid]), msgid
        if msgid not in CLICK_PLURALS:  # click's plural forms name other placeholders ({possibilities})
            for form in forms.get(msgid, []):
                assert placeholders(msgid) == placeholders(form), (msgid, form)


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


# -- merge, sources, remove and init say what they did in the language of the run ----------------

@pytest.fixture
def language_restored():
    """Requested first, so it runs after monkeypatch's undo: the next test starts in the suite's language."""
    yield
    from surveyor.cli.texts import cli_language, use_language

    use_language(cli_language())


GPX_TRACK = """<?xml version="1.0"?>
<gpx version="1.1" creator="phone" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
<trkpt lat="-7.437" lon="109.858"><time>2026-07-14T00:59:59Z</time></trkpt>
<trkpt lat="-7.4371" lon="109.858"><time>2026-07-14T01:00:01Z</time></trkpt>
</trkseg></trk></gpx>
"""


def test_merge_and_sources_say_one_in_the_singular(tmp_path, invoke):
    db = str(tmp_path / "s.gpkg")
    sample = {k: v for k, v in journal_sample(0).items() if k not in ("lat", "lon")} | {"no_fix": True}
    j = write_journal(tmp_path / "nofix.jsonl", [sample])
    r = invoke("merge", str(j), "--db", db)
    assert r.exit_code == 0
    assert r.stdout == f"1 file, 1 row: 1 sample added, 0 duplicates, 0 quarantined -> {db}\n"
    assert f"{j} [journal]: 1 row, 1 added\n" in r.stderr
    assert "1 sample has no position yet (1 with no GPS track); no map shows it." in r.stderr
    gpx = tmp_path / "track.gpx"
    gpx.write_text(GPX_TRACK, encoding="utf-8")
    r = invoke("merge", str(gpx), "--db", db)
    assert r.stdout == f"1 file, 2 rows: 0 samples added, 0 duplicates, 0 quarantined, 2 GPS track points -> {db}\n"
    assert "Placed 1 sample without GPS from a track." in r.stderr
    r = invoke("sources", "--db", db)
    first, second = r.stdout.splitlines()[:2]
    assert first == f"{db}: 2 merged sources"
    assert re.fullmatch(re.escape(f"{j} [journal], merged ") + r"\S+: 1 row, 1 sample added", second), second
    r = invoke("remove", "--db", db, "--source", str(j), "--yes")
    assert r.stdout == f"Removed source {j} (1 merge) from {db}: 1 sample.\n"
    assert invoke("sources", "--db", db).stdout.startswith(f"{db}: 1 merged source\n")


def test_merge_sources_and_remove_in_indonesian(language_restored, tmp_path, monkeypatch, invoke):
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "id")
    walks = tmp_path / "walks"
    (walks / "maps").mkdir(parents=True)
    (walks / "maps" / "coverage.csv").write_text("an output, not a walk\n", encoding="utf-8")
    write_gnettrack(walks / "a.csv", walk_rows(1200))
    write_journal(walks / "b.jsonl", [journal_sample(100)], tail="not json\n")
    db = str(tmp_path / "s.gpkg")
    r = invoke("merge", str(walks), "--db", db)
    assert r.exit_code == 0, r.stderr
    # Numbers as Indonesian writes them, one noun form whatever the number.
    assert r.stdout == f"2 berkas, 1.202 baris: 1.201 sampel ditambahkan, 0 duplikat, 1 dikarantina -> {db}\n"
    assert f"{walks / 'a.csv'} [gnettrack]: 1.200 baris, 1.200 ditambahkan\n" in r.stderr
    assert "  kolom yang tidak dipakai: CQI" in r.stderr
    assert "Dikarantina menurut alasan: parse_error 1 (lihat lapisan quarantine)" in r.stderr
    # The library's own reason stays English (not translated yet); the sentence around it is Indonesian.
    assert f"Dilewati {walks / 'maps'}: a folder surveyor writes its outputs into." in r.stderr
    r = invoke("merge", str(walks), "--db", db)
    assert r.stdout == f"2 berkas sudah pernah digabungkan, tidak ada yang baru -> {db}\n"
    r = invoke("sources", "--db", db)
    assert r.stdout.startswith(f"{db}: 2 sumber yang sudah digabungkan\n")
    assert ": 1.200 baris, 1.200 sampel ditambahkan\n" in r.stdout
    assert f"    hapus: surveyor remove --source {walks / 'a.csv'} --db {db}\n" in r.stdout
    r = invoke("remove", "--db", db, "--source", str(walks), input="n\n")
    assert r.exit_code == 0 and f"Hapus sumber {walks} dari {db}? (salinan cadangan disimpan)" in r.stderr
    assert "Tidak ada yang dihapus." in r.stderr
    r = invoke("remove", "--db", db)
    assert r.exit_code == 2 and "Berikan tepat satu dari --source, --session atau --device" in r.stderr
    r = invoke("remove", "--db", db, "--source", str(walks), "--yes")
    assert r.stdout == f"Telah dihapus sumber {walks} (2 penggabungan) dari {db}: 1.201 sampel, 1 baris karantina.\n"
    assert "Salinan basis data sebelum penghapusan disimpan di " in r.stderr
    r = invoke("sources", "--db", db)
    assert r.stderr == f"{db}: belum ada yang digabungkan (`surveyor merge BERKAS`).\n"
    r = invoke("merge", str(tmp_path / "nope.csv"), "--db", db)
    assert r.exit_code == 2 and f"berkas atau folder tidak ada: {tmp_path / 'nope.csv'}. Periksa jalurnya." in r.stderr
    r = invoke("merge", str(walks), "--map", "Signal", "--db", db)
    assert r.exit_code == 2 and "'Signal' tidak berbentuk COLUMN=FIELD" in r.stderr


def test_a_file_merge_cannot_read_is_reported_in_the_language_of_the_run(language_restored, tmp_path, monkeypatch,
                                                                        invoke):
    bad = tmp_path / "bad.csv"
    bad.write_text("just,some\ncolumns,here\n", encoding="utf-8")
    db = str(tmp_path / "s.gpkg")
    english = invoke("merge", str(bad), "--db", db)
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "id")
    r = invoke("merge", str(bad), "--db", db)
    assert english.exit_code == r.exit_code == 1
    message = next(line for line in english.stderr.splitlines() if line.startswith("Error: "))[len("Error: "):]
    assert f"Galat: {message}" in r.stderr   # the library's message (English for now), the CLI's word translated


def test_init_prints_the_next_steps_on_stderr(tmp_path, monkeypatch, invoke):
    monkeypatch.chdir(tmp_path)
    r = invoke("init", "village")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [str(Path("village") / p) for p in
                                     ("survey.toml", "survey.gpkg", "samples", "maps", "reports")]
    steps = r.stderr.splitlines()
    walks = "  Put the walks into samples/: the journals of `surveyor log`, the exports of G-NetTrack, Tower " \
            "Collector or Ookla, GPX tracks."
    assert steps[:3] == ["Next steps:", "  cd village", walks]
    commands = [line.split("#")[0].strip() for line in steps if "   # " in line]
    assert commands == ["surveyor merge samples/", "surveyor analyze", "surveyor map", "surveyor report"]
    assert "`surveyor basemap fetch`" in steps[-1] and "`surveyor dem import FILE...`" in steps[-1]
    r = invoke("-q", "init", "quiet")
    assert r.exit_code == 0 and r.stderr == "" and len(r.stdout.splitlines()) == 5
    monkeypatch.chdir(tmp_path / "village")   # started where it is: nothing to cd into
    r = invoke("init", "--overwrite")
    assert r.exit_code == 0 and "Next steps:\n  Put the walks into samples/" in r.stderr and "cd " not in r.stderr


def test_init_says_the_next_steps_in_the_language_of_the_new_survey(language_restored, tmp_path, monkeypatch,
                                                                    invoke):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SURVEYOR_CLI_LANGUAGE", raising=False)
    monkeypatch.delenv("SURVEYOR_LANGUAGE", raising=False)
    r = invoke("init", "desa")   # the survey's own default: Indonesian
    assert r.exit_code == 0 and r.stderr.startswith("Langkah berikutnya:\n  cd desa\n  Simpan hasil jalan survei di "
                                                    "folder samples/")
    assert "surveyor merge samples/   # gabungkan hasil semua relawan ke survey.gpkg" in r.stderr
    r = invoke("init", "village", "--lang", "EN")   # chosen for the survey (any case)
    assert r.exit_code == 0 and r.stderr.startswith("Next steps:\n  cd village\n")
    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", "id")   # the command line's own choice comes first
    r = invoke("init", "village2", "--lang", "en")
    assert r.stderr.startswith("Langkah berikutnya:\n")
    r = invoke("init", "village2")   # a survey is there already: the library's refusal, the CLI's word
    assert r.exit_code == 1 and r.stderr.startswith("Galat: ") and "Next steps" not in r.stderr
