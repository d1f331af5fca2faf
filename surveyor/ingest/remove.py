"""``surveyor remove``: take merged data out again."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from surveyor.errors import NothingToDo
from surveyor.ingest.identity import file_hash
from surveyor.store.base import Store


@dataclass
class Removal:
    """What was taken out: rows removed per layer. Removing a source removes its merges and every
    row they brought; removing a session or device removes samples (and their neighbours) only, so
    the other counts are None."""

    what: str
    merges: int | None = None
    samples: int = 0
    quarantine: int | None = None
    neighbours: int | None = None
    tracks: int | None = None
    towers: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rows removed per layer, as ``surveyor remove`` prints them."""
        return {k: v for k, v in asdict(self).items() if k != "what" and v is not None}


def find_source_merges(store: Store, source: str) -> list[int]:
    """merge_ids of a source named by its path as merged, its file name, or its content (an existing file)."""
    merges = store.merges()
    ids = [m.merge_id for m in merges if m.source_file == source]
    if not ids:
        ids = [m.merge_id for m in merges if Path(m.source_file).name == Path(source).name]
    p = Path(source)
    if not ids and p.is_file():
        h = file_hash(p)
        ids = [m.merge_id for m in merges if m.content_hash == h]
    return ids


def remove(store: Store, *, source: str | None = None, session: str | None = None,
           device: str | None = None) -> Removal:
    """Remove a merged source (with everything it brought), or one session's or device's samples."""
    with store.writer_lock():
        store.cleanup_unfinished()
        if source is not None:
            ids = find_source_merges(store, source)
            if not ids:
                raise NothingToDo(f"No merged source matches {source!r}.",
                                  fix="See the merged sources with `surveyor status --json` (merges) and give the "
                                      "path as merged, its file name, or the file itself.")
            removed = store.delete_merges(ids)
            return Removal(f"source {source}", **{k: removed.get(k, 0) for k in
                                                  ("merges", "samples", "quarantine", "neighbours", "tracks",
                                                   "towers")})
        what = f"session {session!r}" if session is not None else f"device {device!r}"
        n = store.delete_samples(session=session, device=device)
        if n == 0:
            raise NothingToDo(f"No samples of {what}.", fix="See sessions and devices with `surveyor status`.")
        return Removal(what, samples=n)
