"""``survey.toml`` -> frozen :class:`Settings` (defaults < file < environment < flags).

Every setting is registered once in :data:`SETTINGS` with its type, default, unit-carrying name
and source, so the commented ``survey.toml`` written by ``surveyor init``, validation messages and
the README's settings table all come from one place.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from surveyor.errors import ConfigError

CONFIG_NAME = "survey.toml"
DEFAULT_DB = "survey.gpkg"


@dataclass(frozen=True)
class Setting:
    section: str
    name: str
    type: type
    default: Any
    help: str
    source: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("area", "name", str, "Lipursari", "Village (desa) name shown on maps and reports."),
    Setting("area", "code", str, "33.07.05.2002", "Kemendagri village code."),
    Setting("area", "district", str, "Kecamatan Leksono, Kabupaten Wonosobo, Jawa Tengah",
            "Where the village is, for titles."),
    Setting("area", "boundary", str, "builtin:lipursari",
            "Village boundary: a GeoJSON file (relative to this file) or builtin:lipursari."),
    Setting("area", "dusun", str, "",
            "Optional GeoJSON of dusun (hamlet) polygons with a 'name' property; empty for none."),
    Setting("survey", "language", str, "id", "Language of maps and reports: id or en."),
    Setting("survey", "timezone", str, "Asia/Jakarta",
            "Time zone of app exports that write local time without a zone (WIB)."),
    Setting("survey", "operators", list, ["Telkomsel", "Indosat"], "Operators to analyse and map."),
    Setting("grid", "resolution", int, 10, "H3 resolution of coverage cells (10: edges about 66-76 m).",
            "FCC BDC mobile challenge uses H3 hexagons"),
    Setting("rules", "rsrp_negative_below_dbm", float, -115.0,
            "LTE RSRP below this is no usable 4G.", "RTR-NetTest / Android CellSignalStrengthLte"),
    Setting("rules", "rsrp_excellent_dbm", float, -85.0, "RSRP class bound: excellent at or above.",
            "RTR-NetTest classification"),
    Setting("rules", "rsrp_good_dbm", float, -95.0, "RSRP class bound: good at or above.",
            "RTR-NetTest classification"),
    Setting("rules", "rsrp_fair_dbm", float, -105.0, "RSRP class bound: fair at or above.",
            "RTR-NetTest / Android"),
    Setting("rules", "rsrp_poor_dbm", float, -115.0, "RSRP class bound: poor at or above; below is none.",
            "Android CellSignalStrengthLte"),
    Setting("rules", "weak_signal_median_dbm", float, -105.0,
            "Blank-spot sheet: 'sinyal lemah' when a cell's median RSRP is below this."),
    Setting("rules", "manual_max_level", int, 1, "A manual sample with this many bars or fewer is negative."),
    Setting("rules", "download_min_mbps", float, 5.0, "A speed test under this download fails.",
            "FCC BDC 4G floor 5/1 Mbit/s"),
    Setting("rules", "upload_min_mbps", float, 1.0, "A speed test under this upload fails.",
            "FCC BDC 4G floor 5/1 Mbit/s"),
    Setting("evidence", "min_effective_samples", int, 5, "Effective samples a cell needs to be judged."),
    Setting("evidence", "min_sessions", int, 2, "Sessions (visits) a cell needs to be judged.",
            "FCC BDC: tests on different occasions"),
    Setting("evidence", "min_session_gap_h", float, 4.0,
            "Two of those sessions must be at least this many hours apart.", "FCC BDC: at least 4 hours apart"),
    Setting("evidence", "effective_min_gap_s", float, 10.0,
            "Within a session a sample counts only this many seconds after the last counted one."),
    Setting("evidence", "effective_min_distance_m", float, 20.0,
            "... and this many metres from it."),
    Setting("evidence", "max_accuracy_m", float, 50.0,
            "Samples with GPS accuracy worse than this are left out.", "BNetzA Funkloch app: 50 m"),
    Setting("evidence", "confidence", float, 0.95, "One-sided Clopper-Pearson confidence level.",
            "ETSI TS 102 250-6 / ITU-T E.804"),
    Setting("evidence", "dead_lower_bound", float, 0.5,
            "Dead when the lower bound of the negative share exceeds this."),
    Setting("evidence", "covered_upper_bound", float, 0.2,
            "Covered when the upper bound of the negative share is under this."),
    Setting("evidence", "failed_tests_dead", int, 3,
            "Failed speed tests (with no passed test) that make a cell dead on their own."),
    Setting("evidence", "failed_tests_min_sessions", int, 2, "... from at least this many sessions."),
    Setting("sites", "radius_m", float, 1500.0,
            "Radius a new site is assumed to cover, for site suggestions (not a propagation model)."),
    Setting("sites", "top_k", int, 5, "How many site suggestions per operator."),
)

# exclusion_zones is an array of tables: [[exclusion_zones]] lat, lon, radius_m, label.
EXCLUSION_KEYS = {"lat": float, "lon": float, "radius_m": float, "label": str}


@dataclass(frozen=True)
class ExclusionZone:
    lat: float
    lon: float
    radius_m: float
    label: str = ""


@dataclass(frozen=True)
class Settings:
    """All settings, flattened as ``section_name`` is not needed: names are unique across sections."""

    name: str = "Lipursari"
    code: str = "33.07.05.2002"
    district: str = "Kecamatan Leksono, Kabupaten Wonosobo, Jawa Tengah"
    boundary: str = "builtin:lipursari"
    dusun: str = ""
    language: str = "id"
    timezone: str = "Asia/Jakarta"
    operators: tuple[str, ...] = ("Telkomsel", "Indosat")
    resolution: int = 10
    rsrp_negative_below_dbm: float = -115.0
    rsrp_excellent_dbm: float = -85.0
    rsrp_good_dbm: float = -95.0
    rsrp_fair_dbm: float = -105.0
    rsrp_poor_dbm: float = -115.0
    weak_signal_median_dbm: float = -105.0
    manual_max_level: int = 1
    download_min_mbps: float = 5.0
    upload_min_mbps: float = 1.0
    min_effective_samples: int = 5
    min_sessions: int = 2
    min_session_gap_h: float = 4.0
    effective_min_gap_s: float = 10.0
    effective_min_distance_m: float = 20.0
    max_accuracy_m: float = 50.0
    confidence: float = 0.95
    dead_lower_bound: float = 0.5
    covered_upper_bound: float = 0.2
    failed_tests_dead: int = 3
    failed_tests_min_sessions: int = 2
    radius_m: float = 1500.0
    top_k: int = 5
    exclusion_zones: tuple[ExclusionZone, ...] = ()
    # Where the settings came from (for resolving relative paths and for reports).
    config_path: str | None = field(default=None, compare=False)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def rules(self) -> dict[str, Any]:
        """The analysis rules as a plain dict, recorded with every analysis."""
        skip = {"name", "code", "district", "boundary", "dusun", "language", "config_path",
                "exclusion_zones"}
        out = {}
        for f in dataclasses.fields(self):
            if f.name in skip:
                continue
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(value).expanduser()
        if not p.is_absolute() and self.config_path:
            p = Path(self.config_path).parent / p
        return p


_BY_KEY = {(s.section, s.name): s for s in SETTINGS}
_SECTIONS = {s.section for s in SETTINGS}


def _line_of(text: str, section: str | None, key: str) -> int | None:
    """Line number (1-based) of ``key`` inside ``[section]`` of a TOML text, for messages."""
    current = None
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        m = re.match(r"^\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?", s)
        if m:
            current = m.group(1)
            if section is None and current == key:
                return i
            continue
        if re.match(rf"^{re.escape(key)}\s*=", s) and (section is None or current == section):
            return i
    return None


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    t = setting.type
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if t is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: '{setting.name}' must be a list of strings, like {setting.default!r}.",
                              fix="Fix the value in survey.toml.")
        return tuple(value)
    if not isinstance(value, t) or (t is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where}: '{setting.section}.{setting.name}' must be {t.__name__}, not {type(value).__name__} "
            f"({value!r}).", fix=f"Write it like {setting.name} = {_toml_value(setting.default)}.")
    return value


def load_settings(path: str | os.PathLike | None = None, *, required: bool = False) -> Settings:
    """Read ``survey.toml``; missing file gives the defaults (Lipursari) unless ``required``.

    Environment variables ``SURVEYOR_<NAME>`` (e.g. ``SURVEYOR_LANGUAGE=en``) override the file.
    Unknown sections or keys and wrong types raise :class:`ConfigError` naming the key and line.
    """
    values: dict[str, Any] = {}
    config_path = None
    if path is None and Path(CONFIG_NAME).exists():
        path = CONFIG_NAME
    if path is not None:
        p = Path(path)
        if not p.exists():
            if required:
                raise ConfigError(f"{p}: no such settings file.",
                                  fix="Run `surveyor init` to write one, or give the right --config.")
        else:
            config_path = str(p)
            text = p.read_text(encoding="utf-8")
            try:
                doc = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{p}: not valid TOML ({exc}).",
                                  fix="Fix the line it names; `surveyor init` writes a valid example.") from None
            values = _validate(doc, text, str(p))
    for s in SETTINGS:
        env = os.environ.get(f"SURVEYOR_{s.name.upper()}")
        if env is not None and s.type in (str, int, float):
            try:
                values[s.name] = s.type(env)
            except ValueError:
                raise ConfigError(f"SURVEYOR_{s.name.upper()}={env!r} is not a {s.type.__name__}.",
                                  fix="Fix or unset the environment variable.") from None
    return Settings(config_path=config_path, **values)


def _validate(doc: dict, text: str, path: str) -> dict[str, Any]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    for section, body in doc.items():
        if section == "exclusion_zones":
            zones = []
            if not isinstance(body, list):
                problems.append(f"{path}:{_line_of(text, None, section)}: 'exclusion_zones' must be "
                                "[[exclusion_zones]] tables with lat, lon, radius_m, label.")
                continue
            for z in body:
                unknown = set(z) - set(EXCLUSION_KEYS)
                missing = {"lat", "lon", "radius_m"} - set(z)
                if unknown or missing:
                    problems.append(f"{path}: an [[exclusion_zones]] entry has "
                                    + (f"unknown keys {sorted(unknown)}" if unknown else f"no {sorted(missing)}")
                                    + "; it takes lat, lon, radius_m and label.")
                    continue
                try:
                    zones.append(ExclusionZone(float(z["lat"]), float(z["lon"]), float(z["radius_m"]),
                                               str(z.get("label", ""))))
                except (TypeError, ValueError):
                    problems.append(f"{path}: an [[exclusion_zones]] entry has a non-numeric lat, lon or radius_m.")
            values["exclusion_zones"] = tuple(zones)
            continue
        if section not in _SECTIONS or not isinstance(body, dict):
            problems.append(f"{path}:{_line_of(text, None, section)}: unknown section or key '{section}'. "
                            f"Known sections: {', '.join(sorted(_SECTIONS | {'exclusion_zones'}))}.")
            continue
        for key, value in body.items():
            setting = _BY_KEY.get((section, key))
            where = f"{path}:{_line_of(text, section, key)}"
            if setting is None:
                known = ", ".join(s.name for s in SETTINGS if s.section == section)
                problems.append(f"{where}: unknown key '{key}' in [{section}]. Known keys: {known}.")
                continue
            try:
                values[setting.name] = _coerce(setting, value, where)
            except ConfigError as exc:
                problems.append(exc.message)
    if "language" in values and values["language"] not in ("id", "en"):
        problems.append(f"{path}:{_line_of(text, 'survey', 'language')}: language must be 'id' or 'en'.")
    if "resolution" in values and not 5 <= values["resolution"] <= 12:
        problems.append(f"{path}:{_line_of(text, 'grid', 'resolution')}: resolution must be 5 to 12 "
                        "(10 is about 70 m cells).")
    if problems:
        raise ConfigError("; ".join(problems) if len(problems) < 2 else
                          "survey.toml has problems:\n  " + "\n  ".join(problems),
                          fix="Fix survey.toml (`surveyor init --help` shows a valid one).")
    return values


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def render_toml(overrides: dict[str, Any] | None = None) -> str:
    """A commented ``survey.toml`` holding every setting, its meaning and its source."""
    overrides = overrides or {}
    lines = ["# surveyor settings. Every key is optional; the value shown is the default.",
             "# Thresholds follow DESIGN section 4; sources are named beside each one.", ""]
    section = None
    for s in SETTINGS:
        if s.section != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{s.section}]")
            section = s.section
        lines.append(f"# {s.help}" + (f" Source: {s.source}." if s.source else ""))
        lines.append(f"{s.name} = {_toml_value(overrides.get(s.name, s.default))}")
    lines += ["",
              "# Exclusion zones (e.g. around volunteers' homes) are removed from every output, always.",
              "# [[exclusion_zones]]",
              "# lat = -7.4370",
              "# lon = 109.8580",
              "# radius_m = 100",
              '# label = "home"', ""]
    return "\n".join(lines)
