"""Table cells that are safe to open in a spreadsheet.

Spreadsheets run text that starts with ``= + - @`` (or a tab or carriage return) as a formula:
``=HYPERLINK(...)`` in a volunteer's note would become a live link in the district office's copy
of the blank-spot sheet (OWASP, "CSV injection"). Every CSV and XLSX surveyor writes passes its
text through :func:`neutralize`.
"""

from __future__ import annotations

import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Text that is only a number (``-115``, ``+3,5``) is a value, not a formula: it stays as it is.
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def neutralize(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection advice).

    Text starting with ``= + - @``, tab or carriage return gets a leading single quote; numbers,
    and text that is only a number (``-115``), stay as they are so they remain numeric.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER_RE.match(value):
        return "'" + value
    return value
