"""Schema versions: Alembic migrations shipped inside the package, run from code.

Users never need an ``alembic.ini``: :func:`alembic_config` builds the configuration in code
and points it at ``selfservice/store/migrations``. Migrations run inside one
:meth:`Store.write` transaction, so two processes upgrading at once queue (SQLite's write
lock, PostgreSQL's advisory lock) and the second finds nothing left to do; a failed upgrade
rolls back completely (SQLite and PostgreSQL both have transactional DDL).

When is the schema changed?

* ``selfservice db upgrade`` (:func:`upgrade`) — always, on any database.
* :func:`open_store` with ``create=True`` — only for an embedded SQLite file, so the demo
  and a first local run just work. A PostgreSQL schema is shared by every app process and
  belongs to whoever deploys: ``open_store`` never changes it, it only checks it.
* Otherwise :func:`open_store` / :func:`check_schema` refuse a database that is behind with
  :class:`SchemaBehindError` (run ``selfservice db upgrade``), and one at a revision this
  version does not know (written by a newer selfservice) with :class:`StoreError`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from ..errors import SchemaBehindError, StoreError
from .engine import Store, database_url, sqlite_path

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "open_store",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for the bundled migrations; ``env.py`` uses ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    # The migration files cannot change while the process runs; read them once.
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest schema revision this version of selfservice ships."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}; reinstall selfservice")
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _upgrade_sync(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade(url: str | URL) -> None:
    """Bring the database at ``url`` to the newest schema; creates a SQLite file and folders."""
    async with Store(url) as store:
        await _upgrade(store)


async def _upgrade(store: Store) -> None:
    async with store.write() as conn:
        await conn.run_sync(_upgrade_sync)


async def current_revision(url: str | URL) -> str | None:
    """The schema revision of the database at ``url``; ``None`` when it has no selfservice tables.

    A SQLite file that does not exist is reported as ``None`` without creating it.
    """
    path = sqlite_path(database_url(url))
    if path is not None and not path.exists():
        return None
    async with Store(url) as store:
        return await store.revision()


async def check_schema(url: str | URL) -> None:
    """Raise unless the database at ``url`` is exactly at :func:`head_revision`."""
    _judge(await current_revision(url), database_url(url).render_as_string(hide_password=True))


def _judge(revision: str | None, where: str) -> None:
    head = head_revision()
    if revision == head:
        return
    if revision is None:
        raise SchemaBehindError(
            f"the database {where} has no selfservice tables yet (this version needs schema {head}); "
            "run `selfservice db upgrade`"
        )
    if revision in _known_revisions():
        raise SchemaBehindError(
            f"the database {where} is at schema {revision}, this version needs {head}; run `selfservice db upgrade`"
        )
    raise StoreError(
        f"the database {where} is at schema {revision!r}, which this version of selfservice does not know "
        f"(its newest is {head}); it was probably upgraded by a newer selfservice: upgrade selfservice, "
        "or point Settings.database_url at the right database"
    )


async def open_store(url: str | URL, *, create: bool = False) -> Store:
    """Connect to the database at ``url`` and check that its schema is current.

    ``create=True`` first creates or upgrades an embedded SQLite database; for PostgreSQL it
    changes nothing (see the module docstring). Close the store with ``await store.close()``
    or use it as ``async with await open_store(url) as store``.
    """
    path = sqlite_path(database_url(url))
    if not create and path is not None and not path.exists():
        _judge(None, str(path))  # raises; don't leave an empty file behind
    store = Store(url, expected_revision=head_revision())
    try:
        if create and store.backend == "sqlite":
            await _upgrade(store)
        _judge(await store.revision(), store.display_url)
    except BaseException:
        await store.close()
        raise
    return store
