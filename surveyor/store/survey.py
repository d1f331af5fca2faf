"""The settings of a geodatabase's survey: found from the database, not from the working folder.

Exclusion zones, the area and the operators belong to the survey, so every command that writes an
output must use the settings of the database it reads, wherever it is run from. They are, in order:

1. the file given with ``--config``;
2. ``survey.toml`` beside the GeoPackage (its real path: a symbolic link is followed);
3. the copy stored in the database's ``meta`` (``survey_settings``): ``init`` and ``merge`` keep
   it up to date, so a PostGIS database, or a GeoPackage copied without its folder, has it too;
4. ``./survey.toml`` when the database is in the working folder.

A shared PostGIS database holds many villages: there ``./survey.toml`` (the village folder the
command runs in) comes before the stored copy, and a copy is kept per village code. Wherever the
settings come from the database, the exclusion zones of every village copy kept in it are applied
together: a zone is a place that must stay hidden whichever village's output shows it.

A database for which none of these exists has no known exclusion zones: output commands refuse
to write rather than show places that should be hidden (:class:`SettingsNotFound`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from surveyor.config import CONFIG_NAME, Settings, load_settings, settings_text
from surveyor.errors import ConfigError
from surveyor.store.base import Store

META_KEY = "survey_settings"
CODES_KEY = "survey_settings_codes"  # the village codes with a copy of their own (META_KEY:CODE)


class SettingsNotFound(ConfigError):
    """No settings are known for a database: outputs are refused (exclusion zones unknown)."""


def beside(store: Store) -> Path | None:
    """``survey.toml`` in the folder of a GeoPackage's real path, when there is one."""
    path = getattr(store, "path", None)
    if not path:
        return None
    candidate = Path(os.path.realpath(path)).parent / CONFIG_NAME
    return candidate if candidate.is_file() else None


def stored(store: Store) -> dict | None:
    """The copy of the survey's settings kept in the database (``{"path", "text"}``), if any."""
    try:
        value = store.get_meta(META_KEY)
    except Exception:  # an old database without meta rows of this kind
        return None
    return value if isinstance(value, dict) and isinstance(value.get("text"), str) else None


def remember(store: Store, settings: Settings) -> bool:
    """Keep a copy of the survey's settings in the database: the settings file's text when they came
    from one (replacing an older copy), else the settings as they are, when none is kept yet (so a
    database merged without any survey.toml is known to have the defaults, and no exclusion zone)."""
    if settings.config_path:
        path = Path(settings.config_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return False
        value: dict[str, str | None] = {"path": str(path.resolve()), "text": text}
    elif stored(store) is None:
        value = {"path": None, "text": settings_text(settings)}
    else:
        return False
    changed = False
    if stored(store) != value:
        store.set_meta(META_KEY, value)
        changed = True
    key = f"{META_KEY}:{settings.code}"
    if store.get_meta(key) != value:
        store.set_meta(key, value)
        codes = list(store.get_meta(CODES_KEY) or [])
        if settings.code not in codes:
            store.set_meta(CODES_KEY, codes + [settings.code])
        changed = True
    return changed


def _with_every_zone(store: Store, settings: Settings) -> Settings:
    """The settings with the exclusion zones of every village copy kept in the database added."""
    import dataclasses

    zones = list(settings.exclusion_zones)
    try:
        codes = store.get_meta(CODES_KEY) or []
    except Exception:  # an old database without the key
        codes = []
    for code in codes:
        copy = store.get_meta(f"{META_KEY}:{code}")
        if not isinstance(copy, dict) or not isinstance(copy.get("text"), str):
            continue
        try:
            other = load_settings(copy.get("path") or CONFIG_NAME, text=copy["text"])
        except ConfigError:
            continue
        zones += [z for z in other.exclusion_zones if z not in zones]
    if len(zones) == len(settings.exclusion_zones):
        return settings
    return dataclasses.replace(settings, exclusion_zones=tuple(zones))


def settings_file(db: str, config: str | os.PathLike | None = None) -> Path | None:
    """The settings file of a database that needs no look inside it: ``--config`` or the
    ``survey.toml`` beside the GeoPackage's real path (None for a PostGIS URL or when absent)."""
    if config is not None:
        return Path(config)
    if "://" in str(db):
        return None
    candidate = Path(os.path.realpath(db)).parent / CONFIG_NAME
    return candidate if candidate.is_file() else None


def settings_of(store: Store, config: str | os.PathLike | None = None, *,
                flags: Mapping[str, tuple[str, Any]] | None = None, required: bool = True) -> Settings:
    """The settings of the database's survey (see the module's docstring for the order).

    Raises
    ------
    SettingsNotFound
        When ``required`` and none are found: the message says where they were looked for.
    """
    if config is not None:
        return load_settings(config, required=True, flags=flags)
    found = beside(store)
    if found is not None:
        return load_settings(found, required=True, flags=flags)
    here = Path(CONFIG_NAME)
    path = getattr(store, "path", None)
    if here.is_file() and not path:  # a shared database: the village folder the command runs in
        return _with_every_zone(store, load_settings(here, required=True, flags=flags))
    copy = stored(store)
    if copy is not None:
        return _with_every_zone(store, load_settings(copy.get("path") or CONFIG_NAME, flags=flags, text=copy["text"]))
    if here.is_file() and path and Path(os.path.realpath(path)).parent == Path.cwd().resolve():
        return load_settings(here, required=True, flags=flags)
    if not required:
        return load_settings(None if not here.is_file() else here, flags=flags)
    raise SettingsNotFound(
        f"cannot find the survey's settings for {store.url}: there is no {CONFIG_NAME} beside it and none "
        "is stored in it, so its exclusion zones (the places that must never be shown) are unknown; "
        "nothing was written.",
        fix=f"Give them with --config PATH/{CONFIG_NAME}, or run the command in the survey's folder; "
            f"`surveyor merge` and `surveyor init` store them in the database.")
