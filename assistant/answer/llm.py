"""The optional LLM answerer: any LangChain chat model, prompts from `prompts/`, tokens streamed.

The model cites passage numbers; `citations.py` then pins each claim to the exact sentence
of that passage that supports it, and drops what no sentence supports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from assistant.answer.extractive import NOT_FOUND
from assistant.config import Settings, default_prompts_dir
from assistant.records import Passage

if TYPE_CHECKING:  # langchain_core costs a second to import: only when the LLM path runs
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.prompts import ChatPromptTemplate


class LLMError(RuntimeError):
    """The model endpoint failed; the message is a one-line reason for the user."""


def load_prompt(settings: Settings) -> tuple["ChatPromptTemplate", str]:
    from langchain_core.prompts import ChatPromptTemplate

    folder = settings.prompts_dir or default_prompts_dir()
    try:
        system = (folder / "answer_system.txt").read_text(encoding="utf-8")
        user = (folder / "answer_user.txt").read_text(encoding="utf-8")
        passage = (folder / "passage.txt").read_text(encoding="utf-8")
    except OSError as exc:
        raise LLMError(f"cannot read prompt templates in {folder}: {exc.strerror or exc}") from exc
    return ChatPromptTemplate.from_messages([("system", system), ("human", user)]), passage


def format_passages(passages: Sequence[Passage], template: str) -> str:
    out = []
    for n, p in enumerate(passages, start=1):
        c = p.chunk
        byline = ""
        if c.authors or c.published:
            byline = " — " + ", ".join(filter(None, [" and ".join(c.authors), c.published or ""]))
        # square brackets inside passage text could pose as citation markers
        text = c.text.replace("[", "(").replace("]", ")")
        out.append(template.format(n=n, title=c.title.replace('"', "'"), byline=byline, text=text).strip())
    return "\n\n".join(out)


def make_chat_model(settings: Settings) -> "BaseChatModel":
    if settings.llm_provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as exc:
            raise LLMError("llm_provider = 'ollama' needs `pip install langchain-ollama`") from exc
        base = settings.llm_base_url.removesuffix("/v1") if settings.llm_base_url else None
        return ChatOllama(model=settings.llm_model, base_url=base, temperature=settings.llm_temperature,
                          client_kwargs={"timeout": settings.llm_timeout})
    if settings.llm_provider != "openai":
        raise LLMError(f"unknown llm_provider {settings.llm_provider!r} (use 'openai' or 'ollama')")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                      timeout=settings.llm_timeout, max_retries=settings.llm_retries,
                      temperature=settings.llm_temperature, streaming=True)


class LLMAnswerer:
    def __init__(self, settings: Settings, model: "BaseChatModel | None" = None) -> None:
        self.settings = settings
        self.prompt, self.passage_template = load_prompt(settings)
        self._model = model

    @property
    def model(self) -> "BaseChatModel":
        if self._model is None:
            self._model = make_chat_model(self.settings)
        return self._model

    def messages(self, question: str, passages: Sequence[Passage]) -> list:
        return self.prompt.format_messages(passages=format_passages(passages, self.passage_template),
                                           question=question, not_found=NOT_FOUND)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Yield text pieces as the model writes them; LLMError on any endpoint failure."""
        produced = False
        try:
            for piece in self.model.stream(self.messages(question, passages)):
                text = piece.content if isinstance(piece.content, str) else "".join(
                    part.get("text", "") if isinstance(part, dict) else str(part) for part in piece.content)
                if text:
                    produced = True
                    yield text
        except LLMError:
            raise
        except Exception as exc:
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            where = "mid-answer" if produced else "before answering"
            raise LLMError(f"the model endpoint {self.settings.llm_base_url} failed {where}: {type(exc).__name__}: {reason}") from exc
        if not produced:
            raise LLMError(f"the model endpoint {self.settings.llm_base_url} returned an empty answer")
