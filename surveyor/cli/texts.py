"""The command line in Bahasa Indonesia or English: every message, prompt and help text.

The language is, first found: ``SURVEYOR_CLI_LANGUAGE`` (the command line only, e.g. English
messages while the reports stay Indonesian), ``SURVEYOR_LANGUAGE``, the ``[survey] language`` of
the settings file (``--config FILE``, else ``./survey.toml``), else Indonesian. It is read once per
run by :func:`use_language`, which :class:`surveyor.cli.LazyGroup` calls before parsing.

- ``_(msgid)`` and ``ngettext(singular, plural, n)`` translate the command modules' own strings
  from the ``cli`` catalogue (``surveyor/i18n/locale/<lang>/LC_MESSAGES/cli.po``).
- :func:`translated` gives a copy of a command whose help, option help and subcommands are
  translated (the help texts are the msgids, written in English in the code).
- click's own words ("Usage:", "Options", "Show this message and exit.", "Missing option", ...)
  come from the same catalogue: :data:`CLICK_MSGIDS` lists those translated.

``tests/test_cli_language.py`` fails when a user-facing string of a command module is missing
from either catalogue.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
_state: dict[str, str] = {}

# click's own user-facing words (click uses gettext for them), translated through our catalogue.
CLICK_MSGIDS = (
    "Usage:", "Options", "Commands", "Show this message and exit.", "Show the version and exit.",
    "%(prog)s, version %(version)s", "default: {default}", "env var: {var}", "required", "Missing option",
    "Missing argument", "Missing parameter", "Missing parameter: {param_name}", "Missing {param_type}",
    "Invalid value for {param_hint}: {message}", "Invalid value: {message}", "Error: {message}",
    "Try '{command} {option}' for help.", "No such option {name!r}.", "No such command {name!r}.",
    "Aborted!", "Option {name!r} does not take a value.", "{value!r} is not a valid {number_type}.",
    "{value} is not in the range {range}.", "{name} {filename!r} does not exist.",
    "{name} {filename!r} is a directory.", "{name} {filename!r} is a file.", "file", "directory", "path",
    "Repeat for confirmation", "Error: invalid input", "Do you want to continue?",
    "Confirm the action without prompting.", "{value!r} is not a valid boolean. Recognized values: {states}",
    "Got unexpected extra argument ({args})", "{value!r} is not {choice}.", "Option {name!r} requires an argument.",
    "Did you mean {possibility}?",
)
# click's plural messages: singular -> plural (the catalogue holds both forms).
CLICK_PLURALS = {
    "Got unexpected extra argument ({args})": "Got unexpected extra arguments ({args})",
    "{value!r} is not {choice}.": "{value!r} is not one of {choices}.",
    "Option {name!r} requires an argument.": "Option {name!r} requires {nargs} arguments.",
    "Did you mean {possibility}?": "(Did you mean one of: {possibilities}?)",
}
_CLICK_MODULES = ("core", "exceptions", "types", "parser", "decorators", "formatting", "termui")


def _from_settings_file(path: Path) -> str | None:
    """The ``[survey] language`` of a settings file, None when absent or unreadable (the command's
    own settings check reports a broken file)."""
    try:
        import tomllib

        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    value = (doc.get("survey") or {}).get("language") if isinstance(doc.get("survey"), dict) else None
    return value if value in LANGUAGES else None


def cli_language(args: list[str] | None = None, cwd: str | os.PathLike | None = None) -> str:
    """The language of this run (see the module docstring); ``args`` give ``--config FILE``."""
    for var in ("SURVEYOR_CLI_LANGUAGE", "SURVEYOR_LANGUAGE"):
        value = (os.environ.get(var) or "").strip().lower()
        if value in LANGUAGES:
            return value
    args = list(args or [])
    config = None
    for i, a in enumerate(args):
        if a == "--config" and i + 1 < len(args):
            config = args[i + 1]
        elif a.startswith("--config="):
            config = a.split("=", 1)[1]
    base = Path(cwd or ".")
    path = Path(config) if config else base / "survey.toml"
    if not path.is_absolute() and config:
        path = base / path
    return (_from_settings_file(path) if path.is_file() else None) or DEFAULT_LANGUAGE


def language() -> str:
    """The language in use (computed from the environment when :func:`use_language` was not called)."""
    if "lang" not in _state:
        use_language(cli_language())
    return _state["lang"]


def use_language(lang: str) -> None:
    """Translate the command line, click's own words included, into ``lang`` from now on."""
    import click

    _state["lang"] = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    for name in _CLICK_MODULES:
        module: Any = getattr(click, name, None)  # one of click's modules, its gettext names replaced
        if module is None:
            import importlib

            module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def _(msgid: str) -> str:
    """The translation of ``msgid`` in the command line's language (the msgid when there is none)."""
    from surveyor.i18n import catalog

    if not msgid:
        return msgid
    return catalog(language(), "cli").get(msgid) or msgid


def N_(msgid: str) -> str:
    """Mark a msgid for the catalogue; translated where it is shown."""
    return msgid


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``n`` in the command line's language."""
    from surveyor.i18n import plural_translator

    return plural_translator(language(), "cli")(singular, plural, n)


def translated(command):
    """A copy of a click command (or group, with its subcommands) in the command line's language."""
    import click

    new = copy.copy(command)
    new.help = _(command.help) if command.help else command.help
    new.short_help = _(command.short_help) if command.short_help else command.short_help
    new.epilog = _(command.epilog) if getattr(command, "epilog", None) else getattr(command, "epilog", None)
    new.params = [_param(p) for p in command.params]
    if isinstance(command, click.Group):
        new.commands = {name: translated(c) for name, c in command.commands.items()}
    return new


def _param(param):
    new = copy.copy(param)
    if getattr(param, "help", None):
        new.help = _(param.help)
    if getattr(param, "prompt", None):
        new.prompt = _(param.prompt)
    return new


def help_texts(command) -> list[str]:
    """Every help text of a command and its subcommands and options (for the catalogue test)."""
    import click

    found = [t for t in (command.help, command.short_help, getattr(command, "epilog", None)) if t]
    for p in command.params:
        if getattr(p, "help", None):
            found.append(p.help)
    if isinstance(command, click.Group):
        for c in command.commands.values():
            found += help_texts(c)
    return found


