from pathlib import Path

import pytest

from assistant.config import ConfigError, Settings, legacy_index_note, load_settings, short_path


@pytest.fixture
def user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user whose $XDG_DATA_HOME is a temp folder (platformdirs reads it from the environment)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def test_defaults_use_the_bundled_model_and_the_per_user_index(tmp_path: Path, user_data: Path) -> None:
    s = load_settings(cwd=tmp_path, env={})
    assert s.model.startswith("bundled:")
    assert s.index_dir == user_data / "assistant" / "index" and s.index_origin == "default"
    assert s.chroma_url is None and s.answerer == "extractive"


def test_a_config_file_in_a_parent_folder_names_the_index(tmp_path: Path, user_data: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.assistant]\nindex_dir = "index"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    s = load_settings(cwd=deep, env={})
    assert s.index_dir == tmp_path / "index" and s.index_origin == "config"


def test_the_nearest_config_file_wins(tmp_path: Path, user_data: Path) -> None:
    (tmp_path / "assistant.toml").write_text('index_dir = "outer"\n')
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "assistant.toml").write_text('index_dir = "idx"\n')
    assert load_settings(cwd=tmp_path / "inner", env={}).index_dir == tmp_path / "inner" / "idx"


def test_a_pyproject_without_an_assistant_table_is_passed_over(tmp_path: Path, user_data: Path) -> None:
    (tmp_path / "assistant.toml").write_text('k = 7\n')
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_settings(cwd=tmp_path / "proj", env={}).k == 7


def test_the_environment_and_flags_name_another_index_relative_to_the_working_folder(tmp_path: Path, user_data: Path) -> None:
    (tmp_path / "assistant.toml").write_text('index_dir = "from-config"\n')
    (tmp_path / "sub").mkdir()
    env = load_settings(cwd=tmp_path / "sub", env={"ASSISTANT_INDEX_DIR": "from-env"})
    assert env.index_dir == tmp_path / "sub" / "from-env" and env.index_origin == "environment"
    flag = load_settings(cwd=tmp_path / "sub", env={"ASSISTANT_INDEX_DIR": "from-env"}, index_dir=Path("flag"))
    assert flag.index_dir == tmp_path / "sub" / "flag" and flag.index_origin == "flags"


def test_an_index_from_before_in_the_working_folder_is_still_used(tmp_path: Path, user_data: Path) -> None:
    (tmp_path / "index" / "chroma").mkdir(parents=True)
    s = load_settings(cwd=tmp_path, env={})
    assert s.index_dir == tmp_path / "index" and s.index_origin == "legacy"


def test_an_index_from_before_is_announced_once(tmp_path: Path, user_data: Path) -> None:
    (tmp_path / "index" / "chroma").mkdir(parents=True)
    s = load_settings(cwd=tmp_path, env={}).replace(state_dir=tmp_path / "state")
    note = legacy_index_note(s)
    assert note and str(tmp_path / "index") in note and "assistant/index" in note
    assert legacy_index_note(s) is None


def test_a_path_under_home_is_shown_with_a_tilde(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert short_path(tmp_path / "docs" / "a.txt") == "~/docs/a.txt"
    assert short_path("/elsewhere/a.txt") == "/elsewhere/a.txt"
    assert short_path("https://example.org/a") == "https://example.org/a"


def test_toml_then_env_then_flags_override_in_that_order(tmp_path: Path) -> None:
    (tmp_path / "assistant.toml").write_text('k = 7\nanswerer = "llm"\nchunk_size = 500\n')
    s = load_settings(cwd=tmp_path, env={"ASSISTANT_K": "9"}, answerer="extractive")
    assert (s.k, s.answerer, s.chunk_size) == (9, "extractive", 500)


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.assistant]\nindex_dir = "data/idx"\n')
    assert load_settings(cwd=tmp_path, env={}).index_dir == tmp_path / "data" / "idx"


def test_unknown_key_in_config_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "assistant.toml").write_text("chunk_sise = 3\n")
    with pytest.raises(ConfigError, match="chunk_sise"):
        load_settings(cwd=tmp_path, env={})


def test_bad_env_value_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'k'"):
        load_settings(cwd=tmp_path, env={"ASSISTANT_K": "many"})


def test_replace_ignores_flags_that_were_not_given() -> None:
    s = Settings().replace(k=None, answerer="llm")
    assert s.k == Settings().k and s.answerer == "llm"
