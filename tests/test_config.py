from pathlib import Path

import pytest

from assistant.config import ConfigError, Settings, load_settings


def test_defaults_use_the_bundled_model_and_local_index(tmp_path: Path) -> None:
    s = load_settings(cwd=tmp_path, env={})
    assert s.model.startswith("bundled:")
    assert s.index_dir == tmp_path / "index"
    assert s.chroma_url is None and s.answerer == "extractive"


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
