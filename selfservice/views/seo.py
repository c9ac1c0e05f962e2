"""Being found: ``sitemap.xml``, ``robots.txt``, an Atom feed, an OpenSearch description and
the JSON-LD that article pages embed (Article, BreadcrumbList, FAQPage, HowTo).

All URLs here are absolute: ``Settings.base_url`` when set (recommended in production, so a
spoofed ``Host`` header cannot put foreign links in a cached sitemap), else the request's.
A portal mounted under ``/help`` serves ``/help/robots.txt``; crawlers only read
``/robots.txt`` at the site root, so hosts that want it should serve the portal's text there
or add its ``Sitemap:`` line to their own (see docs/seo.md).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timezone
from html import unescape
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response

from ..caching import Prepared, prepare
from ..content import Article, Library
from ..state import portal_state
from .rendering import absolute_root, render_cached

__all__ = ["FEED_SIZE", "article_jsonld", "feed", "opensearch", "robots", "sitemap"]

FEED_SIZE = 20
_TAG_RE = re.compile(r"<[^>]+>")
_SECTION_RE = re.compile(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_OL_RE = re.compile(r"<ol[^>]*>(.*?)</ol>", re.S)
_LI_RE = re.compile(r"<li[^>]*>(.*?)</li>", re.S)


def _text(html: str) -> str:
    return " ".join(unescape(_TAG_RE.sub(" ", html)).split())


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _published(lib: Library) -> list[Article]:
    return sorted(lib.articles.values(), key=lambda a: a.slug)


async def robots(request: Request) -> Response:
    root = absolute_root(request)
    body = f"User-agent: *\nAllow: /\nDisallow: /search\nDisallow: /api/\n\nSitemap: {root}/sitemap.xml\n"
    return render_cached(request, ("robots.txt", root), lambda: prepare(body, "text/plain; charset=utf-8"))


async def sitemap(request: Request) -> Response:
    state = portal_state(request)
    root = absolute_root(request)

    def build() -> Prepared:
        lib = state.library
        rows: list[tuple[str, str | None]] = [(f"{root}/", _day(max((a.updated for a in lib.articles.values() if a.updated), default=None)))]
        rows += [(f"{root}/c/{c.slug}", None) for c in lib.sorted_categories()]
        rows += [(f"{root}{a.url_path}", _day(a.updated)) for a in _published(lib)]
        for versions in lib.manuals.values():
            for manual in versions.values():
                if not manual.is_latest:
                    continue  # old versions point to the latest with a banner; keep them out of the index
                rows.append((f"{root}/m/{manual.key}/", None))
                for slug in manual.chapters:
                    chapter = lib.chapters.get(slug)
                    if chapter is not None:
                        rows.append((f"{root}{chapter.url_path}", _day(chapter.updated)))
        parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for loc, lastmod in rows:
            parts.append(f"<url><loc>{xml_escape(loc)}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>")
        parts.append("</urlset>\n")
        return prepare("\n".join(parts), "application/xml; charset=utf-8")

    return render_cached(request, ("sitemap.xml", root), build)


def _rfc3339(d: date) -> str:
    return datetime.combine(d, time(0, 0), tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


async def feed(request: Request) -> Response:
    state = portal_state(request)
    root = absolute_root(request)

    def build() -> Prepared:
        recent = state.library.recent(FEED_SIZE)
        newest = recent[0].updated if recent else date(2000, 1, 1)
        site = xml_escape(state.settings.site_name)
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom">',
            f"<title>{site}: updated articles</title>",
            f"<id>{xml_escape(root)}/feed.atom</id>",
            f"<link rel=\"self\" href={quoteattr(root + '/feed.atom')}/>",
            f"<link rel=\"alternate\" type=\"text/html\" href={quoteattr(root + '/')}/>",
            f"<updated>{_rfc3339(newest or date(2000, 1, 1))}</updated>",
            f"<author><name>{site}</name></author>",
        ]
        for a in recent:
            url = f"{root}{a.url_path}"
            parts += [
                "<entry>",
                f"<title>{xml_escape(a.title)}</title>",
                f"<id>{xml_escape(url)}</id>",
                f"<link href={quoteattr(url)}/>",
                f"<updated>{_rfc3339(a.updated or newest or date(2000, 1, 1))}</updated>",
                f"<summary>{xml_escape(a.summary or a.body_text[:280])}</summary>",
                "</entry>",
            ]
        parts.append("</feed>\n")
        return prepare("\n".join(parts), "application/atom+xml; charset=utf-8")

    return render_cached(request, ("feed.atom", root), build)


async def opensearch(request: Request) -> Response:
    state = portal_state(request)
    root = absolute_root(request)
    name = xml_escape(state.settings.site_name[:16])
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">\n'
        f"<ShortName>{name}</ShortName>\n"
        f"<Description>Search {xml_escape(state.settings.site_name)}</Description>\n"
        "<InputEncoding>UTF-8</InputEncoding>\n"
        f"<Url type=\"text/html\" method=\"get\" template={quoteattr(root + '/search?q={searchTerms}')}/>\n"
        f"<Url type=\"application/json\" method=\"get\" template={quoteattr(root + '/api/search?q={searchTerms}')}/>\n"
        "</OpenSearchDescription>\n"
    )
    return render_cached(
        request, ("opensearch.xml", root), lambda: prepare(body, "application/opensearchdescription+xml; charset=utf-8")
    )


def _faq(article: Article) -> list[dict[str, object]]:
    """Sections whose heading is a question, answered by the text up to the next heading."""
    html = article.body_html
    found = list(_SECTION_RE.finditer(html))
    out: list[dict[str, object]] = []
    for i, m in enumerate(found):
        question = _text(m.group(3))
        if not question.endswith("?"):
            continue
        end = found[i + 1].start() if i + 1 < len(found) else len(html)
        answer = _text(html[m.end() : end])
        if answer:
            out.append({"@type": "Question", "name": question, "acceptedAnswer": {"@type": "Answer", "text": answer}})
    return out


def _steps(article: Article) -> list[dict[str, object]]:
    """The first numbered list with at least two items, as HowTo steps."""
    m = _OL_RE.search(article.body_html)
    if m is None:
        return []
    items = [_text(li) for li in _LI_RE.findall(m.group(1))]
    items = [t for t in items if t]
    return [{"@type": "HowToStep", "position": i, "text": t} for i, t in enumerate(items, 1)] if len(items) >= 2 else []


def article_jsonld(article: Article, url: str, breadcrumbs: list[tuple[str, str]], site_name: str) -> str:
    """The JSON-LD ``@graph`` for an article page, safe to put inside ``<script type="application/ld+json">``."""
    graph: list[dict[str, object]] = [
        {
            "@type": "Article",
            "headline": article.title[:110],
            "description": article.summary or article.body_text[:155],
            "url": url,
            "mainEntityOfPage": url,
            "inLanguage": article.locale.replace("_", "-"),
            "publisher": {"@type": "Organization", "name": site_name},
            **({"dateModified": article.updated.isoformat()} if article.updated else {}),
            **({"keywords": ", ".join(article.tags + article.keywords)} if article.tags or article.keywords else {}),
        },
        {
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": i, "name": name, "item": href}
                for i, (name, href) in enumerate(breadcrumbs, 1)
            ],
        },
    ]
    faq = _faq(article)
    if len(faq) >= 2:
        graph.append({"@type": "FAQPage", "mainEntity": faq})
    steps = _steps(article)
    if steps:
        graph.append({"@type": "HowTo", "name": article.title, "step": steps})
    text = json.dumps({"@context": "https://schema.org", "@graph": graph}, ensure_ascii=False, separators=(",", ":"))
    # Nothing in the data can end the <script> element or open a comment.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
