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
- ``area_option``: ``--area CODE`` limit to one village (shared PostGIS store).
- ``out_option(default)``: ``--out PATH`` and ``overwrite_option``: ``--overwrite``;
  :func:`output_path` applies the output policy for both (once, for every command).

Library errors are raised as :class:`surveyor.errors.SurveyorError` and turned into messages by
:func:`surveyor.cli.main`; commands do not catch them.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from surveyor.config import DEFAULT_DB, SETTINGS

# Flags that set a setting: its name -> the flag, so a message names what was typed. The values
# are not checked by click but by the settings' own rules, as file and environment values are.
SETTING_FLAGS = {"resolution": "--resolution", "timezone": "--tz", "language": "--lang",
                 "out_of_scope": "--all-data"}
LANGUAGES = next(s.allowed.values for s in SETTINGS if s.name == "language")

db_option = click.option(
    "--db", "db", default=lambda: os.environ.get("SURVEYOR_DB", DEFAULT_DB), show_default="survey.gpkg",
    metavar="PATH|URL", help="Geodatabase: a GeoPackage path or a postgresql:// URL (env SURVEYOR_DB).")
config_option = click.option(
    "--config", "config", default=None, metavar="FILE",
    help="Settings file (default: ./survey.toml when present, else the Lipursari defaults).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
lang_option = click.option("--lang", default=None, metavar="|".join(LANGUAGES),
                           help="Language (default: survey.toml's language, 'id' for Lipursari).")
area_option = click.option("--area", default=None, metavar="CODE",
                           help="Only this village (its Kemendagri code), for shared databases.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
all_data_option = click.option(
    "--all-data", "all_data", is_flag=True,
    help="Include samples outside the survey's scope: farther than [scope] max_distance_m from the area, "
         "older than its period, or of operators not listed in survey.toml (left out by default).")


def operator_option(multiple: bool = False):
    return click.option("--operator", "operators" if multiple else "operator", multiple=multiple,
                        default=None, metavar="NAME",
                        help="Only this operator (Telkomsel, Indosat, ...)" + (", repeatable." if multiple else "."))


def out_option(default: str | None, help_text: str = "Output file."):
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
    from surveyor.store import open_store

    try:
        with open_store(db) as opened:
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
        raise click.UsageError(f"--out {path} is a folder; give a file name.")
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
        click.echo(f"Created folder {created[0]} for the output.", err=True)
