"""Manual pages: manual home with contents, chapters, the print view and attachments.

URLs: ``/m/<id>/`` (→ latest version), ``/m/<id>/<version>/``, ``/m/<id>/<version>/<chapter>``,
``/m/<id>/<version>/print`` and ``/m/<id>/<version>/files/<name>``. ``latest`` in place of a
version redirects (302) to the current version, so bookmarks and links from articles never
go stale while each page keeps one canonical URL.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from ..content import Article
from ..i18n import translator
from ..manuals import ATTACHMENT_TYPES, Manual
from ..state import portal_state
from .rendering import PageMeta, render, render_cached, url_builder

__all__ = ["attachment", "chapter", "manual_home", "manual_latest", "print_view"]


def _manual(request: Request) -> Manual | Response:
    """The manual version named in the URL, or a redirect when the URL says ``latest``."""
    state = portal_state(request)
    mid = request.path_params["manual"]
    versions = state.library.manuals.get(mid)
    _ = translator(request).gettext
    if versions is None:
        raise HTTPException(404, _("There is no manual called “%(manual)s”.") % {"manual": mid[:80]})
    version = request.path_params.get("version", "latest")
    if version == "latest":
        version = next(m.version for m in versions.values() if m.is_latest)
        rest = request.url.path.split("/latest", 1)[1] if "/latest" in request.url.path else "/"
        target = url_builder(request)("manual_home", manual=mid, version=version).rstrip("/") + (rest or "/")
        return RedirectResponse(target + (f"?{request.url.query}" if request.url.query else ""), status_code=302)
    manual = versions.get(version)
    if manual is None:
        raise HTTPException(404, _("The %(manual)s manual has no version “%(version)s”. Versions: %(versions)s.")
                            % {"manual": mid, "version": version[:40], "versions": ", ".join(versions)})
    return manual


def _chapters(request: Request, manual: Manual) -> list[Article]:
    lib = portal_state(request).library
    return [lib.chapters[s] for s in manual.chapters if s in lib.chapters]


def _crumbs(request: Request, manual: Manual, here: str | None = None) -> list[tuple[str, str | None]]:
    url = url_builder(request)
    crumbs: list[tuple[str, str | None]] = [(translator(request).gettext("Home"), url("home"))]
    home = url("manual_home", manual=manual.id, version=manual.version)
    crumbs.append((f"{manual.title} {manual.version}", home if here else None))
    if here:
        crumbs.append((here, None))
    return crumbs


def _versions(request: Request, manual: Manual, chapter_stem: str | None) -> list[tuple[str, str, bool]]:
    """(version, url, is_current) for the version switcher: same chapter where it exists."""
    lib = portal_state(request).library
    url = url_builder(request)
    out = []
    for v in manual.versions:
        if chapter_stem and f"{manual.id}/{v}/{chapter_stem}" in lib.chapters:
            href = url("chapter", manual=manual.id, version=v, chapter=chapter_stem)
        else:
            href = url("manual_home", manual=manual.id, version=v)
        out.append((v, href, v == manual.version))
    return out


async def manual_latest(request: Request) -> Response:
    found = _manual(request)
    if isinstance(found, Response):
        return found
    raise HTTPException(404)  # pragma: no cover - without a version _manual always redirects


async def manual_home(request: Request) -> Response:
    manual = _manual(request)
    if isinstance(manual, Response):
        return manual
    state = portal_state(request)

    def build():  # type: ignore[no-untyped-def]
        return render(
            request,
            "manual.html",
            page=PageMeta(f"{manual.title} {manual.version} – {state.settings.site_name}", manual.description),
            breadcrumbs=_crumbs(request, manual),
            manual=manual,
            chapters={a.slug: a for a in _chapters(request, manual)},
            versions=_versions(request, manual, None),
        )

    return render_cached(request, ("manual", manual.key), build)


async def chapter(request: Request) -> Response:
    manual = _manual(request)
    if isinstance(manual, Response):
        return manual
    state = portal_state(request)
    stem = request.path_params["chapter"]
    slug = f"{manual.key}/{stem}"
    art = state.library.chapters.get(slug)
    if art is None:
        raise HTTPException(404, translator(request).gettext("The %(manual)s %(version)s has no chapter “%(chapter)s”.")
                            % {"manual": manual.title, "version": manual.version, "chapter": stem[:80]})

    def build():  # type: ignore[no-untyped-def]
        prev_slug, next_slug = manual.neighbours(slug)
        lib = state.library
        return render(
            request,
            "chapter.html",
            page=PageMeta(f"{art.title} – {manual.title} {manual.version}", art.summary or art.body_text[:155]),
            breadcrumbs=_crumbs(request, manual, art.title),
            manual=manual,
            article=art,
            chapters={a.slug: a for a in _chapters(request, manual)},
            previous=lib.chapters.get(prev_slug) if prev_slug else None,
            next=lib.chapters.get(next_slug) if next_slug else None,
            versions=_versions(request, manual, stem),
            latest_url=None
            if manual.is_latest
            else _versions(request, manual, stem)[manual.versions.index(manual.latest_version)][1],
        )

    return render_cached(request, ("chapter", slug), build)


async def print_view(request: Request) -> Response:
    manual = _manual(request)
    if isinstance(manual, Response):
        return manual
    state = portal_state(request)
    _ = translator(request).gettext

    def build():  # type: ignore[no-untyped-def]
        title = _("%(manual)s %(version)s (print)") % {"manual": manual.title, "version": manual.version}
        return render(
            request,
            "manual_print.html",
            page=PageMeta(f"{title} – {state.settings.site_name}", manual.description, noindex=True),
            breadcrumbs=_crumbs(request, manual, _("Print")),
            manual=manual,
            chapters=[(a, print_html(a.body_html, i)) for i, a in enumerate(_chapters(request, manual), 1)],
        )

    return render_cached(request, ("print", manual.key), build)


_ID_RE = re.compile(r'(\sid="|\shref="#)([^"]+)"')
_HEADING_RE = re.compile(r"<(/?)h([2-5])\b")


def print_html(html: str, n: int) -> str:
    """A chapter body for the one-page print view: unique ids, headings one level down."""
    html = _ID_RE.sub(lambda m: f'{m.group(1)}ch{n}-{m.group(2)}"', html)
    return _HEADING_RE.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", html)


async def attachment(request: Request) -> Response:
    """A file stored next to the chapters: allowed types only, never outside the folder."""
    manual = _manual(request)
    if isinstance(manual, Response):
        return manual
    name = request.path_params["path"]
    folder = manual.folder.resolve()
    path = (folder / name).resolve()
    suffix = path.suffix.lower()
    if (
        folder not in path.parents
        or any(part.startswith(".") for part in Path(name).parts)
        or suffix not in ATTACHMENT_TYPES
        or not path.is_file()
    ):
        raise HTTPException(404, translator(request).gettext("There is no such file in this manual."))
    headers = {
        "cache-control": "public, max-age=3600",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    if suffix in (".pdf", ".zip", ".csv", ".txt"):
        headers["content-disposition"] = f'inline; filename="{path.name}"'
    return FileResponse(path, media_type=ATTACHMENT_TYPES[suffix], headers=headers)
