"""Where merged data lives: a GeoPackage by default, PostGIS when a team shares one server.

``open_store(db)`` picks the backend from the string: a ``postgresql://`` URL opens the shared
PostGIS store, anything else is a GeoPackage path. Both implement :class:`surveyor.store.base.Store`,
so no command knows which one it has.
"""

from __future__ import annotations

from surveyor.store.base import LAYERS, MergeRecord, Store


def is_postgres_url(db: str) -> bool:
    return str(db).startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def open_store(db: str, *, create: bool = False) -> Store:
    """Open the store named by ``db``; ``create`` makes an empty one when it does not exist.

    Without ``create``, a missing GeoPackage raises :class:`surveyor.errors.NothingToDo` with the
    command that makes one.
    """
    if is_postgres_url(db):
        from surveyor.store.postgis import PostgisStore

        return PostgisStore(db, create=create)
    from surveyor.store.gpkg import GeoPackageStore

    return GeoPackageStore(db, create=create)


__all__ = ["LAYERS", "MergeRecord", "Store", "is_postgres_url", "open_store"]
