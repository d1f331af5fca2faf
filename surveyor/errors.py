"""Domain exceptions. Each one says what went wrong and what the user can do about it.

The CLI turns a :class:`SurveyorError` into a one-line message on stderr and exit code 1
(no traceback unless ``-v``); an :class:`InvalidRequest` becomes exit code 2. Each error also
inherits from the builtin exception it means (a bad input file is a ``ValueError``, a store that
cannot be written an ``OSError``), so Python callers can catch it the usual way. Messages carry no
command-line wording beyond naming the command or option that helps.
"""

from __future__ import annotations


class SurveyorError(Exception):
    """Base class: a runtime problem the user can fix. ``str()`` is the whole message."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(f"{message} {fix}" if fix else message)


class InvalidRequest(SurveyorError, ValueError):
    """What was asked cannot be done as asked (a bad option value, conflicting options, an unknown
    operator or area code): exit code 2 on the command line."""

    exit_code = 2


class InputError(SurveyorError, ValueError):
    """An input file cannot be used; the message names the file (and line when known)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 fix: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        self.path = path
        self.line = line
        super().__init__(where + message, fix=fix)


class ConfigError(SurveyorError, ValueError):
    """``survey.toml`` has a wrong key or value; the message names the key and line."""


class StoreError(SurveyorError, OSError):
    """The geodatabase cannot be opened, written or is of an unknown version."""


class NetworkError(SurveyorError, ConnectionError):
    """A server on the network cannot be reached or refuses (e.g. the Overpass API of
    ``basemap fetch``); the message says whether waiting, another server or a file helps."""


class NothingToDo(SurveyorError, LookupError):
    """A command needs data that is not there yet (e.g. analyse before merge)."""


class PdfUnavailable(SurveyorError):
    """A PDF cannot be made on this machine (WeasyPrint, its system libraries or fonts are missing)."""


class OutputExists(SurveyorError, FileExistsError):
    """Refuse to overwrite a file the user did not ask us to overwrite."""

    def __init__(self, path: str, fix: str = "Use --overwrite to replace it, or choose another --out."):
        super().__init__(f"{path} exists already.", fix=fix)

