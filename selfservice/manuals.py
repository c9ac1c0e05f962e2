"""User manuals: a folder with ``manual.yml`` and one markdown file per chapter.

``manual.yml``::

    id: larkspur-hub              # shared by every version of the manual
    title: Larkspur Hub user manual
    product: Larkspur Hub
    version: "3.x"
    latest: true                  # optional; default: the highest version
    description: One paragraph for the manual's home page.
    parts:                        # or a flat `chapters: [a.md, b.md]`
      - title: Getting set up
        chapters: [introduction.md, installation.md]

Chapters are loaded by :mod:`selfservice.content` like articles (same front matter, same
rendering, same search index) with ``Article.manual`` set to ``"<id>/<version>"`` and
served at ``/m/<id>/<version>/<chapter>``. Files next to the chapters (images, PDFs) are
attachments served from ``/m/<id>/<version>/files/<name>`` when their type is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ATTACHMENT_TYPES",
    "Manual",
    "ManualSpec",
    "Part",
    "find_manual_specs",
    "version_key",
]

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
ATTACHMENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".zip": "application/zip",
}


@dataclass(frozen=True, slots=True)
class Part:
    title: str
    chapters: tuple[str, ...]  # chapter slugs, in order


@dataclass(slots=True)
class ManualSpec:
    """A parsed ``manual.yml``: what a manual version promises to contain."""

    id: str
    title: str
    version: str
    folder: Path
    product: str = ""
    description: str = ""
    latest: bool | None = None
    parts: list[tuple[str, list[Path]]] = field(default_factory=list)  # (part title, chapter files)

    @property
    def key(self) -> str:
        return f"{self.id}/{self.version}"

    @property
    def chapter_files(self) -> list[Path]:
        return [p for _, files in self.parts for p in files]


@dataclass(slots=True)
class Manual:
    """One version of a manual, its chapters in reading order."""

    id: str
    title: str
    version: str
    product: str
    description: str
    parts: tuple[Part, ...]
    folder: Path
    is_latest: bool = False
    latest_version: str = ""
    versions: tuple[str, ...] = ()  # every version of this manual, newest first

    @property
    def key(self) -> str:
        return f"{self.id}/{self.version}"

    @property
    def chapters(self) -> tuple[str, ...]:
        return tuple(s for p in self.parts for s in p.chapters)

    def neighbours(self, chapter_slug: str) -> tuple[str | None, str | None]:
        """(previous, next) chapter slugs in reading order."""
        order = self.chapters
        i = order.index(chapter_slug)
        return (order[i - 1] if i > 0 else None, order[i + 1] if i + 1 < len(order) else None)


def version_key(version: str) -> tuple[tuple[int, object], ...]:
    """Natural sort key: ``10.x`` after ``9.x``, ``3.x`` after ``2.5``."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.findall(r"\d+|[A-Za-z]+", version))


def _chapter_list(value: Any, folder: Path, where: str, problems: list[tuple[Path, int, str]], yml: Path) -> list[Path]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append((yml, 1, f"{where} must be a non-empty list of chapter file names"))
        return []
    files = []
    for name in value:
        path = (folder / name).resolve()
        if path.parent != folder.resolve() or not name.endswith(".md"):
            problems.append((yml, 1, f"{where}: {name!r} must be a .md file in the manual's folder"))
        elif not path.is_file():
            problems.append((yml, 1, f"{where}: chapter file {name!r} does not exist"))
        else:
            files.append(folder / name)  # as given, so messages show the writer's own paths
    return files


def _parse(yml: Path, problems: list[tuple[Path, int, str]]) -> ManualSpec | None:
    try:
        data = yaml.safe_load(yml.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append((yml, mark.line + 1 if mark else 1, f"manual.yml is not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append((yml, 1, f"cannot read manual.yml: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append((yml, 1, "manual.yml must be a mapping (id:, title:, version:, parts: or chapters:)"))
        return None
    folder = yml.parent
    mid = str(data.get("id") or folder.parent.name).strip().lower()
    version = str(data.get("version") or folder.name).strip()
    title = str(data.get("title") or "").strip()
    ok = True
    if not ID_RE.match(mid):
        problems.append((yml, 1, f"manual id {mid!r} may only use a-z, 0-9 and '-'"))
        ok = False
    if not VERSION_RE.match(version):
        problems.append((yml, 1, f"version {version!r} may only use letters, digits, '.', '_' and '-'"))
        ok = False
    if not title:
        problems.append((yml, 1, "manual.yml needs a `title:`"))
        ok = False
    spec = ManualSpec(
        id=mid,
        title=title,
        version=version,
        folder=folder,
        product=str(data.get("product") or ""),
        description=" ".join(str(data.get("description") or "").split()),
        latest=bool(data["latest"]) if "latest" in data else None,
    )
    if "parts" in data:
        parts = data["parts"]
        if not isinstance(parts, list) or not parts:
            problems.append((yml, 1, "`parts:` must be a list of {title:, chapters: [...]}"))
            return None
        for i, part in enumerate(parts, 1):
            if not isinstance(part, dict) or not str(part.get("title") or "").strip():
                problems.append((yml, 1, f"part {i} needs a `title:` and `chapters:`"))
                continue
            files = _chapter_list(part.get("chapters"), folder, f"part {i} chapters", problems, yml)
            spec.parts.append((str(part["title"]).strip(), files))
    else:
        spec.parts.append(("", _chapter_list(data.get("chapters"), folder, "`chapters:`", problems, yml)))
    seen: set[Path] = set()
    for path in spec.chapter_files:
        if path.resolve() in seen:
            problems.append((yml, 1, f"chapter {path.name!r} is listed twice"))
            ok = False
        seen.add(path.resolve())
    for extra in sorted(folder.glob("*.md")):
        if extra.resolve() not in seen:
            problems.append((yml, 1, f"{extra.name} is in the manual's folder but not in manual.yml"))
    return spec if ok and spec.chapter_files else None


def find_manual_specs(root: Path, problems: list[tuple[Path, int, str]]) -> list[ManualSpec]:
    """Every valid ``manual.yml`` under ``root``; problems are appended, never raised."""
    specs = []
    seen: dict[str, Path] = {}
    for yml in sorted(root.rglob("manual.yml")):
        if any(part.startswith(".") for part in yml.relative_to(root).parts):
            continue
        spec = _parse(yml, problems)
        if spec is None:
            continue
        if spec.key in seen:
            problems.append((yml, 1, f"manual {spec.id} version {spec.version} is also defined in {seen[spec.key]}"))
            continue
        seen[spec.key] = yml
        specs.append(spec)
    return specs


def build_manuals(specs: list[ManualSpec], chapter_slugs: dict[Path, str]) -> dict[str, dict[str, Manual]]:
    """Group specs into manuals by id, versions newest first, with the latest marked."""
    out: dict[str, dict[str, Manual]] = {}
    by_id: dict[str, list[ManualSpec]] = {}
    for spec in specs:
        by_id.setdefault(spec.id, []).append(spec)
    for mid, versions in by_id.items():
        versions.sort(key=lambda s: version_key(s.version), reverse=True)
        flagged = [s for s in versions if s.latest]
        latest = flagged[0] if flagged else versions[0]
        names = tuple(s.version for s in versions)
        out[mid] = {}
        for s in versions:
            parts = tuple(
                Part(title, tuple(chapter_slugs[p.resolve()] for p in files if p.resolve() in chapter_slugs)) for title, files in s.parts
            )
            out[mid][s.version] = Manual(
                id=mid,
                title=s.title,
                version=s.version,
                product=s.product,
                description=s.description,
                parts=parts,
                folder=s.folder,
                is_latest=s is latest,
                latest_version=latest.version,
                versions=names,
            )
    return out
