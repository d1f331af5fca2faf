"""The command line's rough edges, one test per item: the message and the exit code."""

from __future__ import annotations

import pandas as pd
import pytest
from analyse.conftest import make_db, walk


@pytest.fixture
def sessions_db(tmp_path):
    """Three walks: two phones that name themselves (one without a model), and an app file
    without a device, with a long session label."""
    a = walk(6, session="2026-07-14T01:00:00Z-walk-north-of-dusun-krajan-along-the-river", device="d1")
    b = walk(6, session="s2", device="d2", lat=-7.436)
    c = walk(6, session="file-3", device=None, lat=-7.435)
    a["device_model"] = "Redmi 9A"
    return make_db(tmp_path / "s.gpkg", pd.concat([a, b, c], ignore_index=True))


def test_wrong_folder_says_so_and_starts_nothing(tmp_path, monkeypatch, invoke):
    monkeypatch.chdir(tmp_path)
    for command in ("status", "analyze", "map", "report", "deadzones", "revisit", "package", "sources",
                    "remove --session s-1"):
        r = invoke(*command.split())
        assert r.exit_code == 1, (command, r.output)
        assert (f"No survey here (no survey.toml or survey.gpkg in {tmp_path}): cd into your survey folder, "
                "or start one with `surveyor init NAME`.") in r.stderr, command
        assert "Remove session" not in r.stderr  # said before asking anything
    assert list(tmp_path.iterdir()) == []  # no stray survey, no output folder
    r = invoke("status", "--db", str(tmp_path / "other.gpkg"))
    assert r.exit_code == 1 and "No geodatabase at" in r.stderr and "check --db" in r.stderr


def test_status_counts_sessions_honestly_without_nan(sessions_db, invoke):
    r = invoke("status", "--db", sessions_db)
    assert r.exit_code == 0, r.output
    assert "3 sessions, 2 devices named, 1 file without a device" in r.stdout
    assert "nan" not in r.stdout
    line = next(x for x in r.stdout.splitlines() if "walk-north" in x)
    label = line.split()[0]
    assert label.endswith("…") and len(label) <= 36
    # Cut where a word ends: what is left before the ellipsis is a prefix ending at a separator.
    full = "2026-07-14T01:00:00Z-walk-north-of-dusun-krajan-along-the-river"
    assert full.startswith(label[:-1]) and full[len(label) - 1] in "-_ "


@pytest.mark.parametrize("lang, text", [("en", "1 dead zone ("), ("id", "1 zona tanpa 4G layak (")])
def test_plural_forms(tmp_path, monkeypatch, invoke, lang, text):
    from analyse.test_cli import dead_and_covered

    monkeypatch.setenv("SURVEYOR_CLI_LANGUAGE", lang)
    db = make_db(tmp_path / "s.gpkg", dead_and_covered())
    r = invoke("analyze", "--db", db)
    assert r.exit_code == 0 and text in r.stdout
    assert ("1 dead zones" not in r.stdout) and ("1 site suggestions" not in r.stdout)


def test_defaults_shown_as_values_and_choices_case_insensitive(tmp_path, invoke):
    from analyse.test_cli import dead_and_covered

    r = invoke("status", "--help")
    assert "[env var: SURVEYOR_DB; default: survey.gpkg]" in " ".join(r.stdout.split())
    db = make_db(tmp_path / "s.gpkg", dead_and_covered())
    assert invoke("analyze", "--db", db).exit_code == 0
    r = invoke("deadzones", "--db", db, "--lang", "EN", "--format", "CSV")
    assert r.exit_code == 0 and r.stdout.startswith("zone_id,")
    r = invoke("revisit", "--db", db, "--format", "Table", "--lang", "ID")
    assert r.exit_code == 0


def test_unknown_operator_is_the_same_usage_error_everywhere(tmp_path, invoke):
    from analyse.test_cli import dead_and_covered

    db = make_db(tmp_path / "s.gpkg", dead_and_covered())
    assert invoke("analyze", "--db", db).exit_code == 0
    for args in (["deadzones"], ["revisit"], ["map", "--out", str(tmp_path / "m.html")],
                 ["print", "--out", str(tmp_path / "m.pdf")]):
        r = invoke(*args, "--db", db, "--operator", "Nokia")
        assert r.exit_code == 2, (args, r.output)
        assert "No analysed operator matches --operator 'Nokia'" in r.stderr and "Telkomsel" in r.stderr
    assert not (tmp_path / "m.html").exists() and not (tmp_path / "m.pdf").exists()


def test_every_command_that_reads_settings_takes_config(invoke):
    for command in ("analyze", "deadzones", "revisit", "map", "print", "report", "export", "package"):
        assert "--config" in invoke(command, "--help").stdout, command


def test_help_examples_name_no_real_looking_government_host(invoke):
    import re

    for command in ("push", "pull", "basemap", "log", "export", "package"):
        text = invoke(command, "--help").stdout
        assert not re.search(r"\.go\.id|kab\.go|10\.0\.0\.", text), command
