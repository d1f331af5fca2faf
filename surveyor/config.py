"""``survey.toml`` -> frozen :class:`Settings` (defaults < file < environment < command-line flags).

Every setting is declared once, as a field of :class:`Settings` whose metadata carry its section,
help, source, unit and allowed values. Everything else is derived from those fields:

- :data:`SETTINGS`, the registry (one :class:`Setting` per field) that the report reads;
- :func:`render_toml`, the commented ``survey.toml`` that ``surveyor init`` writes;
- the environment overrides ``SURVEYOR_<NAME>`` read by :func:`load_settings`;
- the validation: :func:`check_value` judges one value, the same way for a file value, an
  environment variable, a command-line flag and ``Settings(...)`` built in Python;
- :func:`settings_table`, the settings table of the README (a test keeps the two equal).

A settings file with problems raises one :class:`surveyor.errors.ConfigError` listing every problem,
each with the file, the line, the key, the value and what is allowed; a bad command-line flag raises
:class:`surveyor.errors.InvalidRequest` (a usage error) worded the same way.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from surveyor.errors import ConfigError, InvalidRequest
from surveyor.model import DOWNLOAD_MIN_MBPS, RSRP_CLASSES_DBM, RSRP_NEGATIVE_BELOW_DBM, UPLOAD_MIN_MBPS

CONFIG_NAME = "survey.toml"
DEFAULT_DB = "survey.gpkg"
ENV_PREFIX = "SURVEYOR_"


# -- what a setting allows --------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high``; an end that is None is open-ended, an ``*_open`` end excluded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    note: str = ""

    def problem(self, value: Any) -> str | None:
        if not math.isfinite(value):
            return "is not a finite number"
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return None if low_ok and high_ok else "is out of range"

    def describe(self) -> str:
        lo, hi = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None:
            if self.low_open or self.high_open:
                text = (f"more than {lo}" if self.low_open else f"{lo} or more") + " and " + \
                       (f"less than {hi}" if self.high_open else f"{hi} or less")
            else:
                text = f"{lo} to {hi}"
        elif self.low is not None:
            text = f"more than {lo}" if self.low_open else f"{lo} or more"
        elif self.high is not None:
            text = f"less than {hi}" if self.high_open else f"{hi} or less"
        else:
            text = "any finite number"
        return text + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Choices:
    """One of a few words."""

    values: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        return None if value in self.values else "is not an allowed choice"

    def describe(self) -> str:
        return " or ".join(self.values)


@dataclass(frozen=True)
class TimeZone:
    """An IANA time zone name that this machine's zone database knows."""

    def problem(self, value: Any) -> str | None:
        return None if _is_time_zone(value) else "is not an IANA time zone name"

    def describe(self) -> str:
        return "an IANA time zone name, e.g. Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT) or UTC"


@dataclass(frozen=True)
class Names:
    """A list of at least one non-empty name."""

    def problem(self, value: Any) -> str | None:
        if not value:
            return "is empty"
        if any(not str(v).strip() for v in value):
            return "has an empty name"
        return None

    def describe(self) -> str:
        return "a list of one or more names"


Allowed = Range | Choices | TimeZone | Names

PROBABILITY = Range(0, 1, low_open=True, high_open=True, note="a probability")
COUNT = Range(1)
# 3GPP TS 36.133's RSRP reporting range: what a phone can report at all.
RSRP_DBM = Range(-156, -31, note="the RSRP reporting range of 3GPP TS 36.133")
POSITIVE = Range(0, low_open=True)
NOT_NEGATIVE = Range(0)


@lru_cache(maxsize=64)
def _is_time_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _num(v: float | None) -> str:
    return "" if v is None else (f"{int(v)}" if float(v).is_integer() else f"{v:g}")


def setting(section: str, default: Any, help: str, *, source: str = "", unit: str = "",
            allowed: Allowed | None = None, rule: bool = True) -> Any:
    """A field of :class:`Settings`: its default and, as metadata, everything said about it.

    ``rule`` marks the settings recorded with every analysis (:meth:`Settings.rules`).
    """
    return field(default=default, metadata={"section": section, "help": help, "source": source, "unit": unit,
                                            "allowed": allowed, "rule": rule and section != "area"})


@dataclass(frozen=True)
class ExclusionZone:
    """A circle (e.g. around a volunteer's home) removed from every output: ``[[exclusion_zones]]``."""

    lat: float = setting("exclusion_zones", None, "Centre latitude.", unit="degrees", allowed=Range(-90, 90))
    lon: float = setting("exclusion_zones", None, "Centre longitude.", unit="degrees", allowed=Range(-180, 180))
    radius_m: float = setting("exclusion_zones", None, "Radius.", unit="m", allowed=POSITIVE)
    label: str = setting("exclusion_zones", "", "A note for yourself (never shown).")

    def __post_init__(self) -> None:
        problems = [p for f in dataclasses.fields(self) if (p := _field_problem(f, getattr(self, f.name)))]
        if problems:
            raise ConfigError(f"ExclusionZone: {'; '.join(problems)}.", fix="Give the zone valid values.")


@dataclass(frozen=True)
class Settings:
    """All settings of a survey; names are unique across the sections of ``survey.toml``."""

    # [area]
    name: str = setting("area", "Lipursari", "Village (desa) name shown on maps and reports.")
    code: str = setting("area", "33.07.05.2002", "Kemendagri village code.")
    district: str = setting("area", "Kecamatan Leksono, Kabupaten Wonosobo, Jawa Tengah",
                            "Where the village is, for titles.")
    boundary: str = setting("area", "builtin:lipursari",
                            "Village boundary: a GeoJSON file (relative to this file) or builtin:lipursari.")
    dusun: str = setting("area", "",
                         "Optional GeoJSON of dusun (hamlet) polygons with a 'name' property; empty for none.")
    contact: str = setting("area", "", "Who answers questions about the survey (name, role, phone), for the "
                           "blank-spot sheet and the package.")
    # [survey]
    language: str = setting("survey", "id", "Language of maps and reports: id or en.",
                            allowed=Choices(("id", "en")), rule=False)
    timezone: str = setting("survey", "Asia/Jakarta",
                            "Time zone of app exports that write local time without a zone (WIB).",
                            allowed=TimeZone())
    operators: tuple[str, ...] = setting("survey", ("Telkomsel", "Indosat"), "Operators to analyse and map.",
                                         allowed=Names())
    # [grid]
    resolution: int = setting("grid", 10, "H3 resolution of coverage cells (10: edges about 66-76 m).",
                              source="FCC BDC mobile challenge uses H3 hexagons", allowed=Range(5, 12))
    # [rules]
    rsrp_negative_below_dbm: float = setting("rules", RSRP_NEGATIVE_BELOW_DBM, "LTE RSRP below this is no usable 4G.",
                                             source="RTR-NetTest / Android CellSignalStrengthLte", unit="dBm",
                                             allowed=RSRP_DBM)
    rsrp_excellent_dbm: float = setting("rules", RSRP_CLASSES_DBM[0][0], "RSRP class bound: excellent at or above.",
                                        source="RTR-NetTest classification", unit="dBm", allowed=RSRP_DBM)
    rsrp_good_dbm: float = setting("rules", RSRP_CLASSES_DBM[1][0], "RSRP class bound: good at or above.",
                                   source="RTR-NetTest classification", unit="dBm", allowed=RSRP_DBM)
    rsrp_fair_dbm: float = setting("rules", RSRP_CLASSES_DBM[2][0], "RSRP class bound: fair at or above.",
                                   source="RTR-NetTest / Android", unit="dBm", allowed=RSRP_DBM)
    rsrp_poor_dbm: float = setting("rules", RSRP_CLASSES_DBM[3][0],
                                   "RSRP class bound: poor at or above; below is none.",
                                   source="Android CellSignalStrengthLte", unit="dBm", allowed=RSRP_DBM)
    weak_signal_median_dbm: float = setting("rules", -105.0,
                                            "Blank-spot sheet: 'sinyal lemah' when a cell's median RSRP is below this.",
                                            unit="dBm", allowed=RSRP_DBM)
    manual_max_level: int = setting("rules", 1, "A manual sample with this many bars or fewer is negative.",
                                    unit="bars", allowed=Range(0, 4))
    download_min_mbps: float = setting("rules", DOWNLOAD_MIN_MBPS, "A speed test under this download fails.",
                                       source="FCC BDC 4G floor 5/1 Mbit/s", unit="Mbit/s", allowed=POSITIVE)
    upload_min_mbps: float = setting("rules", UPLOAD_MIN_MBPS, "A speed test under this upload fails.",
                                     source="FCC BDC 4G floor 5/1 Mbit/s", unit="Mbit/s", allowed=POSITIVE)
    # [evidence]
    min_effective_samples: int = setting("evidence", 5, "Effective samples a cell needs to be judged.",
                                         unit="samples", allowed=COUNT)
    min_sessions: int = setting("evidence", 2, "Sessions (visits) a cell needs to be judged.",
                                source="FCC BDC: tests on different occasions", unit="sessions", allowed=COUNT)
    min_session_gap_h: float = setting("evidence", 4.0, "Two of those sessions must be at least this many hours apart.",
                                       source="FCC BDC: at least 4 hours apart", unit="h", allowed=NOT_NEGATIVE)
    effective_min_gap_s: float = setting("evidence", 10.0,
                                         "Within a session a sample counts only this many seconds after the last "
                                         "counted one.", unit="s", allowed=NOT_NEGATIVE)
    effective_min_distance_m: float = setting("evidence", 20.0, "... and this many metres from it.", unit="m",
                                              allowed=POSITIVE)
    max_accuracy_m: float = setting("evidence", 50.0, "Samples with GPS accuracy worse than this are left out.",
                                    source="BNetzA Funkloch app: 50 m", unit="m", allowed=POSITIVE)
    confidence: float = setting("evidence", 0.95, "One-sided Clopper-Pearson confidence level.",
                                source="ETSI TS 102 250-6 / ITU-T E.804", allowed=PROBABILITY)
    dead_lower_bound: float = setting("evidence", 0.5, "Dead when the lower bound of the negative share exceeds this.",
                                      allowed=PROBABILITY)
    covered_upper_bound: float = setting("evidence", 0.2,
                                         "Covered when the upper bound of the negative share is under this.",
                                         allowed=PROBABILITY)
    failed_tests_dead: int = setting("evidence", 3,
                                     "Failed speed tests (with no passed test) that make a cell dead on their own.",
                                     unit="tests", allowed=COUNT)
    failed_tests_min_sessions: int = setting("evidence", 2, "... from at least this many sessions.", unit="sessions",
                                             allowed=COUNT)
    # [sites]
    radius_m: float = setting("sites", 1500.0,
                              "Radius a new site is assumed to cover, for site suggestions (not a propagation model).",
                              unit="m", allowed=POSITIVE)
    top_k: int = setting("sites", 5, "How many site suggestions per operator.", unit="sites", allowed=COUNT)
    # [scope]
    max_distance_m: float = setting("scope", 2000.0,
                                    "Samples farther than this from the village boundary are outside the survey's "
                                    "area: merge reports them, outputs leave them out.", unit="m", allowed=POSITIVE)
    period_days: int = setting("scope", 365,
                               "Samples older than this many days before the survey's newest sample are outside "
                               "the survey period: merge reports them, outputs leave them out.", unit="days",
                               allowed=COUNT)
    out_of_scope: str = setting("scope", "leave_out",
                                "Samples outside the area or period, or of operators not listed in [survey]: "
                                "leave_out of analysis, maps, the report, revisit and exports, or include them "
                                "(the flag --all-data of those commands).", allowed=Choices(("leave_out", "include")))
    # [[exclusion_zones]]
    exclusion_zones: tuple[ExclusionZone, ...] = field(default=(), metadata={
        "section": "exclusion_zones",
        "help": "Places (e.g. volunteers' homes) removed from every output, always."})
    # Where the settings came from (for resolving relative paths and for reports); not a setting.
    config_path: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Settings built in Python are held to the same rules as survey.toml.
        problems = [f"{s.name} = {_shown(getattr(self, s.name))} {p}; allowed: {s.describe()}"
                    for s in SETTINGS if (p := check_value(s, getattr(self, s.name)))]
        if problems:
            raise ConfigError(f"Settings: {'; '.join(problems)}.", fix="Give valid values.")

    def rules(self) -> dict[str, Any]:
        """The analysis rules as a plain dict, recorded with every analysis."""
        return {s.name: _plain(getattr(self, s.name)) for s in SETTINGS if s.rule}

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(value).expanduser()
        if not p.is_absolute() and self.config_path:
            p = Path(self.config_path).parent / p
        return p


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


# -- the registry, derived from the fields ----------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """One setting as :class:`Settings` declares it."""

    section: str
    name: str
    type: type  # str, int, float or tuple (a list of names)
    default: Any
    help: str
    source: str = ""
    unit: str = ""
    allowed: Allowed | None = None
    rule: bool = True

    @property
    def env(self) -> str:
        """The environment variable that overrides it."""
        return ENV_PREFIX + self.name.upper()

    def describe(self) -> str:
        """What values it takes, for messages and the template."""
        kind = {str: "text", int: "a whole number", float: "a number", tuple: "a list of names"}[self.type]
        if self.allowed is None:
            return kind
        return self.allowed.describe() if self.type is not int else f"a whole number, {self.allowed.describe()}"


_TYPES = {"str": str, "int": int, "float": float, "tuple[str, ...]": tuple}


def _registry(cls: type) -> tuple[Setting, ...]:
    out = []
    for f in dataclasses.fields(cls):
        if f.name in ("exclusion_zones", "config_path"):
            continue
        m = f.metadata
        # str(): the annotations are text here (``from __future__ import annotations``)
        out.append(Setting(m["section"], f.name, _TYPES[str(f.type)], f.default, m["help"], m["source"], m["unit"],
                           m["allowed"], m["rule"]))
    return tuple(out)


def _zone_keys() -> tuple[Setting, ...]:
    return tuple(Setting("exclusion_zones", f.name, _TYPES[str(f.type)], f.default, f.metadata["help"], "",
                         f.metadata["unit"], f.metadata["allowed"], False)
                 for f in dataclasses.fields(ExclusionZone))


SETTINGS: tuple[Setting, ...] = _registry(Settings)
ZONE_KEYS: tuple[Setting, ...] = _zone_keys()
ZONES_SECTION = "exclusion_zones"
_BY_NAME = {s.name: s for s in SETTINGS}
_BY_KEY = {(s.section, s.name): s for s in SETTINGS}
_ZONE_BY_NAME = {s.name: s for s in ZONE_KEYS}
SECTIONS = tuple(dict.fromkeys(s.section for s in SETTINGS))
_ZONES_FIELD = next(f for f in dataclasses.fields(Settings) if f.name == "exclusion_zones")


def _field_problem(f: dataclasses.Field, value: Any) -> str | None:
    s = _ZONE_BY_NAME.get(f.name)
    if s is None:
        return None
    p = check_value(s, value)
    return f"{f.name} = {_shown(value)} {p}; allowed: {s.describe()}" if p else None


# -- validation: one function for every source of a value ------------------------------------

def check_value(setting: Setting | str, value: Any) -> str | None:
    """What is wrong with ``value`` for a setting (e.g. ``"is out of range"``), or None when it is fine.

    The one judge of values: used for ``survey.toml``, ``SURVEYOR_*`` variables, command-line flags,
    :class:`Settings` built in Python and library options such as the merge's time zone.
    """
    s = _BY_NAME[setting] if isinstance(setting, str) else setting
    if s.type is tuple:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return "is not a list of names"
    elif s.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "is not a number"
    elif s.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "is not a whole number"
    elif not isinstance(value, str):
        return "is not text"
    return s.allowed.problem(value) if s.allowed is not None else None


def _coerce(s: Setting, value: Any) -> Any:
    """A value as the setting's type, where TOML allows more than one spelling (7 for 7.0, a list)."""
    if s.type is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if s.type is tuple and isinstance(value, list):
        return tuple(value)
    return value


def _from_text(s: Setting, text: str) -> Any:
    """An environment variable's text as the setting's type; the text itself when it is not one."""
    if s.type is tuple:
        return tuple(v.strip() for v in text.split(","))
    if s.type in (int, float):
        try:
            return s.type(text.strip())
        except ValueError:
            return text
    return text


@dataclass
class _Problems:
    """Problems found in the settings, each with where it is; raised once, together."""

    items: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the files and variables that have problems
    from_flags: list[str] = field(default_factory=list)

    def add(self, source: str, text: str) -> None:
        self.items.append(text)
        if source not in self.sources:
            self.sources.append(source)

    def value(self, s: Setting, value: Any, source: str, where: str, *, key: str | None = None) -> bool:
        """Check one value; record what is wrong with it. True when it is fine."""
        problem = check_value(s, value)
        if problem:
            self.add(source, f"{where}: {key or s.name} = {_shown(value)} {problem}; allowed: {s.describe()}.")
        return problem is None

    def raise_if_any(self) -> None:
        if not self.items and not self.from_flags:
            return
        if not self.items:  # only command-line flags: a usage error
            raise InvalidRequest(_joined(self.from_flags, "the options"),
                                 fix="Give a value from the allowed range (see the command's --help).")
        what = " and ".join(self.sources)
        todo = "; ".join(f"fix or unset {s}" if s.startswith(ENV_PREFIX) else f"fix {s}" for s in self.sources)
        raise ConfigError(_joined(self.items + self.from_flags, what),
                          fix=f"{todo[0].upper()}{todo[1:]} (`surveyor init` writes a survey.toml listing every "
                              "setting with its default and allowed values).")


def _joined(items: list[str], what: str) -> str:
    if len(items) == 1:
        return items[0]
    return f"{len(items)} problems in {what}:\n  " + "\n  ".join(items)


def _shown(value: Any) -> str:
    return _toml_value(value) if isinstance(value, (str, int, float, list, tuple)) else repr(value)


def check_flags(flags: Mapping[str, tuple[str, Any]]) -> None:
    """Raise :class:`InvalidRequest` when a command-line flag's value is not allowed.

    ``flags`` maps a setting name to (the flag as typed, its value), e.g.
    ``{"resolution": ("--resolution", 4)}``; values that are None are not given.
    """
    problems = _Problems()
    _check_flags(flags, problems, {})
    problems.raise_if_any()


def _check_flags(flags: Mapping[str, tuple[str, Any]], problems: _Problems, values: dict[str, Any]) -> None:
    for name, (flag, value) in flags.items():
        if value is None:
            continue
        s = _BY_NAME[name]
        value = _coerce(s, value)
        problem = check_value(s, value)
        if problem:
            problems.from_flags.append(f"{flag} {value if isinstance(value, str) else _shown(value)}: {name} "
                                       f"{problem}; allowed: {s.describe()}.")
        else:
            values[name] = value


def load_settings(path: str | os.PathLike | None = None, *, required: bool = False,
                  flags: Mapping[str, tuple[str, Any]] | None = None, text: str | None = None) -> Settings:
    """The survey's settings: defaults, then ``survey.toml``, then ``SURVEYOR_<NAME>``, then ``flags``.

    Parameters
    ----------
    path
        The settings file; None reads ``./survey.toml`` when there is one, else the defaults
        (Lipursari).
    required
        Refuse a ``path`` that does not exist (instead of using the defaults).
    flags
        Command-line flags that set a setting: setting name -> (flag as typed, value or None).
    text
        The file's text when it is not read from ``path`` (the copy a geodatabase keeps of its
        survey's settings); ``path`` is then where it came from (for relative paths and messages).

    Raises
    ------
    ConfigError
        When the file or an environment variable has problems: every problem is listed, each with
        the file, line, key, value and the values allowed.
    InvalidRequest
        When only a command-line flag has a value that is not allowed.
    """
    values: dict[str, Any] = {}
    problems = _Problems()
    config_path = None
    if path is None and text is None and Path(CONFIG_NAME).exists():
        path = CONFIG_NAME
    if text is not None:
        config_path = str(path) if path is not None else None
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: the settings stored with the geodatabase are not valid TOML ({exc}).",
                              fix="Give the survey's settings with --config survey.toml.") from None
        _from_file(doc, text, str(path), problems, values)
    elif path is not None:
        p = Path(path)
        if not p.exists():
            if required:
                raise ConfigError(f"{p}: no such settings file.",
                                  fix="Run `surveyor init` to write one, or give the right --config.")
        else:
            config_path = str(p)
            try:
                text = p.read_text(encoding="utf-8")
                doc = tomllib.loads(text)
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{p}: cannot be read ({exc}).", fix="Give a readable UTF-8 survey.toml.") from None
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{p}: not valid TOML ({exc}).",
                                  fix="Fix the line it names; `surveyor init` writes a valid example.") from None
            _from_file(doc, text, str(p), problems, values)
    for s in SETTINGS:
        env = os.environ.get(s.env)
        if env is not None:
            value = _from_text(s, env)
            if problems.value(s, value, s.env, f"environment variable {s.env}={env!r}"):
                values[s.name] = value
    _check_flags(flags or {}, problems, values)
    problems.raise_if_any()
    return Settings(config_path=config_path, **values)


def _from_file(doc: dict, text: str, path: str, problems: _Problems, values: dict[str, Any]) -> None:
    for section, body in doc.items():
        if section == ZONES_SECTION:
            zones = _zones_from_file(body, text, path, problems)
            if zones is not None:
                values["exclusion_zones"] = zones
            continue
        if section not in SECTIONS or not isinstance(body, dict):
            problems.add(path, f"{path}:{_line_of(text, None, section)}: unknown section or key '{section}'; "
                                  f"allowed: the sections {', '.join(SECTIONS + (ZONES_SECTION,))}.")
            continue
        for key, value in body.items():
            s = _BY_KEY.get((section, key))
            where = f"{path}:{_line_of(text, section, key)}"
            if s is None:
                known = ", ".join(x.name for x in SETTINGS if x.section == section)
                problems.add(path, f"{where}: unknown key '{key}' in [{section}]; allowed: {known}.")
                continue
            value = _coerce(s, value)
            if problems.value(s, value, path, where, key=f"[{section}] {key}"):
                values[s.name] = value


def _zones_from_file(body: Any, text: str, path: str, problems: _Problems) -> tuple[ExclusionZone, ...] | None:
    keys = ", ".join(s.name for s in ZONE_KEYS)
    if not isinstance(body, list) or not all(isinstance(z, dict) for z in body):
        problems.add(path, f"{path}:{_line_of(text, None, ZONES_SECTION)}: '{ZONES_SECTION}' must be "
                              f"[[{ZONES_SECTION}]] tables; allowed keys: {keys}.")
        return None
    zones, ok = [], True
    for i, z in enumerate(body):
        header = _line_of(text, None, ZONES_SECTION, index=i)
        unknown = sorted(set(z) - set(_ZONE_BY_NAME))
        missing = [s.name for s in ZONE_KEYS if s.default is None and s.name not in z]
        for key in unknown:
            problems.add(path, f"{path}:{_line_of(text, ZONES_SECTION, key, index=i)}: unknown key '{key}' in "
                                  f"[[{ZONES_SECTION}]] number {i + 1}; allowed: {keys}.")
        if missing:
            problems.add(path, f"{path}:{header}: [[{ZONES_SECTION}]] number {i + 1} has no "
                                  f"{', '.join(missing)}; it needs lat, lon and radius_m.")
        good = not unknown and not missing
        fields: dict[str, Any] = {}
        for key, value in z.items():
            s = _ZONE_BY_NAME.get(key)
            if s is None:
                continue
            value = _coerce(s, value)
            where = f"{path}:{_line_of(text, ZONES_SECTION, key, index=i)}"
            if problems.value(s, value, path, where, key=f"[[{ZONES_SECTION}]] number {i + 1}: {key}"):
                fields[key] = value
            else:
                good = False
        if good:
            zones.append(ExclusionZone(**fields))
        ok = ok and good
    return tuple(zones) if ok else None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")


def _line_of(text: str, section: str | None, key: str, *, index: int = 0) -> int | None:
    """Line number (1-based) of ``key`` in ``[section]`` (or in table ``index`` of ``[[section]]``),
    or of the header ``[key]``/``[[key]]`` (number ``index``) when ``section`` is None."""
    current = None
    seen: dict[str, int] = {}  # header -> how many times before this one
    for i, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            current = m.group(2)
            seen[current] = seen.get(current, -1) + 1
            if section is None and current == key and seen[current] == index:
                return i
            continue
        if section is not None and current == section and seen.get(current) == index \
                and re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return i
    return None


# -- what is derived for people: the template and the README table ----------------------------

def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def render_toml(overrides: Mapping[str, Any] | None = None) -> str:
    """A commented ``survey.toml`` holding every setting with its meaning, source, unit and allowed values."""
    overrides = overrides or {}
    lines = ["# surveyor settings. Every key is optional; the value shown is the default.",
             f"# {ENV_PREFIX}<KEY> environment variables (e.g. {ENV_PREFIX}LANGUAGE=en) override this file,",
             "# and command-line flags override both. Sources are named beside each threshold.", ""]
    section = None
    for s in SETTINGS:
        if s.section != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{s.section}]")
            section = s.section
        lines.append(f"# {s.help}" + (f" Source: {s.source}." if s.source else ""))
        if s.allowed is not None or s.unit:
            lines.append("# " + (f"Unit: {s.unit}. " if s.unit else "") + f"Allowed: {s.describe()}.")
        lines.append(f"{s.name} = {_toml_value(overrides.get(s.name, s.default))}")
    zone = {"lat": -7.4370, "lon": 109.8580, "radius_m": 100, "label": "home"}
    lines += ["", f"# {_ZONES_FIELD.metadata['help']} Each zone is one table:"]
    for s in ZONE_KEYS:
        lines.append(f"# {s.name}: {s.help}" + (f" Unit: {s.unit}." if s.unit else "")
                     + (f" Allowed: {s.describe()}." if s.allowed else ""))
    lines.append(f"# [[{ZONES_SECTION}]]")
    lines += [f"# {k} = {_toml_value(v)}" for k, v in zone.items()]
    lines.append("")
    return "\n".join(lines)


def settings_text(settings: Settings) -> str:
    """A ``survey.toml`` that reads back as ``settings`` (exclusion zones included): what a
    geodatabase keeps of a survey whose settings came from no file."""
    text = render_toml({s.name: getattr(settings, s.name) for s in SETTINGS})
    for z in settings.exclusion_zones:
        text += f"\n[[{ZONES_SECTION}]]\n" + "".join(
            f"{k} = {_toml_value(getattr(z, k))}\n" for k in ("lat", "lon", "radius_m", "label"))
    return text


def settings_table() -> str:
    """The README's table of settings (Markdown), one row per setting, from the fields."""
    rows = ["| section | key | default | unit | allowed | meaning (source) |", "|---|---|---|---|---|---|"]

    def default(s: Setting) -> str:
        if s.default is None:
            return "required"
        if s.type is tuple:
            return ", ".join(s.default)
        return f"`{s.default}`" if s.type is str and s.default else ("empty" if s.type is str else _num(s.default))

    for s in SETTINGS + ZONE_KEYS:
        section = f"`[[{s.section}]]`" if s.section == ZONES_SECTION else s.section
        meaning = s.help.rstrip(".") + (f" ({s.source})." if s.source else ".")
        rows.append(f"| {section} | `{s.name}` | {default(s)} | {s.unit} | {s.describe()} | {meaning} |")
    return "\n".join(rows) + "\n"


def _main() -> None:  # pragma: no cover - `python -m surveyor.config` prints the README's table
    print(settings_table(), end="")


if __name__ == "__main__":  # pragma: no cover
    _main()
