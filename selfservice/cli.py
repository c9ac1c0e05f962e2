"""The ``selfservice`` command: serve, check, index, new, templates.

Bad input ends with one line on stderr and exit status 2; ``check`` exits 1 when it found
errors. Every command maps its flags onto :class:`~selfservice.Settings`, so the CLI can do
nothing a host cannot do in Python.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import SelfServiceError
from .settings import Settings

__all__ = ["app_factory", "main"]

_ENV_SETTINGS = "SELFSERVICE_SETTINGS_JSON"
#: What `selfservice export` writes (the keys of selfservice.store.feedback.EXPORTS, spelled
#: out so that parsing the command line does not import SQLAlchemy).
EXPORTS = ("deflections", "feedback", "request-events", "requests", "surveys")


def _fail(message: str) -> NoReturn:
    print(f"selfservice: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    content = [str(Path(p).resolve()) for p in (getattr(args, "content", None) or [])]
    secret = os.environ.get("SELFSERVICE_SECRET_KEY") or None
    fields: dict[str, Any] = {
        "content_dirs": content,
        "demo": not content,
        "secret_key": secret,
        "data_dir": str(Path(getattr(args, "data_dir", ".selfservice")).resolve()),
        **extra,
    }
    for name in ("site_name", "theme", "base_url", "locale"):
        value = getattr(args, name, None)
        if value:
            fields[name] = value
    if getattr(args, "templates", None):
        fields["template_dirs"] = [str(Path(p).resolve()) for p in args.templates]
    if getattr(args, "semantic", False):
        fields["search_reranker"] = "semantic"
    url = getattr(args, "database_url", None) or os.environ.get("SELFSERVICE_DATABASE_URL")
    if url:
        fields["database_url"] = url
    return Settings(**fields)


def app_factory() -> Any:
    """Build the portal from settings the ``serve`` command put in the environment (for workers)."""
    import logging

    from .app import create_portal

    log = logging.getLogger("selfservice")
    if not log.handlers:  # the CLI owns its process; a host configures logging itself
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     selfservice: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    raw = os.environ.get(_ENV_SETTINGS)
    settings = Settings(**json.loads(raw)) if raw else Settings(demo=True)
    return create_portal(settings)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings_from_args(args, watch=bool(args.reload), debug=bool(args.reload))
    if settings.secret_key is None and not (settings.demo or settings.debug):
        _fail("set SELFSERVICE_SECRET_KEY to a long random string (or use --reload for a local preview)")
    try:
        settings.validate()
    except SelfServiceError as exc:
        _fail(str(exc))
    payload = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(settings).items() if not k.startswith("_")}
    payload["content_dirs"] = [str(p) for p in settings.content_dirs]
    payload["template_dirs"] = [str(p) for p in settings.template_dirs]
    payload["allowed_origins"] = list(settings.allowed_origins)
    os.environ[_ENV_SETTINGS] = json.dumps(payload)
    where = ", ".join(str(p) for p in settings.content_paths)
    print(f"selfservice: serving {where} at http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(
        "selfservice.cli:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        log_level="info",
        proxy_headers=False,
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from .lint import check_content

    for d in args.dirs:
        if not Path(d).is_dir():
            _fail(f"{d} is not a folder")
    problems = check_content(args.dirs)
    for p in problems:
        print(p)
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def _index(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .content import load_library
    from .search import SearchIndex

    for d in args.dirs:
        if not Path(d).is_dir():
            _fail(f"{d} is not a folder")
    index_dir = Path(args.index_dir) if args.index_dir else Path(args.data_dir) / "index"
    reranker = None
    if args.semantic:  # its title vectors are written with the index (docs/search.md)
        from .errors import SearchError
        from .search import SemanticReranker

        try:
            reranker = SemanticReranker()
        except SearchError as e:
            _fail(str(e))
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("Loading articles", total=None)
        lib = load_library(args.dirs)
        progress.update(task, total=1, completed=1)
        docs = lib.indexable()
        task = progress.add_task("Indexing", total=len(docs))

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        index = SearchIndex(index_dir, reranker=reranker)
        try:
            index.rebuild(docs, progress=step)
        finally:
            index.close()
    print(f"indexed {len(docs)} article(s) and chapter(s) into {index_dir}", file=sys.stderr)
    return 0


def _new(args: argparse.Namespace) -> int:
    from .scaffold import article_draft, slugify as _slugify

    root = Path(args.content)
    if not root.is_dir():
        _fail(f"{root} is not a folder")
    slug = args.slug or _slugify(args.title)
    if not slug:
        _fail("the title needs at least one letter or digit (or pass --slug)")
    category = _slugify(args.category) if args.category else "general"
    path = root / category / f"{slug}.md"
    if path.exists():
        _fail(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_draft(args.title), encoding="utf-8")
    print(path)
    return 0


def _templates(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .templating import which_templates
    from .theming import load_theme

    settings = _settings_from_args(args)
    try:
        settings.validate()
        theme = load_theme(settings.theme)
    except SelfServiceError as exc:
        _fail(str(exc))
    table = Table("template", "used", "shadowed")
    for choice in which_templates(settings, theme):
        table.add_row(choice.name, str(choice.winner), "\n".join(str(p) for p in choice.shadowed))
    Console().print(table)
    return 0


def _database_url(args: argparse.Namespace) -> str:
    """``--database-url``, else ``SELFSERVICE_DATABASE_URL``, else the SQLite file in ``--data-dir``."""
    url = getattr(args, "database_url", None) or os.environ.get("SELFSERVICE_DATABASE_URL")
    return url or Settings(data_dir=str(Path(args.data_dir).resolve())).db_url


def _db(args: argparse.Namespace) -> int:
    import asyncio

    from .store import current_revision, head_revision, upgrade
    from .store.engine import database_url

    url = _database_url(args)
    shown = database_url(url).render_as_string(hide_password=True)
    if args.action == "upgrade":
        before = asyncio.run(current_revision(url))
        asyncio.run(upgrade(url))
        after = asyncio.run(current_revision(url))
        change = "already current" if before == after else f"upgraded from {before or 'empty'}"
        print(f"{shown}: schema {after} ({change})", file=sys.stderr)
        return 0
    revision = asyncio.run(current_revision(url))
    head = head_revision()
    state = "current" if revision == head else f"behind: this version needs {head}; run `selfservice db upgrade`"
    print(f"{shown}: schema {revision or 'empty'} ({state})")
    return 0 if revision == head else 1


def _export(args: argparse.Namespace) -> int:
    import asyncio

    from .store import open_store
    from .store.feedback import rows

    since = None
    if args.since:
        from datetime import UTC, datetime

        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            _fail(f"--since {args.since!r} is not a date such as 2026-11-01")
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    try:
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        _fail(f"cannot write {args.output}: {exc.strerror or exc}")

    async def run() -> int:
        count = 0
        async with await open_store(_database_url(args)) as store:
            writer: Any = None
            if args.format == "json":
                out.write("[")
            async for row in rows(store, args.what, since=since):
                flat = {k: _export_value(v, args.format) for k, v in row.items()}
                if args.format == "json":
                    out.write(("," if count else "") + "\n" + json.dumps(flat, ensure_ascii=False))
                else:
                    if writer is None:
                        import csv

                        writer = csv.DictWriter(out, fieldnames=list(flat))
                        writer.writeheader()
                    writer.writerow(flat)
                count += 1
            if args.format == "json":
                out.write("\n]\n")
        return count

    try:
        count = asyncio.run(run())
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"exported {count} {args.what} row(s)", file=sys.stderr)
    return 0


def _export_value(value: Any, fmt: str) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat()
    if fmt == "csv" and isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfservice", description="A customer self-service portal.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", default=".selfservice", help="where the index and database live")

    p = sub.add_parser("serve", help="serve the portal with uvicorn")
    p.add_argument("--content", action="append", metavar="DIR", help="article folder (repeatable); default: demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--reload", action="store_true", help="writers' mode: pick up saved files within a second")
    p.add_argument("--theme")
    p.add_argument("--site-name")
    p.add_argument("--base-url")
    p.add_argument("--locale")
    p.add_argument("--templates", action="append", metavar="DIR", help="host template folder (repeatable)")
    p.add_argument("--semantic", action="store_true",
                   help="re-rank search results by meaning (needs the selfservice[semantic] extra)")  # fmt: skip
    p.add_argument("--database-url", help="SQLAlchemy URL of the store (default: $SELFSERVICE_DATABASE_URL, else "
                                          "the SQLite file in --data-dir); a server database must be at the newest "
                                          "schema: run `selfservice db upgrade` first")
    common(p)
    p.set_defaults(func=_serve)

    p = sub.add_parser("check", help="lint articles: front matter, slugs, links")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.set_defaults(func=_check)

    p = sub.add_parser("index", help="build the search index")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--index-dir")
    p.add_argument("--semantic", action="store_true",
                   help="write the semantic re-ranker's title vectors too (for `serve --semantic`)")  # fmt: skip
    common(p)
    p.set_defaults(func=_index)

    p = sub.add_parser("new", help="scaffold a new article (as a draft)")
    p.add_argument("title")
    p.add_argument("--category")
    p.add_argument("--slug")
    p.add_argument("--content", default=".", help="content folder (default: the current folder)")
    p.set_defaults(func=_new)

    def database(p: argparse.ArgumentParser) -> None:
        common(p)
        p.add_argument("--database-url", help="SQLAlchemy URL (default: $SELFSERVICE_DATABASE_URL, else "
                       "the SQLite file in --data-dir)")

    p = sub.add_parser("db", help="the database schema: `db upgrade` applies migrations, `db status` checks")
    p.add_argument("action", choices=["upgrade", "status"])
    database(p)
    p.set_defaults(func=_db)

    p = sub.add_parser("export", help="write feedback, surveys, requests … as CSV or JSON")
    p.add_argument("what", choices=EXPORTS)
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of to standard output")
    p.add_argument("--since", metavar="DATE", help="only rows created on or after this date (ISO 8601)")
    database(p)
    p.set_defaults(func=_export)

    p = sub.add_parser("templates", help="show which file wins for each template")
    p.add_argument("--theme")
    p.add_argument("--templates", action="append", metavar="DIR")
    p.add_argument("--content", action="append", metavar="DIR")
    common(p)
    p.set_defaults(func=_templates)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SelfServiceError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
