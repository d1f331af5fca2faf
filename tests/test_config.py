"""Settings: declared once (fields of Settings), documented from the fields, validated the same way
for survey.toml, SURVEYOR_* variables, command-line flags and Settings built in Python."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest

from surveyor import config
from surveyor.config import SETTINGS, ZONE_KEYS, ExclusionZone, Settings, check_value, load_settings, render_toml
from surveyor.errors import ConfigError, InvalidRequest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "surveyor"


def write(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "survey.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


@pytest.fixture(autouse=True)
def no_settings_in_environment(monkeypatch):
    for s in SETTINGS:
        monkeypatch.delenv(s.env, raising=False)


# -- declared once, documented from the declaration -------------------------------------------

def test_registry_is_the_fields_of_settings():
    import dataclasses

    fields = [f.name for f in dataclasses.fields(Settings) if f.name not in ("exclusion_zones", "config_path")]
    assert [s.name for s in SETTINGS] == fields
    defaults = Settings()
    for s in SETTINGS:
        assert getattr(defaults, s.name) == s.default
        assert s.section and s.help, s.name


def test_readme_table_lists_every_setting_with_its_default():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert config.settings_table() in readme, "README's settings table is stale: `python -m surveyor.config`"
    rows = {}
    for line in readme.splitlines():
        m = re.match(r"^\| (\S+) \| `(\w+)` \| (.*?) \|", line)
        if m:
            rows[(m.group(1).strip("`[]"), m.group(2))] = m.group(3)
    for s in SETTINGS + ZONE_KEYS:
        assert (s.section, s.name) in rows, f"{s.name} is missing from the README's settings table"
        shown = rows[(s.section, s.name)]
        if s.default is None:
            assert shown == "required"
        elif isinstance(s.default, tuple):
            assert shown == ", ".join(s.default)
        elif isinstance(s.default, str):
            assert shown == (f"`{s.default}`" if s.default else "empty")
        else:
            assert float(shown) == s.default, s.name


def _settings_read_in_package() -> set[str]:
    """Attributes read as ``<...>settings.NAME`` anywhere in the package except config.py."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "config.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value).endswith("settings"):
                names.add(node.attr)
    return names


@pytest.mark.parametrize("name", [s.name for s in SETTINGS] + ["exclusion_zones"])
def test_every_setting_is_read_somewhere_in_the_package(name):
    assert name in _settings_read_in_package(), f"setting {name} is documented but nothing reads it"


def test_template_holds_every_setting_and_reads_back_as_the_defaults(tmp_path):
    text = render_toml()
    for s in SETTINGS:
        assert re.search(rf"^{s.name} = ", text, re.M), s.name
    assert "confidence = 0.95" in text and "Allowed: more than 0 and less than 1" in text
    assert "Allowed: an IANA time zone name" in text
    assert load_settings(write(tmp_path, text)) == Settings()


def test_template_with_overrides_reads_back(tmp_path):
    cfg = write(tmp_path, render_toml({"name": 'Desa "Kutip"', "code": "33.01.01.2001", "language": "en"}))
    s = load_settings(cfg)
    assert (s.name, s.code, s.language) == ('Desa "Kutip"', "33.01.01.2001", "en")


def test_rules_recorded_with_an_analysis():
    rules = Settings().rules()
    assert rules["confidence"] == 0.95 and rules["operators"] == ["Telkomsel", "Indosat"]
    assert "name" not in rules and "language" not in rules and "exclusion_zones" not in rules


# -- one judge of values ------------------------------------------------------------------------

@pytest.mark.parametrize("name, good, bad", [
    ("confidence", [0.5, 0.999], [0.0, 1.0, 95.0, -0.1, math.nan, math.inf]),
    ("dead_lower_bound", [0.01], [0.0, 1.0]),
    ("covered_upper_bound", [0.2], [1.5]),
    ("min_sessions", [1, 7], [0, -1, 2.0, True]),
    ("min_effective_samples", [1], [0]),
    ("failed_tests_dead", [1], [0]),
    ("failed_tests_min_sessions", [1], [-3]),
    ("top_k", [1], [0]),
    ("rsrp_negative_below_dbm", [-156.0, -31.0, -115], [-157.0, -30.0, 20.0]),
    ("rsrp_excellent_dbm", [-85.0], [0.0]),
    ("weak_signal_median_dbm", [-105.0], [-200.0]),
    ("download_min_mbps", [0.1], [0.0, -5.0]),
    ("upload_min_mbps", [1.0], [0.0]),
    ("max_accuracy_m", [50.0], [0.0]),
    ("effective_min_distance_m", [20.0], [0.0]),
    ("radius_m", [1.0], [0.0, -1500.0]),
    ("min_session_gap_h", [0.0, 4.0], [-1.0]),
    ("effective_min_gap_s", [0.0], [-10.0]),
    ("manual_max_level", [0, 4], [5, -1]),
    ("resolution", [5, 12], [4, 13, 10.0]),
    ("language", ["id", "en"], ["fr", "ID", ""]),
    ("timezone", ["Asia/Jakarta", "UTC", "Asia/Makassar"], ["WIB", "", "Asia/Nowhere", "../etc/passwd"]),
    ("operators", [("Telkomsel",)], [(), ("",), "Telkomsel"]),
    ("name", ["Lipursari"], [7]),
])
def test_check_value(name, good, bad):
    for v in good:
        assert check_value(name, v) is None, (name, v)
    for v in bad:
        assert check_value(name, v), (name, v)


def test_settings_built_in_python_are_held_to_the_same_rules():
    with pytest.raises(ConfigError, match=r"confidence = 95\.0 is out of range; allowed: more than 0 and less than 1"):
        Settings(confidence=95.0)
    with pytest.raises(ConfigError, match="lat"):
        ExclusionZone(95.0, 10.0, 50.0)
    with pytest.raises(ConfigError, match="radius_m"):
        ExclusionZone(-7.4, 109.8, 0.0)
    assert ExclusionZone(-7.4, 109.8, 30.0, "home").radius_m == 30.0


# -- survey.toml ------------------------------------------------------------------------------

def test_every_problem_of_a_file_in_one_message_with_file_line_key_and_range(tmp_path):
    cfg = write(tmp_path, '[survey]\ntimezone = "WIB"\nlanguage = "fr"\noperators = []\n'
                          '[evidence]\nconfidence = 95.0\nmin_sessions = -1\nmin_walks = 3\n[grid]\nresolution = 13\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    msg = str(info.value)
    assert "7 problems" in msg
    for line, key, allowed in ((2, "timezone", "Asia/Jakarta (WIB)"), (3, "language", "id or en"),
                               (4, "operators", "one or more names"),
                               (6, "confidence", "more than 0 and less than 1"), (7, "min_sessions", "1 or more"),
                               (8, "min_walks", "min_effective_samples"), (10, "resolution", "5 to 12")):
        row = next(r for r in msg.splitlines() if key in r)
        assert f"{cfg}:{line}:" in row and allowed in row, row


def test_exclusion_zones_are_checked_each_with_its_line(tmp_path):
    cfg = write(tmp_path, "[[exclusion_zones]]\nlat = -7.4\nlon = 109.8\nradius_m = 50\n"
                          "[[exclusion_zones]]\nlat = -95\nlon = 200\nradius_m = 0\ncolour = 'red'\n"
                          "[[exclusion_zones]]\nlat = -7.4\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    msg = str(info.value)
    assert f"{cfg}:6: [[exclusion_zones]] number 2: lat = -95.0 is out of range; allowed: -90 to 90" in msg
    assert f"{cfg}:7:" in msg and "-180 to 180" in msg
    assert f"{cfg}:8:" in msg and "radius_m = 0.0 is out of range; allowed: more than 0" in msg
    assert f"{cfg}:9: unknown key 'colour'" in msg
    assert f"{cfg}:10: [[exclusion_zones]] number 3 has no lon, radius_m" in msg
    good = write(tmp_path, "[[exclusion_zones]]\nlat = -7\nlon = 109.8\nradius_m = 50\nlabel = 'home'\n")
    assert load_settings(good).exclusion_zones == (ExclusionZone(-7.0, 109.8, 50.0, "home"),)


def test_wrong_types_and_unknown_sections(tmp_path):
    cfg = write(tmp_path, '[evidence]\nmin_sessions = "two"\nconfidence = true\n[colours]\nred = 1\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    msg = str(info.value)
    assert f'{cfg}:2: [evidence] min_sessions = "two" is not a whole number' in msg
    assert f"{cfg}:3: [evidence] confidence = true is not a number" in msg
    assert f"{cfg}:4: unknown section or key 'colours'" in msg


def test_integers_are_numbers_and_lists_are_names(tmp_path):
    s = load_settings(write(tmp_path, "[sites]\nradius_m = 900\n[survey]\noperators = ['Tri']\n"))
    assert s.radius_m == 900.0 and isinstance(s.radius_m, float) and s.operators == ("Tri",)


def test_not_toml_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid TOML .*line 2"):
        load_settings(write(tmp_path, "[survey]\nlanguage = \n"))


# -- environment variables and flags ----------------------------------------------------------

def test_environment_overrides_the_file_and_is_checked_the_same_way(tmp_path, monkeypatch):
    cfg = write(tmp_path, '[survey]\nlanguage = "id"\n')
    monkeypatch.setenv("SURVEYOR_LANGUAGE", "en")
    monkeypatch.setenv("SURVEYOR_OPERATORS", "Telkomsel, XL")
    monkeypatch.setenv("SURVEYOR_MIN_SESSIONS", "3")
    s = load_settings(cfg)
    assert (s.language, s.operators, s.min_sessions) == ("en", ("Telkomsel", "XL"), 3)
    monkeypatch.setenv("SURVEYOR_CONFIDENCE", "95")
    monkeypatch.setenv("SURVEYOR_MIN_SESSIONS", "two")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    msg = str(info.value)
    assert "SURVEYOR_CONFIDENCE='95': confidence = 95.0 is out of range" in msg
    assert "SURVEYOR_MIN_SESSIONS='two': min_sessions = \"two\" is not a whole number" in msg
    assert "unset SURVEYOR_CONFIDENCE" in msg


def test_flags_override_everything_and_a_bad_one_is_a_usage_error(tmp_path, monkeypatch):
    cfg = write(tmp_path, "[grid]\nresolution = 9\n")
    monkeypatch.setenv("SURVEYOR_RESOLUTION", "8")
    assert load_settings(cfg).resolution == 8
    assert load_settings(cfg, flags={"resolution": ("--resolution", 11)}).resolution == 11
    assert load_settings(cfg, flags={"resolution": ("--resolution", None)}).resolution == 8
    with pytest.raises(InvalidRequest, match=r"--resolution 4: resolution is out of range; allowed: a whole number, "
                                             r"5 to 12"):
        load_settings(cfg, flags={"resolution": ("--resolution", 4)})


# -- every command, the same way --------------------------------------------------------------

BAD_FILES = {
    "confidence": ("[evidence]\n# the share of\n\nconfidence = 95.0\n", 4, "more than 0 and less than 1"),
    "min_sessions": ("[evidence]\nmin_sessions = -1\n", 2, "a whole number, 1 or more"),
    "timezone": ('[survey]\ntimezone = "WIB"\n', 2, "an IANA time zone name, e.g. Asia/Jakarta (WIB)"),
    "resolution": ("[grid]\nresolution = 3\n", 2, "5 to 12"),
    "rsrp_negative_below_dbm": ("[rules]\nrsrp_negative_below_dbm = 20\n", 2, "-156 to -31"),
    "radius_m": ("[[exclusion_zones]]\nlat = -7.4\nlon = 109.8\nradius_m = -5\n", 4, "more than 0"),
}

COMMANDS = {
    "analyze": lambda db, out: ["analyze", "--db", db],
    "map": lambda db, out: ["map", "--db", db, "--out", out + ".html"],
    "print": lambda db, out: ["print", "--db", db, "--out", out + ".pdf"],
    "report": lambda db, out: ["report", "--db", db, "--out", out + ".html"],
    "export": lambda db, out: ["export", "--db", db, "--out", out + ".geojson"],
    "merge": lambda db, out: ["merge", out + ".jsonl", "--db", db],
}


@pytest.mark.parametrize("key", list(BAD_FILES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_a_bad_setting_with_file_key_line_and_range(invoke, tmp_path, command, key):
    text, line, allowed = BAD_FILES[key]
    cfg = write(tmp_path, text)
    r = invoke(*COMMANDS[command](str(tmp_path / "survey.gpkg"), str(tmp_path / "out")), "--config", str(cfg))
    assert r.exit_code == 1, r.output
    assert f"{cfg}:{line}:" in r.stderr and key in r.stderr and allowed in r.stderr
    assert "Traceback" not in r.output and r.stdout == ""
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())  # nothing written


def test_a_bad_time_zone_in_the_file_stops_analyze_without_a_traceback(invoke, tmp_path, monkeypatch):
    """It used to crash inside the analysis with ZoneInfoNotFoundError."""
    write(tmp_path, '[area]\nname = "Lipursari"\n\n[survey]\ntimezone = "WIB"\n')
    monkeypatch.chdir(tmp_path)
    r = invoke("analyze")
    assert r.exit_code == 1
    assert "survey.toml:5: [survey] timezone = \"WIB\" is not an IANA time zone name" in r.stderr
    assert "Asia/Makassar (WITA)" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize("args, flag", [
    (["analyze", "--resolution", "4"], "--resolution 4"),
    (["analyze", "--resolution", "13"], "--resolution 13"),
    (["merge", "x.jsonl", "--tz", "WIB"], "--tz WIB"),
    (["map", "--lang", "fr"], "--lang fr"),
    (["print", "--lang", "fr"], "--lang fr"),
    (["report", "--lang", "de"], "--lang de"),
    (["init", "v", "--lang", "fr"], "--lang fr"),
    (["demo", "--out", "d", "--lang", "fr"], "--lang fr"),
])
def test_a_bad_flag_is_a_usage_error_worded_like_a_bad_file_value(invoke, tmp_path, monkeypatch, args, flag):
    monkeypatch.chdir(tmp_path)
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"Error: {flag}: ") and "allowed: " in r.stderr and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_a_bad_value_in_the_environment_stops_a_command(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SURVEYOR_DEAD_LOWER_BOUND", "50")
    r = invoke("analyze")
    assert r.exit_code == 1 and "SURVEYOR_DEAD_LOWER_BOUND='50'" in r.stderr and "less than 1" in r.stderr
