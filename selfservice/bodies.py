"""Rendered article bodies on disk, read on demand: HTML, plain text, headings and links.

An article's body is most of its weight (at 30,000 articles, ~90 % of the library), and
only one page, the search index build and ``selfservice check`` ever need it. So the
library keeps in memory what lists and navigation use (title, summary, category, tags,
dates, language versions, manual order) and each body lives in a :class:`BodyStore`: a
SQLite file next to the render cache, written as articles are rendered and read back by
key, with a bounded LRU in front for the hot ones. A restart reads no body at all.

Keys are a digest of the body's content, so a body is written once whatever file or
worker rendered it, and a changed article gets a new key (nothing stale is ever served,
and the search index sees the change in the key). Bodies no rendering uses any more are
first marked orphaned and deleted an hour later, so another worker that has not yet
reloaded its library can still read the body it points at.

Without a data folder (``load_library(dirs)`` in the CLI and tests) bodies simply stay in
memory, inside their :class:`~selfservice.content.Article`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sqlite3
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .markup import Heading

__all__ = ["Body", "BodyStore", "body_key"]

log = logging.getLogger("selfservice")

#: How long a body nothing uses any more is kept for workers that have not reloaded yet.
ORPHAN_GRACE_SECONDS = 3600.0
_BATCH = 256  # bodies written per transaction while rendering


@dataclass(frozen=True, slots=True)
class Body:
    """Everything rendered from an article's markdown that only its own page needs."""

    html: str  # sanitized HTML; internal links start with ROOT_MARKER
    text: str  # plain text for search and snippets
    toc: tuple[Heading, ...] = ()
    links: tuple[tuple[str, int], ...] = ()  # (target as written, line in the file) for `check`


EMPTY = Body("", "")


def _pack(body: Body) -> bytes:
    data = [body.html, body.text, [[h.level, h.id, h.text] for h in body.toc], [list(x) for x in body.links]]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _unpack(blob: bytes) -> Body:
    html, text, toc, links = json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
    return Body(html, text, tuple(Heading(lv, i, t) for lv, i, t in toc), tuple((t, n) for t, n in links))


def body_key(body: Body) -> str:
    """The body's key in the store: a digest of everything in it."""
    return hashlib.blake2b(_pack(body), digest_size=16).hexdigest()


class BodyStore:
    """Bodies by key in one SQLite file, with an LRU of ``max_cached`` decoded bodies in front.

    Safe to share between threads (one connection behind a lock) and between worker
    processes (WAL; writes are idempotent). ``add`` buffers; ``flush`` writes the batch,
    and the loader calls it before the render cache that refers to the bodies is written.
    """

    def __init__(self, path: Path, *, max_cached: int = 512) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        weakref.finalize(self, self._db.close)  # a portal dropped (tests build many) closes its file
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS body (key TEXT PRIMARY KEY, data BLOB NOT NULL, orphaned REAL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('id', ?)", (uuid.uuid4().hex,))
        self.id: str = self._db.execute("SELECT value FROM meta WHERE name = 'id'").fetchone()[0]
        self._pending: dict[str, bytes] = {}
        self._cached = functools.lru_cache(maxsize=max_cached)(self._load)
        self.reads = 0  # bodies read from the file (the LRU's misses)

    def add(self, body: Body) -> str:
        """Store ``body`` (buffered until the next :meth:`flush`) and return its key."""
        packed = _pack(body)
        key = hashlib.blake2b(packed, digest_size=16).hexdigest()
        with self._lock:
            self._pending[key] = zlib.compress(packed, 6)
            full = len(self._pending) >= _BATCH
        if full:
            self.flush()
        return key

    def flush(self) -> None:
        """Write the buffered bodies; if the file cannot take them (disk full, read-only
        folder) they stay in memory, still readable, and a warning is logged."""
        with self._lock:
            if not self._pending:
                return
            rows = list(self._pending.items())
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany("INSERT INTO body (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                                         "SET orphaned = NULL", rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                log.warning("cannot write article bodies to %s (%s); keeping %d in memory", self.path, exc, len(rows))
                return
            self._pending = {}

    def get(self, key: str) -> Body:
        """The body stored under ``key``; an empty one (and an error logged) if it is gone."""
        try:
            return self._cached(key)
        except KeyError:  # not cached, so a body written later under this key is found
            log.error("article body %s is missing from %s; delete the data folder's render cache and restart",
                      key, self.path)
            return EMPTY

    def _load(self, key: str) -> Body:
        with self._lock:
            packed = self._pending.get(key)
            if packed is None:
                row = self._db.execute("SELECT data FROM body WHERE key = ?", (key,)).fetchone()
                packed = row[0] if row is not None else None
            self.reads += 1
        if packed is None:
            raise KeyError(key)
        return _unpack(packed)

    def keep_only(self, keys: Iterable[str], *, now: float | None = None) -> None:
        """Mark bodies not in ``keys`` orphaned, un-mark the ones in it, and delete the
        bodies orphaned for over :data:`ORPHAN_GRACE_SECONDS` (module docs)."""
        self.flush()
        now = time.time() if now is None else now
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM used")
                db.executemany("INSERT OR IGNORE INTO used VALUES (?)", ((k,) for k in keys))
                db.execute("UPDATE body SET orphaned = ? WHERE orphaned IS NULL AND key NOT IN (SELECT key FROM used)",
                           (now,))
                db.execute("UPDATE body SET orphaned = NULL WHERE orphaned IS NOT NULL AND key IN (SELECT key FROM used)")
                db.execute("DELETE FROM body WHERE orphaned < ?", (now - ORPHAN_GRACE_SECONDS,))
                db.execute("DELETE FROM used")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM body").fetchone()[0])

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()
