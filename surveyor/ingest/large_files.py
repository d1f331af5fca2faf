"""Which sources a merge prepares in the helper process (:mod:`surveyor.ingest.helper`).

Kept apart from the merge, with only the standard library, so ``surveyor merge`` can decide and
start the helper first thing, before its own heavy imports.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from surveyor.ingest.helper import Helper

# Files at least this large are prepared in the helper; smaller ones are not worth the hand-over.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024
# What the helper imports while the merge starts up: the module of the work it is given.
WARM_UP = ("surveyor.ingest.merge",)


def wanted(path: Path) -> bool:
    """Whether a file is large enough to be prepared in the helper (never with SURVEYOR_NO_WORKER)."""
    if os.environ.get("SURVEYOR_NO_WORKER"):
        return False
    try:
        return path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False


def any_large(sources: Iterable[str]) -> bool:
    """Whether any source (file, or file in a folder) is large enough for the helper."""
    for src in sources:
        p = Path(src)
        if p.is_dir():
            if any(wanted(f) for f in p.rglob("*") if f.is_file()):
                return True
        elif src != "-" and wanted(p):
            return True
    return False


def merge_helper(sources: Iterable[str] = ()) -> Helper:
    """A helper for a merge of ``sources``, already starting when one of them is large."""
    helper = Helper(warm=WARM_UP)
    if any_large(sources):
        helper.start()
    return helper
