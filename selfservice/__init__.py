"""selfservice: a customer self-service portal you mount in any ASGI app.

>>> from selfservice import Settings, create_portal
>>> portal = create_portal(Settings(content_dirs=["kb_articles"], secret_key="..."))

Everything listed in ``__all__`` is the public API; other names may change.
"""

from __future__ import annotations

from .app import Portal, create_portal
from .content import Article, Category, Library, Problem, load_library
from .errors import (
    ContentError,
    DuplicateSlugError,
    FrontMatterError,
    IndexBusyError,
    QueryError,
    SchemaBehindError,
    SearchError,
    SelfServiceError,
    SettingsError,
    StoreError,
    TemplateError,
)
from .search import Reranker, SemanticReranker
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Category",
    "ContentError",
    "DuplicateSlugError",
    "FrontMatterError",
    "IndexBusyError",
    "Library",
    "Portal",
    "Problem",
    "QueryError",
    "Reranker",
    "SchemaBehindError",
    "SearchError",
    "SelfServiceError",
    "SemanticReranker",
    "Settings",
    "SettingsError",
    "StoreError",
    "TemplateError",
    "create_portal",
    "load_library",
    "__version__",
]
