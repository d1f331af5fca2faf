"""Domain exceptions. Each one says what went wrong and what the user can do about it.

The CLI turns a :class:`SurveyorError` into a one-line message on stderr and exit code 1
(no traceback unless ``-v``); a :class:`UsageError` becomes exit code 2.
"""

from __future__ import annotations


class SurveyorError(Exception):
    """Base class: a runtime problem the user can fix. ``str()`` is the whole message."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(f"{message} {fix}" if fix else message)


class UsageError(SurveyorError):
    """The command line itself is wrong (bad option value, conflicting options)."""

    exit_code = 2


class InputError(SurveyorError):
    """An input file cannot be used; the message names the file (and line when known)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 fix: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        self.path = path
        self.line = line
        super().__init__(where + message, fix=fix)


class ConfigError(SurveyorError):
    """``survey.toml`` has a wrong key or value; the message names the key and line."""


class StoreError(SurveyorError):
    """The geodatabase cannot be opened, written or is of an unknown version."""


class NothingToDo(SurveyorError):
    """A command needs data that is not there yet (e.g. analyse before merge)."""


class PdfUnavailable(SurveyorError):
    """A PDF cannot be made on this machine (WeasyPrint, its system libraries or fonts are missing)."""


class OutputExists(SurveyorError):
    """Refuse to overwrite a file the user did not ask us to overwrite."""

    def __init__(self, path: str, fix: str = "Use --overwrite to replace it, or choose another --out."):
        super().__init__(f"{path} exists already.", fix=fix)
