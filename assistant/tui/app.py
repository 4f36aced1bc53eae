"""`assistant chat`: ask, read the answer, check every citation.

All engine work (loading the model, answering, re-indexing, looking for changes other
processes made) runs in thread workers, so the app accepts typing at once and stays usable
while it thinks or re-indexes. Questions are answered one at a time, in order, so a
follow-up is always resolved against the answer before it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static

from assistant.config import Settings, short_path
from assistant.engine import Engine, IndexChange, LLMError, StoreError
from assistant.records import Answer, Document, IndexReport, Turn
from assistant.tui.export import conversation_markdown
from assistant.tui.screens import ArticleScreen, HelpScreen, SettingsScreen
from assistant.tui.state import save_ui_state
from assistant.tui.widgets import (AnswerMessage, ChatLog, CompactSources, ConversationDivider, EmptyIndexNotice,
                                   QuestionInput, QuestionMessage, SourcesPanel, WelcomeNotice)
from assistant.watch import Watcher, WatchBatch

WELCOME_TITLES = 5
REINDEX_WAIT_S = 600.0  # ctrl+r waits this long for another index run (a watcher's batch) to finish
NARROW = 100  # below this many columns the chat and the sources panel take turns (ctrl+t)
ERROR_CHARS = 200  # an error is one line of at most this many characters


def error_line(exc: BaseException) -> str:
    """One line for the chat. The engine's own errors say what to do; anything else (a library's
    internal error) is named, never shown raw."""
    if isinstance(exc, (StoreError, LLMError, ValueError, OSError)):
        text = " ".join(str(exc).split()) or type(exc).__name__
        return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
    return f"an unexpected {type(exc).__name__}; ask again, and reopen the chat if it keeps failing"


def batch_summary(report: IndexReport) -> str:
    """What a watcher's batch did, for the status line: "indexed 2 new articles, 1 removed"."""
    r = report
    parts = [f"{n} {what}" for n, what in ((r.added, f"new article{'s' * (r.added != 1)}"), (r.updated, "updated"),
                                           (r.moved, "moved"), (r.removed, "removed"),
                                           (len(r.skipped), "skipped")) if n]
    return "indexed " + ", ".join(parts) if parts else "no change"


@dataclass
class Asked:
    """A question on screen and where its answer goes; `conversation` says which history it joins."""

    question: str
    shown: QuestionMessage
    conversation: int


class ChatApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "assistant"
    SUB_TITLE = "cited answers from your articles"
    BINDINGS = [
        Binding("ctrl+n", "new_conversation", "new chat"),
        Binding("ctrl+t", "toggle_sources", "sources"),
        Binding("ctrl+g", "details", "dropped/nearest", show=False),
        Binding("ctrl+r", "reindex", "re-index"),
        Binding("ctrl+s", "save", "save"),
        Binding("ctrl+o", "settings", "settings", show=False),
        Binding("f1", "help", "help"),
        Binding("ctrl+l", "clear", "clear", show=False),
        Binding("ctrl+q", "quit", "quit"),
    ]

    def __init__(self, engine: Engine, settings: Settings, docs: list[Path], show_timings: bool = True,
                 save_dir: Path | None = None, watch: bool = False) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings
        self.docs = docs
        self.show_timings = show_timings
        self.save_dir = save_dir or Path.cwd()
        self.watch_docs = watch
        self.ready = False
        self.indexing = False
        self.asking = False  # an answer is being worked out
        self.checking = False  # a look for other processes' changes is under way
        self._redirecting = False  # typing was sent to the question box, whose focus is still on its way
        self.queue: list[Asked] = []  # questions waiting for the model or for the answer before them
        self.answers: list[Answer] = []
        self.history: list[Turn] = []  # this conversation's turns, what follow-ups are resolved against
        self.conversation = 0  # bumped by ctrl+n; an answer of an older conversation stays out of the history
        self.selected: AnswerMessage | None = None
        self.sources_open = {True: False, False: True}  # narrow: sources on demand; wide: beside the chat
        self.last_change: str = ""  # what the last look for changes found, for the status line
        self.watch_stop = threading.Event()  # set on quit: the watcher's loop ends
        self.watch_ended = threading.Event()  # set when the watcher's thread has returned
        self.watch_activity: str = ""  # what the watcher is doing now ("indexing 3/10 new articles…")
        self._doc_cache: dict[str, Document | None] = {}

    # --- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield ChatLog(id="chat", can_focus=True)
            with Vertical(id="sources-column"):
                yield Static("Sources", id="sources-title")
                yield SourcesPanel(id="sources")
        yield ProgressBar(id="reindex-progress", show_eta=False)
        yield Static("loading model…", id="status")
        yield QuestionInput(id="question")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"index: {self.settings.index_location}"
        self.query_one("#reindex-progress").display = False
        self.query_one(SourcesPanel).show(None, {})
        self._apply_layout()
        self.query_one(QuestionInput).focus()
        self.load_engine()
        self.set_interval(max(0.05, self.settings.change_check_seconds), self._look_for_changes)

    def on_resize(self, event) -> None:  # noqa: ANN001
        self._apply_layout(event.size.width)
        self.call_after_refresh(self._keep_latest_in_view)

    def _keep_latest_in_view(self) -> None:
        """After a resize, the latest question and its answer stay on screen (a new layout would
        otherwise leave the chat wherever its old scroll offset now falls, often the welcome box)."""
        questions = self.query(QuestionMessage)
        if questions:
            self._scroll_to(questions.last())

    @property
    def narrow(self) -> bool:
        return self.size.width < NARROW

    def _apply_layout(self, width: int | None = None) -> None:
        narrow = (width if width is not None else self.size.width) < NARROW
        main = self.query_one("#main")
        main.set_class(narrow, "narrow")
        main.set_class(not self.sources_open[narrow], "sources-closed")
        title = "Sources · ctrl+t back to the chat" if narrow else "Sources"
        self.query_one("#sources-title", Static).update(title)

    @property
    def sources_shown(self) -> bool:
        return self.sources_open[self.narrow]

    def _show_sources(self, shown: bool) -> None:
        if self.sources_open[self.narrow] == shown:
            return
        self.sources_open[self.narrow] = shown
        self._apply_layout()
        if self.narrow:
            (self.query_one(SourcesPanel) if shown else self.query_one(QuestionInput)).focus()
            if not shown:
                chat = self.query_one("#chat", ChatLog)
                chat._to_anchor() if chat.follow else chat.scroll_end(animate=False)

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _describe(self) -> str:
        s = self.engine.status()
        ready = f"ready: {s.describe()} · {self.settings.answerer}, k={self.settings.k}"
        return f"{self.last_change} · {ready}" if self.last_change else ready

    def _refresh_status(self) -> None:
        if self.indexing:
            return  # the re-index owns the status line until it ends
        if not self.ready:
            self._status("loading model…")
        elif self.watch_activity:
            self._status(f"{self.watch_activity} · {self._describe()}")
        else:
            self._status(self._describe())

    # --- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load_engine(self) -> None:
        try:
            self.engine.warm()
        except Exception as exc:  # a broken index must be a message, not a crash
            self.call_from_thread(self._load_failed, error_line(exc))
            return
        self.call_from_thread(self._loaded)

    def _load_failed(self, message: str) -> None:
        self._status(f"cannot open the index: {message}")
        self.notify(message, title="index", severity="error", timeout=10)

    def _loaded(self) -> None:
        self.ready = True
        self._refresh_status()
        self._show_empty_notice()
        chat = self.query_one("#chat", VerticalScroll)
        if self.engine.status().documents and not chat.query(AnswerMessage):
            sources = self.engine.sources()
            chat.mount(WelcomeNotice([x.title for x in sources[:WELCOME_TITLES]], len(sources)), before=0)
        if self.watch_docs:
            self.watch_worker()
        self._next_question()

    def _show_empty_notice(self) -> None:
        chat = self.query_one("#chat", VerticalScroll)
        existing = chat.query(EmptyIndexNotice)
        if self.engine.status().documents == 0:
            if not existing:
                chat.mount(EmptyIndexNotice(", ".join(short_path(d) for d in self.docs), self.settings.index_location))
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
        if self.narrow:
            self._show_sources(False)  # the answer is what the user waits for
        chat = self.query_one("#chat", ChatLog)
        shown = QuestionMessage(question)
        chat.mount(shown)
        chat.keep_in_view(shown)
        self.queue.append(Asked(question, shown, self.conversation))
        if not self.ready:
            self.notify("still loading the model; your question will run when it is ready", timeout=3)
            return
        self._next_question()

    def _next_question(self) -> None:
        """Answer the oldest waiting question, unless an answer is being worked out."""
        if self.asking or not self.ready or not self.queue:
            return
        asked = self.queue.pop(0)
        self.asking = True
        chat = self.query_one("#chat", ChatLog)
        message = AnswerMessage(show_timings=self.show_timings)
        chat.mount(message, after=asked.shown)
        chat.keep_in_view(asked.shown)
        turns = self.settings.history_turns if asked.conversation == self.conversation else 0
        history = self.history[-turns:] if turns > 0 else []
        self.answer_worker(asked, message, history)

    @work(thread=True, group="ask")
    def answer_worker(self, asked: Asked, message: AnswerMessage, history: list[Turn]) -> None:
        streamed: list[str] = []
        last = 0.0
        try:
            for item in self.engine.ask_stream(asked.question, k=self.settings.k, answerer=self.settings.answerer,
                                                history=history):
                if isinstance(item, str):
                    streamed.append(item)
                    if time.monotonic() - last > 0.05:  # redraw at most 20 times a second
                        last = time.monotonic()
                        self.call_from_thread(message.stream, "".join(streamed))
                else:
                    docs = {c.doc_id: self._document(c.doc_id) for c in item.citations}
                    self.call_from_thread(self._answered, asked, message, item, docs)
        except Exception as exc:
            self.call_from_thread(self._answer_failed, message, error_line(exc))

    def _document(self, doc_id: str) -> Document | None:
        if doc_id not in self._doc_cache:
            try:
                self._doc_cache[doc_id] = self.engine.document(doc_id)
            except Exception:
                self._doc_cache[doc_id] = None
        return self._doc_cache[doc_id]

    async def _answered(self, asked: Asked, message: AnswerMessage, answer: Answer,
                        docs: dict[str, Document | None]) -> None:
        await message.finish(answer)
        if answer.citations:
            await self.query_one("#chat", VerticalScroll).mount(CompactSources(answer), after=message)
        asked.shown.show_searched(answer.searched_for())
        self.answers.append(answer)
        if asked.conversation == self.conversation:
            self.history.append(Turn.of(answer))
        for w in answer.warnings:
            if "endpoint" in w or "model" in w:
                self.notify(w, title="model", severity="warning", timeout=6)
                break
        self._select(message)
        self._scroll_to(asked.shown)
        self._refresh_status()  # the engine looked for changes before answering: the counts may have moved
        self.asking = False
        self._next_question()

    def _scroll_to(self, question: QuestionMessage) -> None:
        """The question at the top and its answer below it, once the answer is laid out (in a short
        terminal, the end of the chat would show only the end of a long answer)."""
        self.query_one("#chat", ChatLog).keep_in_view(question)

    def _answer_failed(self, message: AnswerMessage, error: str) -> None:
        message.update(f"*Could not answer: {error.replace('*', '')}*")
        message.remove_class("pending")
        self.notify(error, title="error", severity="error", timeout=8)
        self.asking = False
        self._next_question()

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
                self._show_sources(True)
                panel.focus()
            else:
                self.notify(f"this answer has no citation [{n}]", timeout=3)

    @on(AnswerMessage.Selected)
    def on_answer_selected(self, event: AnswerMessage.Selected) -> None:
        self._select(event.message, event.n)

    def on_key(self, event) -> None:  # noqa: ANN001
        """Typing always reaches the question box: a printable key pressed elsewhere on the chat
        screen (the chat log, the sources) moves the focus there and is typed into it. Digits 1-9 in
        the chat or the sources select a citation of the selected answer, and `o` in the sources
        opens the article (as the help says); escape in the narrow sources view goes back to the chat."""
        if self.screen is not self.screen_stack[0]:
            return  # a dialog (help, article, settings) has its own keys
        if event.key == "escape" and self.narrow and self.sources_shown:
            event.stop()
            self._show_sources(False)
            return
        box = self.query_one(QuestionInput)
        if self.focused is box:
            self._redirecting = False
            return
        if not event.is_printable or not event.character:
            return
        # keys typed in a burst ("who wrote…", a paste) arrive before the focus does: while it is on
        # its way, they are text too, "o" and digits included
        if not self._redirecting:
            if event.character.isdigit() and event.character != "0" and self.selected is not None:
                event.stop()
                self._select(self.selected, int(event.character))
                return
            if event.character == "o" and isinstance(self.focused, SourcesPanel):
                return  # the panel's own binding: open the article
        event.stop()
        event.prevent_default()
        if self.narrow and self.sources_shown:
            self._show_sources(False)
        self._redirecting = True
        box.focus()
        box.insert_text_at_cursor(event.character)

    @on(SourcesPanel.OpenArticle)
    def open_article(self, event: SourcesPanel.OpenArticle) -> None:
        doc = self._document(event.citation.doc_id)
        if doc is None:
            self.notify("that article is no longer in the index", severity="warning")
            return
        self.push_screen(ArticleScreen(doc, event.citation))

    # --- the index changing under the chat -------------------------------------------

    def _look_for_changes(self) -> None:
        """While idle, look for what other processes wrote (a cheap read when nothing changed)."""
        if self.ready and not (self.asking or self.indexing or self.checking or self.queue):
            self.checking = True
            self.change_worker()

    @work(thread=True, exclusive=True, group="changes")
    def change_worker(self) -> None:
        try:
            change = self.engine.refresh_if_changed()
        except Exception as exc:  # the next look, or the next question, tries again
            self.call_from_thread(self._changes_seen, None, error_line(exc))
            return
        self.call_from_thread(self._changes_seen, change, None)

    def _changes_seen(self, change: IndexChange | None, error: str | None) -> None:
        self.checking = False
        if error:
            self.last_change = f"cannot read the index: {error}"
        elif change:
            self.last_change = f"{change.describe()} ({datetime.now():%H:%M})"
            self._doc_cache.clear()
            self._show_empty_notice()
        elif self.last_change.startswith("cannot read the index"):
            self.last_change = ""
        else:
            return
        self._refresh_status()

    # --- watching the article folders (`assistant chat DIR`) ---------------------------

    @work(thread=True, exclusive=True, group="watch")
    def watch_worker(self) -> None:
        """Index DIR, then keep indexing what arrives in it until the chat quits."""
        try:
            Watcher(self.engine, self.docs, on_batch=lambda b: self.call_from_thread(self._watched, b),
                    on_progress=self._watch_progress, stop=self.watch_stop).run()
        except Exception as exc:  # a folder that cannot be watched must not end the chat
            if not self.watch_stop.is_set():
                self.call_from_thread(self._watch_failed, error_line(exc))
        finally:
            self.watch_ended.set()

    def _watch_progress(self, event) -> None:  # noqa: ANN001 - an indexer ProgressEvent, in the watcher's thread
        if self.watch_stop.is_set():
            return
        if event.phase in ("scan", "write") and event.total:
            text = f"indexing {event.done}/{event.total} new or changed articles…"
        elif event.phase == "lexical":
            text = "indexing: updating the keyword index…"
        elif event.phase == "wait":
            text = "waiting for another index run to finish…"
        elif event.phase == "watch":
            text = ""
        else:
            return  # embedding events come per batch of chunks: too many to redraw
        self.call_from_thread(self._set_watch_activity, text)

    def _set_watch_activity(self, text: str) -> None:
        self.watch_activity = text
        self._refresh_status()

    def _watched(self, batch: WatchBatch) -> None:
        self._doc_cache.clear()
        if batch.error:
            self.notify(batch.error, title="watching the folder", severity="warning", timeout=8)
        elif batch.changed or batch.report.skipped:
            self.last_change = f"{batch_summary(batch.report)} ({datetime.now():%H:%M})"
        for s in batch.report.skipped[:3]:
            self.notify(f"{Path(s['path']).name}: {s['reason']}", title="skipped", severity="warning", timeout=8)
        self._show_empty_notice()
        self._refresh_status()

    def _watch_failed(self, message: str) -> None:
        self.watch_activity = ""
        self.last_change = f"not watching: {message}"
        self.notify(message, title="watching the folder", severity="error", timeout=10)
        self._refresh_status()

    def stop_watching(self) -> None:
        self.watch_stop.set()

    async def action_quit(self) -> None:
        self.stop_watching()
        await super().action_quit()

    def on_unmount(self) -> None:
        self.stop_watching()

    # --- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_sources(self) -> None:
        self._show_sources(not self.sources_shown)

    async def action_details(self) -> None:
        """Reveal (or hide) what the selected answer leaves out: dropped sentences or nearest passages."""
        await self._toggle_details(self.selected or next(iter(reversed(self.query(AnswerMessage))), None))

    @on(AnswerMessage.DetailsRequested)
    async def on_details_requested(self, event: AnswerMessage.DetailsRequested) -> None:
        self._select(event.message)
        await self._toggle_details(event.message)

    async def _toggle_details(self, target: AnswerMessage | None) -> None:
        if target is None or not await target.toggle_details():
            self.notify("this answer dropped no sentences and is not in doubt: nothing more to show", timeout=3)
            return
        if self.narrow:
            self._show_sources(False)
        chat = self.query_one("#chat", ChatLog)
        chat.release()
        self.call_after_refresh(chat.scroll_to_widget, target, animate=False)

    def action_new_conversation(self) -> None:
        """Forget the earlier turns: the next question is not read as a follow-up. The chat stays on
        screen; the focus goes to the question box, for the new conversation's first question."""
        self.conversation += 1
        self.history.clear()
        if self.narrow:
            self._show_sources(False)
        self.query_one(QuestionInput).focus()
        chat = self.query_one("#chat", VerticalScroll)
        if chat.query(QuestionMessage) and not isinstance(chat.children[-1], ConversationDivider):
            chat.mount(ConversationDivider())
            chat.release()
            chat.scroll_end(animate=False)

    def action_clear(self) -> None:
        self.query_one("#chat", VerticalScroll).remove_children()
        self.answers.clear()
        self.history.clear()
        self.conversation += 1
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
            self._refresh_status()
            self.notify(f"answerer {answerer}, k={k}", title="settings", timeout=3)

        self.push_screen(SettingsScreen(self.settings.answerer, self.settings.k), apply)

    def action_reindex(self) -> None:
        if not self.docs:
            self.notify("no article folder to re-index: reopen the chat as `assistant chat DIR`, "
                        "or run `assistant index PATH`", title="re-index", timeout=8)
            return
        if self.indexing:
            self.notify("a re-index is already running", timeout=3)
            return
        self.indexing = True
        bar = self.query_one("#reindex-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._status(f"re-indexing {', '.join(short_path(d) for d in self.docs)}…")
        self.reindex_worker()

    @work(thread=True, exclusive=True, group="index")
    def reindex_worker(self) -> None:
        def progress(event) -> None:  # noqa: ANN001
            if event.phase in ("scan", "write") and event.total:
                self.call_from_thread(self.query_one("#reindex-progress", ProgressBar).update,
                                      total=event.total, progress=event.done)
            elif event.phase == "wait":  # a watcher's batch or another `assistant index` run holds the index
                self.call_from_thread(self._status, "re-index waits for another index run to finish…")

        try:
            report = self.engine.index(self.docs, progress=progress, wait=REINDEX_WAIT_S)
        except Exception as exc:
            self.call_from_thread(self._reindexed, None, error_line(exc))
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
        self._refresh_status()
        self._show_empty_notice()
        self._next_question()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("New conversation", "Forget earlier questions: the next one is not a follow-up (ctrl+n)",
                            self.action_new_conversation)
        yield SystemCommand("Show or hide sources", "The sources panel (ctrl+t)", self.action_toggle_sources)
        yield SystemCommand("Dropped sentences / nearest passages",
                            "What the selected answer leaves out (ctrl+g)", self.action_details)
        yield SystemCommand("Re-index articles", f"Index {', '.join(map(short_path, self.docs)) or 'the article folder'} again (ctrl+r)",
                            self.action_reindex)
        yield SystemCommand("Save conversation", "Write the conversation and its citations as Markdown (ctrl+s)", self.action_save)
        yield SystemCommand("Settings", "Answerer and number of passages (ctrl+o)", self.action_settings)
        yield SystemCommand("Clear conversation", "Remove all questions and answers (ctrl+l)", self.action_clear)
        yield SystemCommand("Help", "Keys and what they do (f1)", self.action_help)


def run_chat(settings: Settings, docs: list[Path], watch: bool = False) -> None:
    """The chat over `docs`; with `watch`, they are indexed and watched while it is open."""
    app = ChatApp(Engine(settings), settings, docs, watch=watch)
    try:
        app.run()
    finally:
        app.stop_watching()
