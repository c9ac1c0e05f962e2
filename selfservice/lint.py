"""``selfservice check``: what a writer should fix before publishing.

Reports ``file:line: level: message`` problems: front matter that does not parse, missing
titles, duplicate slugs, unknown keys (warnings), unknown ``related`` slugs and internal
links or anchors that lead nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .content import Library, Problem, load_library

__all__ = ["check_content", "check_library"]

_ID_RE = re.compile(r'\sid="([^"]+)"')


def _anchors(html: str) -> set[str]:
    return set(_ID_RE.findall(html))


def check_library(lib: Library) -> list[Problem]:
    """Problems found while loading plus link problems across the whole library."""
    problems = list(lib.problems)
    docs = (*lib.articles.values(), *lib.drafts.values(), *lib.chapters.values())
    by_path = {a.path.resolve(): a for a in docs if a.path}
    all_slugs = set(lib.articles) | set(lib.drafts)
    anchors_cache: dict[str, set[str]] = {}
    for art in sorted(docs, key=lambda a: str(a.path)):
        assert art.path is not None
        for slug in art.related:
            if slug not in all_slugs:
                problems.append(Problem(art.path, 1, f"`related` names {slug!r}, which is not an article"))
        for target, line in art.links:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("mailto:", "tel:")):
                continue
            path_part, frag = unquote(parts.path), parts.fragment
            if not path_part:
                dest = art
            elif path_part.endswith(".md"):
                dest_path = (art.path.parent / path_part).resolve()
                found = by_path.get(dest_path)
                if found is None:
                    what = "a file that does not exist" if not dest_path.exists() else "a file that is not an article"
                    problems.append(Problem(art.path, line, f"broken link {target!r}: {what}"))
                    continue
                dest = found
            else:
                if not (art.path.parent / path_part).exists():
                    problems.append(Problem(art.path, line, f"broken link {target!r}: the file does not exist"))
                continue
            if frag:
                ids = anchors_cache.get(dest.slug)
                if ids is None:
                    ids = anchors_cache[dest.slug] = _anchors(dest.body_html)
                if frag not in ids:
                    problems.append(Problem(art.path, line, f"broken link {target!r}: no heading #{frag} there"))
    return problems


def check_content(paths: Sequence[Path | str]) -> list[Problem]:
    return check_library(load_library(paths))
