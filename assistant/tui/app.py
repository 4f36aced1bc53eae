"""`assistant chat`: ask, read the answer, check every citation.

All engine work (loading the model, answering, re-indexing) runs in thread workers, so
the app accepts typing at once and stays usable while it thinks or re-indexes.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static

from assistant.config import Settings
from assistant.engine import Engine
from assistant.records import Answer, Document
from assistant.tui.export import conversation_markdown
from assistant.tui.screens import ArticleScreen, HelpScreen, SettingsScreen
from assistant.tui.state import save_ui_state
from assistant.tui.widgets import (AnswerMessage, EmptyIndexNotice, QuestionInput, QuestionMessage,
                                   SourcesPanel, WelcomeNotice)

WELCOME_TITLES = 5

NARROW = 100  # below this many columns the sources panel goes under the chat


class ChatApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "assistant"
    SUB_TITLE = "cited answers from your articles"
    BINDINGS = [
        Binding("ctrl+r", "reindex", "re-index"),
        Binding("ctrl+s", "save", "save"),
        Binding("ctrl+o", "settings", "settings"),
        Binding("f1", "help", "help"),
        Binding("question_mark", "help", "help", show=False),
        Binding("ctrl+l", "clear", "clear", show=False),
        Binding("ctrl+q", "quit", "quit"),
    ]

    def __init__(self, engine: Engine, settings: Settings, docs: list[Path], show_timings: bool = True,
                 save_dir: Path | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings
        self.docs = docs
        self.show_timings = show_timings
        self.save_dir = save_dir or Path.cwd()
        self.ready = False
        self.indexing = False
        self.pending: list[str] = []
        self.answers: list[Answer] = []
        self.selected: AnswerMessage | None = None
        self._doc_cache: dict[str, Document | None] = {}

    # --- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat-column"):
                yield VerticalScroll(id="chat", can_focus=True)
                yield ProgressBar(id="reindex-progress", show_eta=False)
                yield Static("loading model…", id="status")
                yield QuestionInput(id="question")
            with Vertical(id="sources-column"):
                yield Static("Sources", id="sources-title")
                yield SourcesPanel(id="sources")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reindex-progress").display = False
        self.query_one(SourcesPanel).show(None, {})
        self._apply_width(self.size.width)
        self.query_one(QuestionInput).focus()
        self.load_engine()

    def on_resize(self, event) -> None:  # noqa: ANN001
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        self.query_one("#main").set_class(width < NARROW, "narrow")

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _describe(self) -> str:
        s = self.engine.status()
        return f"ready: {s.describe()} · {self.settings.answerer}, k={self.settings.k}"

    # --- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load_engine(self) -> None:
        try:
            self.engine.warm()
        except Exception as exc:  # a broken index must be a message, not a crash
            self.call_from_thread(self._load_failed, str(exc))
            return
        self.call_from_thread(self._loaded)

    def _load_failed(self, message: str) -> None:
        self._status(f"cannot open the index: {message}")
        self.notify(message, title="index", severity="error", timeout=10)

    def _loaded(self) -> None:
        self.ready = True
        self._status(self._describe())
        self._show_empty_notice()
        chat = self.query_one("#chat", VerticalScroll)
        if self.engine.status().documents and not chat.query(AnswerMessage):
            sources = self.engine.sources()
            chat.mount(WelcomeNotice([x.title for x in sources[:WELCOME_TITLES]], len(sources)), before=0)
        queued, self.pending = self.pending, []
        for q in queued:
            self._ask(q, echo=False)

    def _show_empty_notice(self) -> None:
        chat = self.query_one("#chat", VerticalScroll)
        existing = chat.query(EmptyIndexNotice)
        if self.engine.status().documents == 0:
            if not existing:
                chat.mount(EmptyIndexNotice(", ".join(str(d) for d in self.docs)))
        else:
            existing.remove()

    # --- asking -----------------------------------------------------------------------

    @on(QuestionInput.Submitted)
    def on_question(self, event: QuestionInput.Submitted) -> None:
        question = event.value.strip()
        box = self.query_one(QuestionInput)
        box.remember(question)
        box.value = ""
        if not question:
            return
        if not self.ready:
            self.pending.append(question)
            self.notify("still loading the model; your question will run when it is ready", timeout=3)
            chat = self.query_one("#chat", VerticalScroll)
            chat.mount(QuestionMessage(question))
            return
        self._ask(question, echo=True)

    def _ask(self, question: str, echo: bool = False) -> None:
        chat = self.query_one("#chat", VerticalScroll)
        if echo:  # a question typed before the model was ready is on screen already
            chat.mount(QuestionMessage(question))
        message = AnswerMessage(show_timings=self.show_timings)
        chat.mount(message)
        chat.scroll_end(animate=False)
        self.answer_worker(question, message)

    @work(thread=True, group="ask")
    def answer_worker(self, question: str, message: AnswerMessage) -> None:
        streamed: list[str] = []
        last = 0.0
        try:
            for item in self.engine.ask_stream(question, k=self.settings.k, answerer=self.settings.answerer):
                if isinstance(item, str):
                    streamed.append(item)
                    if time.monotonic() - last > 0.05:  # redraw at most 20 times a second
                        last = time.monotonic()
                        self.call_from_thread(message.stream, "".join(streamed))
                else:
                    docs = {c.doc_id: self._document(c.doc_id) for c in item.citations}
                    self.call_from_thread(self._answered, message, item, docs)
        except Exception as exc:
            self.call_from_thread(self._answer_failed, message, f"{type(exc).__name__}: {exc}")

    def _document(self, doc_id: str) -> Document | None:
        if doc_id not in self._doc_cache:
            try:
                self._doc_cache[doc_id] = self.engine.document(doc_id)
            except Exception:
                self._doc_cache[doc_id] = None
        return self._doc_cache[doc_id]

    def _answered(self, message: AnswerMessage, answer: Answer, docs: dict[str, Document | None]) -> None:
        message.finish(answer)
        self.answers.append(answer)
        for w in answer.warnings:
            if "endpoint" in w or "model" in w:
                self.notify(w, title="model", severity="warning", timeout=6)
                break
        self._select(message)
        self.query_one("#chat", VerticalScroll).scroll_end(animate=False)

    def _answer_failed(self, message: AnswerMessage, error: str) -> None:
        message.update(f"*Could not answer: {error}*")
        message.remove_class("pending")
        self.notify(error, title="error", severity="error", timeout=8)

    # --- sources ----------------------------------------------------------------------

    def _select(self, message: AnswerMessage, n: int | None = None) -> None:
        if self.selected is not None:
            self.selected.remove_class("selected")
        self.selected = message
        message.add_class("selected")
        panel = self.query_one(SourcesPanel)
        answer = message.answer
        panel.show(answer, {c.doc_id: self._doc_cache.get(c.doc_id) for c in (answer.citations if answer else [])})
        if n is not None:
            if panel.select_number(n):
                panel.focus()
            else:
                self.notify(f"this answer has no citation [{n}]", timeout=3)

    @on(AnswerMessage.Selected)
    def on_answer_selected(self, event: AnswerMessage.Selected) -> None:
        self._select(event.message, event.n)

    def on_key(self, event) -> None:  # noqa: ANN001
        """Digits select a citation of the selected answer (the question box keeps its digits)."""
        if event.character and event.character.isdigit() and event.character != "0":
            if isinstance(self.focused, QuestionInput) or self.selected is None:
                return
            event.stop()
            self._select(self.selected, int(event.character))

    @on(SourcesPanel.OpenArticle)
    def open_article(self, event: SourcesPanel.OpenArticle) -> None:
        doc = self._document(event.citation.doc_id)
        if doc is None:
            self.notify("that article is no longer in the index", severity="warning")
            return
        self.push_screen(ArticleScreen(doc, event.citation))

    # --- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_clear(self) -> None:
        self.query_one("#chat", VerticalScroll).remove_children()
        self.answers.clear()
        self.selected = None
        self.query_one(SourcesPanel).show(None, {})
        self._show_empty_notice()

    def action_save(self) -> None:
        if not self.answers:
            self.notify("nothing to save yet", timeout=3)
            return
        path = self.save_dir / f"conversation-{datetime.now():%Y%m%d-%H%M%S}.md"
        try:
            path.write_text(conversation_markdown(self.answers), encoding="utf-8")
        except OSError as exc:
            self.notify(f"cannot save {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved {path}", title="conversation")

    def action_settings(self) -> None:
        def apply(result: tuple[str, int] | None) -> None:
            if result is None:
                return
            answerer, k = result
            self.settings = self.settings.replace(answerer=answerer, k=k)
            save_ui_state(self.settings)
            if self.ready:
                self._status(self._describe())
            self.notify(f"answerer {answerer}, k={k}", title="settings", timeout=3)

        self.push_screen(SettingsScreen(self.settings.answerer, self.settings.k), apply)

    def action_reindex(self) -> None:
        if self.indexing:
            self.notify("a re-index is already running", timeout=3)
            return
        self.indexing = True
        bar = self.query_one("#reindex-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._status(f"re-indexing {', '.join(str(d) for d in self.docs)}…")
        self.reindex_worker()

    @work(thread=True, exclusive=True, group="index")
    def reindex_worker(self) -> None:
        def progress(event) -> None:  # noqa: ANN001
            if event.phase in ("scan", "write") and event.total:
                self.call_from_thread(self.query_one("#reindex-progress", ProgressBar).update,
                                      total=event.total, progress=event.done)

        try:
            report = self.engine.index(self.docs, progress=progress)
        except Exception as exc:
            self.call_from_thread(self._reindexed, None, f"{exc}")
            return
        self.call_from_thread(self._reindexed, report, None)

    def _reindexed(self, report, error: str | None) -> None:  # noqa: ANN001
        self.indexing = False
        self.query_one("#reindex-progress").display = False
        self._doc_cache.clear()
        if error:
            self.notify(error, title="re-index failed", severity="error", timeout=10)
        else:
            summary = (f"added {report.added}, updated {report.updated}, removed {report.removed}, "
                       f"unchanged {report.unchanged}")
            if report.skipped:
                summary += f"; skipped {len(report.skipped)}: " + "; ".join(
                    f"{Path(s['path']).name} ({s['reason']})" for s in report.skipped[:3])
            self.notify(summary, title="re-indexed", timeout=8)
            if not self.ready:
                self.ready = True
        self._status(self._describe() if self.ready else "loading model…")
        self._show_empty_notice()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Re-index articles", f"Index {', '.join(map(str, self.docs))} again (ctrl+r)", self.action_reindex)
        yield SystemCommand("Save conversation", "Write the conversation and its citations as Markdown (ctrl+s)", self.action_save)
        yield SystemCommand("Settings", "Answerer and number of passages (ctrl+o)", self.action_settings)
        yield SystemCommand("Clear conversation", "Remove all questions and answers (ctrl+l)", self.action_clear)
        yield SystemCommand("Help", "Keys and what they do (f1)", self.action_help)


def run_chat(settings: Settings, docs: list[Path]) -> None:
    ChatApp(Engine(settings), settings, docs).run()
