"""Property-based tests of the JSON API from its own OpenAPI description (schemathesis):
no input produces a server error, and every response matches the documented schema."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the API fuzzing needs schemathesis (in the test extra)")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from selfservice import Settings, create_portal  # noqa: E402
from selfservice.settings import demo_content_dir  # noqa: E402
from tests.conftest import SECRET  # noqa: E402

_DATA = Path(tempfile.mkdtemp(prefix="ss-schemathesis-"))
atexit.register(shutil.rmtree, _DATA, True)
app = create_portal(Settings(content_dirs=[demo_content_dir()], secret_key=SECRET, data_dir=_DATA))
schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_errors_and_matches_its_schema(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=(not_a_server_error,))
    if response.status_code < 400:
        case.validate_response(response)
