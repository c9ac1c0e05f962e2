from pathlib import Path
from starlette.testclient import TestClient
from selfservice import Settings, create_portal
from tests.conftest import SECRET

def test_min(tmp_path: Path, demo_dir: Path) -> None:
    app = create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path))
    with TestClient(app) as c:
        c.get("/")
