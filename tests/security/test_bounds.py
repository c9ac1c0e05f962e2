"""Resource and path attacks: pathological markdown and queries stay bounded (fuzzed),
traversal never leaves the allowed folders, oversized and slow bodies are cut off."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from selfservice import Settings, create_portal
from selfservice.markup import render
from selfservice.search.grammar import parse_query
from tests.live import serve_at

# Markdown built from the characters that drive markdown-it's backtracking.
_MD_ALPHABET = st.sampled_from(list("[]()!*_`<>\\#-|: \n~^\"'&") + ["\n\n", "    ", "- ", "1. ", "!!! note\n", "[^a]", "http://x"])
_MD = st.lists(_MD_ALPHABET, max_size=4000).map("".join)


@settings(max_examples=60, deadline=timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(_MD)
def test_renderer_is_bounded_and_safe_on_fuzzed_markdown(source: str) -> None:
    html = render(source).html
    assert "<script" not in html.lower()


@settings(max_examples=200, deadline=timedelta(milliseconds=200), derandomize=True)
@given(st.text(max_size=3000))
def test_query_parser_is_bounded_on_any_text(text: str) -> None:
    parsed = parse_query(text, max_terms=32, max_length=512)
    assert len(parsed.include) + len(parsed.exclude) <= 32 * 2


@pytest.mark.parametrize(
    "path",
    [
        "/help/static/../app.py",
        "/help/static/%2e%2e/app.py",
        "/help/static/..%2fsettings.py",
        "/help/static/portal.css",  # unfingerprinted names are not served
        "/help/static//etc/passwd",
        "/help/a/..%2f..%2fetc%2fpasswd",
        "/help/a/%2e%2e",
        "/help/m/larkspur-hub/3.x/files/..%2fmanual.yml",
        "/help/m/larkspur-hub/3.x/files/%2e%2e/2.x/manual.yml",
        "/help/m/larkspur-hub/3.x/files/manual.yml",
        "/help/m/larkspur-hub/3.x/files/installation.md",
        "/help/m/..%2f..%2f/3.x/",
        "/help/widget.js/../../app.py",
    ],
)
def test_path_traversal_is_a_plain_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "root:" not in r.text and "import " not in r.text


def test_declared_oversized_body_is_413_before_reading(client: TestClient) -> None:
    r = client.post("/help/search", content=b"x" * (1_048_576 + 1), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_streamed_oversized_body_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(300):
            yield b"y" * 8192

    r = client.post("/help/search", content=chunks(), headers={"content-type": "application/octet-stream"})
    assert r.status_code in (405, 413)  # nothing accepts a POST body here; if it did, the cap applies


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    portal = create_portal(Settings(demo=True, data_dir=tmp_path_factory.mktemp("slow"), body_timeout=0.3))

    async def echo(request: Request) -> PlainTextResponse:  # a POST endpoint that reads its body
        return PlainTextResponse(str(len(await request.body())))

    portal.router.routes.insert(0, Route("/echo", echo, methods=["POST"]))
    with serve_at(Starlette(routes=[Mount("/help", app=portal)])) as origin:
        yield int(origin.rsplit(":", 1)[1])


def _post_raw(port: int, head_and_partial_body: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head_and_partial_body)  # then say nothing more: a slowloris client
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


def test_a_trickled_body_is_cut_off_with_408(slow_server: int) -> None:
    reply = _post_raw(
        slow_server,
        b"POST /help/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc",
    )
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def test_a_prompt_body_is_served(slow_server: int) -> None:
    reply = _post_raw(
        slow_server,
        b"POST /help/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"3")
