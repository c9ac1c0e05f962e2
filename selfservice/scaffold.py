"""A new article's first draft: the file ``selfservice new`` writes and insights' "write an
article" downloads, so both start writers from the same template.

The draft is marked ``draft: true`` and its summary is a sentence the writer must replace
(``selfservice check`` reports drafts), so a scaffold never goes live by accident.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date

__all__ = ["SUMMARY_PLACEHOLDER", "article_draft", "slugify"]

SUMMARY_PLACEHOLDER = "One sentence that tells the customer what this article helps them do."


def slugify(title: str) -> str:
    """``"Reset your password!"`` → ``"reset-your-password"`` (ASCII letters and digits, 80 at most)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:80].rstrip("-")


def article_draft(title: str, *, keywords: Sequence[str] = (), today: date | None = None) -> str:
    """The markdown of a new draft article: YAML front matter, then a skeleton to fill in.

    Strings are written as JSON, which is valid YAML and quotes anything a title may hold."""
    words = json.dumps(list(keywords), ensure_ascii=False)
    return (
        "---\n"
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        f"summary: {SUMMARY_PLACEHOLDER}\n"
        "tags: []\n"
        f"keywords: {words}\n"
        f"updated: {(today or date.today()).isoformat()}\n"
        "draft: true\n"
        "---\n\n"
        "Start with what the customer wants to achieve, in one or two sentences.\n\n"
        "## Steps\n\n1. First step.\n2. Second step.\n\n"
        "## If it did not work\n\nWhat to try next, and how to contact us.\n"
    )
