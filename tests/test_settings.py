from pathlib import Path

import pytest

from selfservice import Settings, SettingsError


def test_demo_defaults_validate_and_use_bundled_articles() -> None:
    s = Settings(demo=True).validate()
    assert s.content_paths[0].is_dir()
    assert any(s.content_paths[0].rglob("*.md"))
    assert s.db_url.startswith("sqlite+aiosqlite:///")
    assert s.index_path == Path(".selfservice") / "index"


def test_secret_key_required_in_production(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        Settings(content_dirs=[tmp_path]).validate()
    assert info.value.field == "secret_key"
    assert "Settings.secret_key" in str(info.value)


def test_key_rotation_list_newest_first(tmp_path: Path) -> None:
    s = Settings(content_dirs=[tmp_path], secret_key=["n" * 32, "o" * 32]).validate()
    assert s.secret_keys == ("n" * 32, "o" * 32)


def test_debug_gets_a_stable_ephemeral_key(tmp_path: Path) -> None:
    s = Settings(content_dirs=[tmp_path], debug=True).validate()
    assert s.secret_keys == s.secret_keys and len(s.secret_keys[0]) >= 32


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("content_dirs", ["/definitely/not/here"]),
        ("base_url", "example.com/help"),
        ("base_url", "javascript:alert(1)"),
        ("theme", "../../etc"),
        ("theme_variables", {"--ss-accent": "red;} body{display:none"}),
        ("theme_variables", {"color": "red"}),
        ("secret_key", "short"),
        ("database_url", "not a url"),
        ("locale", "english please"),
        ("page_size", 0),
        ("page_size", True),
        ("max_body_bytes", 10),
        ("search_time_limit", 0),
        ("allowed_origins", ["*"]),
        ("allowed_origins", ["https://shop.example/path"]),
        ("site_name", "  "),
    ],
)
def test_bad_field_is_named(tmp_path: Path, field: str, value: object) -> None:
    kwargs: dict[str, object] = {"content_dirs": [tmp_path], "secret_key": "k" * 32, field: value}
    with pytest.raises(SettingsError) as info:
        Settings(**kwargs).validate()  # type: ignore[arg-type]
    assert info.value.field == field


def test_strings_are_coerced(tmp_path: Path) -> None:
    s = Settings(content_dirs=str(tmp_path), template_dirs=str(tmp_path), secret_key="k" * 32)
    assert s.content_dirs == (tmp_path,)
    assert s.template_dirs == (tmp_path,)
