"""Database fixtures: a real, throwaway PostgreSQL server, and ``store_url`` over both backends.

``tests/conftest.py`` imports these, so any test can ask for ``store_url`` (an empty
database: a SQLite file in ``tmp_path`` that does not exist yet, or an emptied PostgreSQL
database) or ``store`` (an open store on a migrated database with empty tables) and then
runs once per backend (``backend`` is ``"sqlite"`` or ``"postgresql"``).

The PostgreSQL server is started once per session from the installed server binaries
(``initdb``/``pg_ctl`` on PATH or in ``/usr/lib/postgresql/*/bin``) into a temporary folder,
listening on a free localhost port, with ``fsync=off`` because the data is thrown away.
``initdb`` refuses to run as root, so as root it runs as the ``postgres`` user. Without the
binaries the PostgreSQL tests FAIL — ``.ci/run`` installs them (apt package ``postgresql``);
``SELFSERVICE_SKIP_PG=1`` skips them instead, for a quick local run.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import pytest
from sqlalchemy import delete

from selfservice.errors import StoreError
from selfservice.store import Store, open_store, tables, upgrade

__all__ = ["PostgresServer", "anyio_backend", "backend", "postgres_server", "sqlite_template", "store", "store_url"]

SKIP_ENV = "SELFSERVICE_SKIP_PG"
EMPTY_DB = "postgres"
MIGRATED_DB = "store_migrated"
_SUPERUSER = "postgres"


def _pg_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then the newest Debian/Ubuntu install."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path))

    candidates += [Path(p).parent for p in sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway server with two databases: one kept empty, one kept migrated.

    ``CREATE DATABASE`` costs a third of a second, so tests share these two and reset them:
    dropping the ``public`` schema, or deleting every row, takes milliseconds. The empty one
    is the ``postgres`` database ``initdb`` made; the migrated one is created in the
    background while the first tests run.
    """

    bin_dir: Path
    port: int
    socket_dir: Path
    _creating: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start_creating(self, database: str) -> None:
        self._creating[database] = subprocess.Popen(
            [*self._client("createdb"), database], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def wait_until_created(self, database: str) -> None:
        creating = self._creating.pop(database, None)
        if creating is not None:
            _, err = creating.communicate()
            if creating.returncode != 0:
                pytest.fail(f"createdb {database} failed: {err.decode(errors='replace')}", pytrace=False)

    def empty_database(self, database: str = EMPTY_DB) -> str:
        """The URL of a database with nothing in it."""
        self.wait_until_created(database)
        sql = "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public"
        _run([*self._client("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql], "psql")
        return self.url(database)

    async def migrated_store(self) -> Store:
        """An open store on a database at the newest schema with every table empty."""
        self.wait_until_created(MIGRATED_DB)
        url = self.url(MIGRATED_DB)
        try:
            store = await open_store(url)
        except StoreError:  # first use, or a test moved the schema: rebuild it
            self.empty_database(MIGRATED_DB)
            await upgrade(url)
            store = await open_store(url)
        async with store.write() as conn:  # DELETE beats TRUNCATE on a handful of rows
            for table in reversed(tables.metadata.sorted_tables):
                await conn.execute(delete(table))
        return store

    def _client(self, program: str) -> list[str]:
        return [str(self.bin_dir / program), "-h", str(self.socket_dir), "-p", str(self.port), "-U", _SUPERUSER]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        shown = " ".join(command)
        pytest.fail(f"{what} failed ({done.returncode}): {shown}\n{done.stdout}{done.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start PostgreSQL for the test session and stop it (and delete its files) afterwards."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: PostgreSQL storage tests skipped")
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: not on PATH nor in "
            "/usr/lib/postgresql/*/bin. `.ci/run` installs them (apt package `postgresql`); "
            f"or set {SKIP_ENV}=1 to skip the PostgreSQL half of the storage tests.",
            pytrace=False,
        )
    # Not pytest's tmp_path: its parents are private to the current user, and the server may
    # have to run as another one.
    base = Path(tempfile.mkdtemp(prefix="selfservice-pg-"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    as_owner: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(_SUPERUSER)
        except KeyError:
            shutil.rmtree(base)
            pytest.fail(
                "the tests run as root and initdb refuses root, but there is no `postgres` user to run "
                "it as; install the `postgresql` package (it creates one) or run the tests as a normal user",
                pytrace=False,
            )
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", _SUPERUSER, "--"]
    pg_ctl = [*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        _run(
            [*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", _SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync"],
            "initdb",
        )
        for attempt in range(3):  # a free port can be taken between choosing it and binding it
            port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            done = subprocess.run([*pg_ctl, "-l", str(log), "-w", "-t", "30", "-o", options, "start"],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                started = True
                break
        if not started:
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start: {done.stdout}{done.stderr}\n{server_log}", pytrace=False)
        server = PostgresServer(bin_dir=bin_dir, port=port, socket_dir=sockets)
        server.start_creating(MIGRATED_DB)
        try:
            yield server
        finally:
            server.wait_until_created(MIGRATED_DB)
    finally:
        if started:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """SQLAlchemy's async engines run on asyncio only."""
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs the test once per backend; ``store_url`` and ``store`` follow it."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file that does not exist yet, or an empty PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.empty_database()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the first ``store`` test migrates a SQLite file that later ones copy (faster than migrating)."""
    return tmp_path_factory.mktemp("sqlite-template") / "migrated.sqlite3"


@pytest.fixture
async def store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open store on a migrated, empty database (use in ``@pytest.mark.anyio`` tests).

    Not the same database as ``store_url``, so a test may use both.
    """
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        if not template.exists():
            await upgrade(f"sqlite+aiosqlite:///{template}")  # closing it folds the WAL into the file
        shutil.copyfile(template, tmp_path / "migrated.sqlite3")
        opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'migrated.sqlite3'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        opened = await server.migrated_store()
    try:
        yield opened
    finally:
        await opened.close()
