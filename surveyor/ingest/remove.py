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
    backup: str | None = None  # where the copy of the database made before removing is
    merges: int | None = None
    samples: int = 0
    quarantine: int | None = None
    neighbours: int | None = None
    tracks: int | None = None
    towers: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rows removed per layer, as ``surveyor remove`` prints them."""
        return {k: v for k, v in asdict(self).items() if k not in ("what", "backup") and v is not None}


def find_source_merges(store: Store, source: str) -> list[int]:
    """merge_ids of a source named by its path as merged, its file name, or its content (an existing
    file); a folder names every source merged from inside it (by path or by the content of its files)."""
    merges = store.merges()
    folder = Path(source)
    if folder.is_dir():
        root = folder.resolve()
        ids = [m.merge_id for m in merges if _inside(m.source_file, root)]
        hashes = {file_hash(f) for f in folder.rglob("*") if f.is_file() and not f.name.startswith(".")}
        return sorted(set(ids) | {m.merge_id for m in merges if m.content_hash in hashes})
    ids = [m.merge_id for m in merges if m.source_file == source]
    if not ids:
        ids = [m.merge_id for m in merges if Path(m.source_file).name == Path(source).name]
    p = Path(source)
    if not ids and p.is_file():
        h = file_hash(p)
        ids = [m.merge_id for m in merges if m.content_hash == h]
    return ids


def _inside(path: str, root: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


def remove(store: Store, *, source: str | None = None, session: str | None = None,
           device: str | None = None, backup: bool = True) -> Removal:
    """Remove a merged source (with everything it brought), or one session's or device's samples.

    With ``backup`` (the default), a GeoPackage is first copied into ``backups/<timestamp>-remove/``
    beside it (:attr:`Removal.backup`); a PostGIS database is not (back it up with ``pg_dump``).
    """
    with store.writer_lock():
        store.cleanup_unfinished()
        if source is not None:
            ids = find_source_merges(store, source)
            if not ids:
                raise NothingToDo(f"No merged source matches {source!r}.",
                                  fix="See the merged sources with `surveyor sources` and give the path as merged, "
                                      "its file name, the file itself or its folder.")
            saved = _back_up(store) if backup else None
            removed = store.delete_merges(ids)
            return Removal(f"source {source}", saved, **{k: removed.get(k, 0) for k in
                                                         ("merges", "samples", "quarantine", "neighbours",
                                                          "tracks", "towers")})
        what = f"session {session!r}" if session is not None else f"device {device!r}"
        column, value = ("session", session) if session is not None else ("device", device)
        quoted = "'" + str(value).replace("'", "''") + "'"
        if not len(store.read_samples(["sample_id"], where=f"{column} = {quoted}")):
            raise NothingToDo(f"No samples of {what}.", fix="See sessions and devices with `surveyor status`.")
        saved = _back_up(store) if backup else None
        n = store.delete_samples(session=session, device=device)
        return Removal(what, saved, samples=n)


def _back_up(store: Store) -> str | None:
    """A copy of a GeoPackage before anything is removed (None for a database that is no file)."""
    import os

    from surveyor.store.backup import back_up

    path = getattr(store, "path", None)
    if not path or not os.path.isfile(path):
        return None
    folder = back_up([path], Path(os.path.realpath(path)).parent, "remove")
    return str(folder / Path(path).name) if folder else None
