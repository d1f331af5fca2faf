"""Options shared by several commands, defined once.

- ``db_option``: ``--db`` geodatabase path or ``postgresql://`` URL (default ``SURVEYOR_DB`` or
  ``survey.gpkg``).
- ``config_option``: ``--config`` path to ``survey.toml`` (default ``./survey.toml`` when present).
- ``json_option``: ``--json`` machine-readable output on stdout.
- ``lang_option``: ``--lang id|en`` (default: the ``language`` of ``survey.toml``).
- :func:`load_settings`: ``survey.toml``, ``SURVEYOR_*`` and the flags that set a setting
  (``--resolution``, ``--tz``, ``--lang``), all judged by :func:`surveyor.config.check_value`.
- :func:`survey_settings`: the settings of the database's own survey (refused when unknown).
- ``all_data_option``: ``--all-data``, include samples outside the survey's scope.
- ``operator_option``: ``--operator NAME``, repeatable where a command takes several.
- ``area_option``: ``--area CODE`` the area and everything inside it (both stores).
- ``district_option``: ``--district CODE`` the per-village overview of a district.
- ``out_option(default)``: ``--out PATH`` and ``overwrite_option``: ``--overwrite``;
  :func:`output_path` applies the output policy for both (once, for every command).
- :func:`open_survey`: the store of ``--db``, refused with one message when the folder holds no
  survey (so a command run in the wrong folder never starts a stray survey there).

Choices are case-insensitive everywhere (``--lang EN``, ``--paper a3``, ``--format GPX``).

Library errors are raised as :class:`surveyor.errors.SurveyorError` and turned into messages by
:func:`surveyor.cli.main`; commands do not catch them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from surveyor.cli.texts import _
from surveyor.config import DEFAULT_DB, SETTINGS, Choices

# Flags that set a setting: its name -> the flag, so a message names what was typed. The values
# are not checked by click but by the settings' own rules, as file and environment values are.
SETTING_FLAGS = {"resolution": "--resolution", "timezone": "--tz", "language": "--lang",
                 "out_of_scope": "--all-data"}
LANGUAGES = next(s.allowed.values for s in SETTINGS if s.name == "language" and isinstance(s.allowed, Choices))

db_option = click.option(
    "--db", "db", default=DEFAULT_DB, envvar="SURVEYOR_DB", show_default=True, show_envvar=True,
    metavar="PATH|URL", help="Geodatabase: a GeoPackage path or a postgresql:// URL.")
config_option = click.option(
    "--config", "config", default=None, metavar="FILE",
    help="Settings file (default: ./survey.toml when present, else the Lipursari defaults).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def _lower(ctx, param, value):
    """Choices are case-insensitive: ``--lang EN`` is ``en`` (the settings' rules judge the value)."""
    return value.strip().lower() if isinstance(value, str) else value


lang_option = click.option("--lang", default=None, metavar="|".join(LANGUAGES), callback=_lower,
                           help="Language (default: survey.toml's language, 'id' for Lipursari).")
area_option = click.option("--area", default=None, metavar="CODE",
                           help="Only this area (a Kemendagri code) and everything inside it: a village, "
                                "a kecamatan (33.07.05) or a kabupaten (33.07).")
district_option = click.option("--district", default=None, metavar="CODE",
                               help="The overview of a district (a kecamatan or kabupaten code): one row "
                                    "and one polygon per village inside it.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
all_data_option = click.option(
    "--all-data", "all_data", is_flag=True,
    help="Include samples outside the survey's scope: farther than [scope] max_distance_m from the area, "
         "older than its period, or of operators not listed in survey.toml (left out by default).")


def operator_option(multiple: bool = False):
    return click.option("--operator", "operators" if multiple else "operator", multiple=multiple,
                        default=None, metavar="NAME",
                        help="Only this operator (Telkomsel, Indosat, ...), repeatable." if multiple
                        else "Only this operator (Telkomsel, Indosat, ...).")


def choice(values) -> click.Choice:
    """A case-insensitive choice (``--format GPX`` is ``gpx``)."""
    return click.Choice(list(values), case_sensitive=False)


def check_operators(store, names) -> list[str] | None:
    """The operators named by ``--operator`` as the analysis spells them (any spelling apps use);
    an unknown one is the same usage error (exit 2) on every command. None when none was named."""
    from surveyor.outputs.zones import pick_operator

    if not names:
        return None
    known = list((store.get_meta("analysis_summary") or {}).get("operators", {}))
    if not known:  # no analysis yet: the command itself says to run one
        return list(names)
    return [pick_operator(n, known) for n in names]


def open_survey(db: str):
    """The store of ``--db``; a GeoPackage that does not exist is refused with what to do.

    Run in a folder that holds no survey (no ``survey.toml``, no ``survey.gpkg``), a command says
    so and names the folder, instead of advising a merge that would start a stray survey there.
    """
    from surveyor.errors import NothingToDo
    from surveyor.store import is_postgres_url, open_store

    if not is_postgres_url(db) and not Path(db).exists():
        if Path(db) == Path(DEFAULT_DB) and not Path("survey.toml").exists():
            here = Path.cwd()
            raise NothingToDo(_("No survey here (no survey.toml or survey.gpkg in {folder}): cd into your survey "
                                "folder, or start one with `surveyor init NAME`.").format(folder=here))
        raise NothingToDo(_("No geodatabase at {path}: check --db (or SURVEYOR_DB), start a survey with "
                            "`surveyor init NAME`, or merge into a new one there with "
                            "`surveyor merge FILES --db {path}`.").format(path=db))
    return open_store(db)


def out_option(default: str | None, help_text: str = "Output file."):
    """``--out PATH`` (``help_text`` is a msgid: translated where the help is shown)."""
    return click.option("--out", "out", default=default, show_default=default is not None,
                        metavar="PATH", help=help_text)


def load_settings(config: str | None, *, required: bool = False, **flags):
    """The survey's settings with the flags given (``resolution``, ``timezone``, ``language``; None
    when not given) applied; a value not allowed is refused like one in ``survey.toml``."""
    from surveyor.config import load_settings as load

    return load(config, required=required, flags={name: (SETTING_FLAGS[name], v) for name, v in flags.items()})


def survey_settings(db: str, config: str | None, *, store=None, required: bool = True, all_data: bool = False,
                    **flags):
    """The settings of the survey the database ``db`` belongs to (``--config``, ``survey.toml``
    beside the GeoPackage, the copy stored in the database, or ``./survey.toml`` beside it; see
    :mod:`surveyor.store.survey`), with the flags applied. A settings file is read (and judged)
    before the database is opened; only without one is the database (``store``, or opened here)
    asked for its copy. With ``required`` (every command that writes an output), a database whose
    settings cannot be found is refused."""
    from surveyor.config import load_settings as load
    from surveyor.store.survey import settings_file, settings_of

    if all_data:
        flags["out_of_scope"] = "include"
    typed = {name: (SETTING_FLAGS[name], v) for name, v in flags.items()}
    found = settings_file(db, config)
    if found is not None:
        return load(found, required=True, flags=typed)
    if store is not None:
        return settings_of(store, None, required=required, flags=typed)
    from surveyor.errors import NothingToDo, StoreError

    try:
        with open_survey(db) as opened:
            return settings_of(opened, None, required=required, flags=typed)
    except (NothingToDo, StoreError):
        if required:
            raise
        return load(None, flags=typed)  # a database still to be made (merge): ./survey.toml or defaults


def check_flags(**flags) -> None:
    """Refuse (usage error) flags that set a setting to a value it does not allow."""
    from surveyor.config import check_flags as check

    check({name: (SETTING_FLAGS[name], v) for name, v in flags.items()})


@contextmanager
def output_path(out: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """The output policy of every command that writes a file, in one place.

    An existing file is kept unless ``--overwrite`` is given; a folder is never a file to write;
    missing folders of the path named are created for the write (and said so on stderr), and
    taken away again when the command fails, so nothing is left outside what was asked for.
    The library functions inside the block write the file atomically.
    """
    from surveyor.errors import OutputExists

    path = Path(out)
    if path.is_dir():
        raise click.UsageError(_("--out {path} is a folder; give a file name.").format(path=path))
    if path.exists() and not overwrite:
        raise OutputExists(str(path))
    created = []
    folder = path.parent
    while not folder.exists():
        created.append(folder)
        folder = folder.parent
    for f in reversed(created):
        f.mkdir()
    try:
        yield path
    except BaseException:
        for f in created:
            if f.exists() and not any(f.iterdir()):
                f.rmdir()
        raise
    if created:
        click.echo(_("Created folder {folder} for the output.").format(folder=created[0]), err=True)
