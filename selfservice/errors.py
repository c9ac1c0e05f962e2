"""Every error selfservice raises, in one place.

Catch :class:`SelfServiceError` to handle them all. The tree::

    SelfServiceError
    ├── SettingsError          a Settings field is invalid (names the field)
    ├── ContentError           an article or manual cannot be loaded
    │   ├── FrontMatterError   YAML front matter is malformed or has a bad value
    │   └── DuplicateSlugError two files claim the same slug
    ├── TemplateError          a template cannot be found or rendered
    ├── SearchError            the search index cannot answer
    │   ├── QueryError         the query cannot be understood (shown to the customer)
    │   └── IndexBusyError     another process holds the index writer lock too long
    └── StoreError             the database cannot be read or written
        └── SchemaBehindError  the database schema needs `selfservice db upgrade`

Every message says what went wrong *and* what to do about it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ContentError",
    "DuplicateSlugError",
    "FrontMatterError",
    "IndexBusyError",
    "QueryError",
    "SchemaBehindError",
    "SearchError",
    "SelfServiceError",
    "SettingsError",
    "StoreError",
    "TemplateError",
]


class SelfServiceError(Exception):
    """Base class of every error raised by selfservice."""


class SettingsError(SelfServiceError, ValueError):
    """A :class:`~selfservice.Settings` field holds a value that cannot work."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"Settings.{field}: {message}")


class ContentError(SelfServiceError):
    """An article or manual file cannot be used; ``path`` and ``line`` locate it."""

    def __init__(self, message: str, path: Path | str | None = None, line: int = 1) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.message = message
        where = f"{self.path}:{line}: " if self.path is not None else ""
        super().__init__(f"{where}{message}")


class FrontMatterError(ContentError):
    """The YAML front matter between the ``---`` lines is malformed or has a bad value."""


class DuplicateSlugError(ContentError):
    """Two files would be served at the same URL; rename one or set ``slug:``."""


class TemplateError(SelfServiceError):
    """A template is missing from every folder of the lookup order, or failed to render."""


class SearchError(SelfServiceError):
    """The search index cannot answer; rebuild it with ``selfservice index``."""


class QueryError(SearchError):
    """The customer's query cannot be run; the message is safe to show them."""


class IndexBusyError(SearchError):
    """Another process held the index writer lock past the timeout; try again shortly."""


class StoreError(SelfServiceError):
    """The database cannot be read or written; check ``Settings.database_url``."""


class SchemaBehindError(StoreError):
    """The database schema is older than this version; run ``selfservice db upgrade``."""
