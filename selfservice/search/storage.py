"""The index on disk: generation folders, an atomic ``CURRENT`` pointer and the writer lock.

Layout of an index folder::

    CURRENT          JSON: which generation folder is live, its schema version and language,
                     and a token that changes on every commit
    writer.lock      OS file lock: one writer at a time, across processes
    ix-<token>/      whoosh index folders (the live one, and the one before it)
    .build-<token>/  a rebuild in progress

Why a pointer: a full rebuild writes a new folder beside the live one and then replaces
``CURRENT`` with :func:`os.replace`, which is atomic, so a reader sees either the old index
or the new one, never half of one, and a crash mid-build leaves the old index live (the stale
``.build-*`` folder is removed by the next writer). An incremental commit works the same way
on a copy of the live folder made of hard links (:meth:`IndexStore.fork`), so no file a reader
may still open ever changes or disappears under it. Readers read ``CURRENT`` once per
query to notice any commit, from any process, without listing folders.

The folder before the live one is kept so a reader that opened it a moment before a switch
can finish; older ones are removed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from whoosh.util.filelock import FileLock

from ..errors import IndexBusyError, SearchError

__all__ = ["IndexStore", "Pointer"]

_POINTER = "CURRENT"
_LOCK = "writer.lock"
_LIVE_PREFIX = "ix-"
_BUILD_PREFIX = ".build-"


@dataclass(frozen=True, slots=True)
class Pointer:
    """The content of ``CURRENT``."""

    folder: str
    schema: int
    language: str
    token: str


Signature = bytes


class IndexStore:
    """File-level operations on one index folder; knows nothing about whoosh documents."""

    def __init__(self, root: Path, lock_timeout: float = 10.0) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()  # flock does not order threads of one process

    # -- reading ------------------------------------------------------------------------------
    def signature(self) -> Signature | None:
        """What ``CURRENT`` says (about 100 bytes), which changes with every commit.

        Its content rather than its ``stat``: two commits within the file system's clock tick
        can leave the same inode number (reused), size and mtime.
        """
        try:
            with open(self.root / _POINTER, "rb") as f:
                return f.read(4096)
        except FileNotFoundError:
            return None

    def read_pointer(self) -> Pointer | None:
        """The live generation, or None when no index has been built here yet."""
        try:
            data = json.loads((self.root / _POINTER).read_text(encoding="utf-8"))
            return Pointer(str(data["folder"]), int(data["schema"]), str(data["language"]), str(data["token"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            raise SearchError(
                f"{self.root / _POINTER} is damaged ({e}); rebuild the index with `selfservice index`"
            ) from None

    def folder(self, pointer: Pointer) -> Path:
        return self.root / pointer.folder

    # -- writing ------------------------------------------------------------------------------
    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the writer lock, waiting up to ``lock_timeout`` seconds, else IndexBusyError."""
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        if not self._thread_lock.acquire(timeout=max(self.lock_timeout, 0.0)):
            raise self._busy()
        try:
            lock = FileLock(str(self.root / _LOCK))
            delay = 0.005
            while not lock.acquire(blocking=False):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._busy()
                time.sleep(min(delay, remaining))  # polling: OS locks offer no portable timeout
                delay = min(delay * 2, 0.1)
            try:
                yield
            finally:
                lock.release()
        finally:
            self._thread_lock.release()

    def _busy(self) -> IndexBusyError:
        return IndexBusyError(
            f"another process has been updating the search index in {self.root} for more than "
            f"{self.lock_timeout:g} s; try again when it has finished"
        )

    def new_build_folder(self) -> Path:
        """An empty folder for a rebuild; call with the writer lock held."""
        path = self.root / f"{_BUILD_PREFIX}{secrets.token_hex(6)}"
        path.mkdir(parents=True)
        return path

    def fork(self, pointer: Pointer) -> Path:
        """A new build folder holding the live generation's files, as hard links (copies where
        the file system has none); call with the writer lock held."""
        build = self.new_build_folder()
        for entry in self.folder(pointer).iterdir():
            if entry.is_file() and not entry.name.endswith("LOCK"):
                try:
                    os.link(entry, build / entry.name)
                except OSError:
                    shutil.copy2(entry, build / entry.name)
        return build

    def promote(self, build: Path) -> str:
        """Rename a finished build folder to a live name (not yet pointed at)."""
        name = _LIVE_PREFIX + build.name.removeprefix(_BUILD_PREFIX)
        os.replace(build, self.root / name)
        return name

    def publish(self, folder: str, schema: int, language: str) -> Pointer:
        """Point ``CURRENT`` at ``folder`` with a fresh token: atomic, and seen by every reader."""
        pointer = Pointer(folder, schema, language, secrets.token_hex(8))
        tmp = self.root / f".{_POINTER}.{pointer.token}.tmp"
        data = {"folder": folder, "schema": schema, "language": language, "token": pointer.token}
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / _POINTER)
        return pointer

    def clean(self, keep: set[str]) -> None:
        """Remove stale builds and generations not in ``keep``; call with the writer lock held."""
        for entry in self.root.iterdir():
            name = entry.name
            stale = name.startswith(_BUILD_PREFIX) or (name.startswith(_LIVE_PREFIX) and name not in keep)
            if stale and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif name.startswith(f".{_POINTER}.") and name.endswith(".tmp"):
                entry.unlink(missing_ok=True)
