"""The portal's runtime state: settings, content, index, theme, page cache.

Built once by :func:`selfservice.create_portal`; views reach it through
:func:`portal_state`. The library is swapped whole when content changes, so a request
always sees one consistent version.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .caching import PageCache
from .content import Library, load_library
from .search import SearchIndex
from .settings import Settings
from .theming import StaticAssets, Theme

if TYPE_CHECKING:
    from .store import Store

__all__ = ["PortalState", "portal_state"]

log = logging.getLogger("selfservice")


@dataclass
class PortalState:
    """Everything the views need, built once; ``library`` is swapped whole on reload."""

    settings: Settings
    library: Library
    index: SearchIndex
    theme: Theme
    assets: StaticAssets
    env: Any  # jinja2.Environment
    cache: PageCache = field(default_factory=PageCache)
    generation: int = 0
    _store: Store | None = field(default=None, repr=False)
    _store_loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _store_lock: asyncio.Lock | None = field(default=None, repr=False)
    _closer: asyncio.Task[None] | None = field(default=None, repr=False)
    _cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)
    _closing: bool = field(default=False, repr=False)
    _closers: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    @functools.cached_property
    def supported_locales(self) -> tuple[str, ...]:
        """``settings.supported_locales``, worked out once (it is asked on every request)."""
        return self.settings.supported_locales

    async def get_store(self) -> Store:
        """The customer-input store, opened on first use in the running event loop.

        Never rely on the portal's lifespan for this: Starlette, FastAPI, Litestar and
        Django do not send lifespan events to a mounted sub-app, so a mounted portal only
        ever sees requests. Database connections belong to one event loop; if the loop
        changes (a test client per test, a server restarted in-process) a new store is
        opened for the new loop.
        """
        loop = asyncio.get_running_loop()
        if self._store is not None and self._store_loop is loop:
            return self._store
        if self._store_lock is None or self._store_loop is not loop:
            self._store_lock, self._store_loop, self._store = asyncio.Lock(), loop, None
        async with self._store_lock:
            if self._store is None:
                from .store import open_store

                self._store = await open_store(self.settings.db_url, create=self.settings.demo or self.settings.debug)
                # No lifespan may ever close it (a mounted sub-app gets none; a test client
                # without ``with`` runs each request in a fresh loop). asyncio.run() and
                # uvicorn cancel the tasks left at the end of their loop and let them finish,
                # so this one closes the store inside its own loop instead of leaving pooled
                # connections to the garbage collector.
                self._closer = loop.create_task(self._close_at_loop_end(self._store), name="selfservice-store-closer")
                # The loop only holds tasks weakly: keep every closer until it has run, also
                # after another loop opened a store of its own.
                self._closers.add(self._closer)
                self._closer.add_done_callback(self._closers.discard)
            return self._store

    def at_loop_end(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run ``cleanup`` before the store closes at the end of its event loop (background
        tasks that use the store, such as the outbox worker, must stop first: a connection
        returned to a pool that was already disposed would never be closed)."""
        self._cleanups.append(cleanup)

    async def _close_at_loop_end(self, store: Store) -> None:
        try:
            await asyncio.Event().wait()  # until cancelled: the loop is shutting down
        finally:
            if self._store is store:
                self._store = None
            cleanups, self._cleanups = self._cleanups, []
            for cleanup in reversed(cleanups):
                try:
                    await cleanup()
                except Exception:  # noqa: BLE001 - shutting down: report and go on closing
                    log.exception("cleanup at the end of the event loop failed")
            await store.close()
            if not self._closing:
                # The loop itself is ending: every task was cancelled at once, and a database
                # connection cancelled mid-query is closed by a task the driver spawns only
                # then. Let those finish, or the loop closes under them.
                others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}
                if others:
                    await asyncio.wait(others, timeout=2.0)

    async def close_store(self) -> None:
        """Close the store now (the portal's lifespan calls this at shutdown)."""
        store, self._store = self._store, None
        closer, self._closer = self._closer, None
        if closer is not None and not closer.done() and self._store_loop is asyncio.get_running_loop():
            self._closing = True  # the loop goes on: the closer must not wait for its other tasks
            closer.cancel()  # it closes the store
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await closer
            finally:
                self._closing = False
        elif store is not None and self._store_loop is asyncio.get_running_loop():
            await store.close()

    def reload_content(self) -> set[str]:
        """Reload changed files, update the index for them, drop cached pages.

        Returns the slugs that were added, changed or removed.
        """
        old = self.library
        new = load_library(
            self.settings.content_paths,
            default_locale=self.settings.locale,
            previous=old,
            cache_file=self.settings.render_cache_path,
        )
        old_docs = {a.slug: a for a in old.searchable()}
        new_docs = {a.slug: a for a in new.searchable()}
        changed = {s for s, a in new_docs.items() if old_docs.get(s) is not a}
        removed = set(old_docs) - set(new_docs)
        old_tr = {(s, lang): a for s, by in old.translations.items() for lang, a in by.items()}
        new_tr = {(s, lang): a for s, by in new.translations.items() for lang, a in by.items()}
        changed |= {s for (s, lang), a in new_tr.items() if old_tr.get((s, lang)) is not a}
        changed |= {s for (s, lang) in old_tr.keys() - new_tr.keys()}
        if changed or removed or new.categories.keys() != old.categories.keys():
            self.index.sync(new.indexable())
            self.library = new
            self.generation += 1
            self.cache.clear()
            for p in new.problems:
                log.warning("%s", p)
        return changed | removed


def portal_state(request: Request) -> PortalState:
    """The state of the portal serving ``request`` (works when mounted inside a host app)."""
    app = request.scope.get("app")
    state = getattr(app, "ss", None)
    if state is None:  # pragma: no cover - only if a host strips scope["app"]
        raise RuntimeError("selfservice views must be served by the Portal app")
    return state

