"""The portal's runtime state: settings, content, index, theme, page cache.

Built once by :func:`selfservice.create_portal`; views reach it through
:func:`portal_state`. The library is swapped whole when content changes, so a request
always sees one consistent version.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
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
            return self._store

    async def close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None and self._store_loop is asyncio.get_running_loop():
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
        if changed or removed or new.categories.keys() != old.categories.keys():
            self.index.sync(new_docs.values())
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

