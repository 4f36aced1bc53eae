"""The chat's widgets: question input with history, messages, the sources panel."""

from __future__ import annotations

import re

from rich.text import Text
from textual import events
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.message import Message
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, ListItem, ListView, Markdown, Static

from assistant.answer.extractive import LOW_CONFIDENCE
from assistant.config import short_path
from assistant.records import Answer, Citation, Document, Passage

CONTEXT_CHARS = 220  # characters of article shown around a quote in the sources panel
NEAREST_PASSAGES = 3  # passages listed under a refused answer ("nearest, not an answer") or a doubtful one
NEAREST_CHARS = 200  # characters of each
_MARKER = re.compile(r"\[(\d+)\]")
_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]<>()#+\-.!|~]")


class QuestionInput(Input):
    """One-line question box: up/down walk the history, pasted newlines become spaces."""

    BINDINGS = [Binding("up", "history(-1)", "previous", show=False),
                Binding("down", "history(1)", "next", show=False)]

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        # the focus may arrive with a typed key (see ChatApp.on_key): selecting the text then would let the
        # next key replace it
        super().__init__(placeholder="Ask a question about your articles…  (F1 help)", select_on_focus=False, **kwargs)
        self.history: list[str] = []
        self._pos = 0

    def remember(self, question: str) -> None:
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
        self._pos = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.value = self.history[self._pos] if self._pos < len(self.history) else ""
        self.cursor_position = len(self.value)

    def _on_paste(self, event: events.Paste) -> None:
        text = " ".join(event.text.split())
        if text:
            self.insert_text_at_cursor(text)
        event.stop()


class ChatLog(VerticalScroll):
    """The conversation. It keeps one widget (the latest question, its answer below it) at the top of
    the view while its size or its content's size changes (a terminal resized, an answer laid out
    again at the new width), until the reader scrolls."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.anchor: Widget | None = None
        self.follow = False

    def keep_in_view(self, widget: Widget) -> None:
        self.anchor, self.follow = widget, True
        self._to_anchor()

    def release(self) -> None:
        self.follow = False

    def _to_anchor(self) -> None:
        if self.follow and self.anchor is not None and self.anchor.is_mounted:
            self.call_after_refresh(self._scroll_anchor)

    def _scroll_anchor(self) -> None:
        if self.follow and self.anchor is not None and self.anchor.is_mounted:
            self.scroll_to_widget(self.anchor, animate=False, top=True)

    def on_resize(self) -> None:
        self._to_anchor()

    # the reader scrolling takes over from the anchor
    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.release()
        super()._on_mouse_scroll_down(event)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.release()
        super()._on_mouse_scroll_up(event)

    def action_scroll_up(self) -> None:
        self.release()
        super().action_scroll_up()

    def action_scroll_down(self) -> None:
        self.release()
        super().action_scroll_down()

    def action_page_up(self) -> None:
        self.release()
        super().action_page_up()

    def action_page_down(self) -> None:
        self.release()
        super().action_page_down()

    def action_scroll_home(self) -> None:
        self.release()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.release()
        super().action_scroll_end()


class QuestionMessage(Static):
    """A question as asked; once answered, what was searched for when a follow-up was resolved."""

    def __init__(self, question: str) -> None:
        super().__init__(Text(question), classes="question")
        self.question = question
        self.searched: str | None = None

    def show_searched(self, searched: str | None) -> None:
        """Say what was searched for (`Answer.searched_for`): a resolved follow-up, the filters applied."""
        if not searched or _plain(searched) == _plain(self.question):
            return
        self.searched = searched
        text = Text(self.question)
        text.append(f"\nsearched for: {searched}", style="dim italic")
        self.update(text)


class ConversationDivider(Static):
    """Marks where ctrl+n started a new conversation: later questions do not lean on earlier ones."""

    def __init__(self) -> None:
        super().__init__(Text("new conversation: earlier questions are forgotten", style="dim italic"),
                         classes="divider")


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def md_escape(text: str) -> str:
    """Text shown verbatim inside Markdown (article sentences, reasons)."""
    return _MD_SPECIAL.sub(r"\\\g<0>", " ".join(text.split()))


def marker_links(answer: str) -> str:
    """[n] markers as Markdown links, so a click selects that source."""
    return _MARKER.sub(lambda m: f"[\\[{m.group(1)}\\]](cite:{m.group(1)})", answer)


def snippet(text: str, limit: int = NEAREST_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: text.rfind(" ", 0, limit) if " " in text[:limit] else limit] + " …"


class AnswerMessage(Markdown):
    """An answer; streams plain text while the model writes, then shows the checked answer.

    Below a checked answer, a clickable line (or ctrl+g) reveals what the answer does not
    show: the sentences the citation check dropped, struck through with their reasons, or,
    for a question the articles do not answer, the nearest passages (not an answer)."""

    class Selected(Message):
        def __init__(self, message: "AnswerMessage", n: int | None = None) -> None:
            super().__init__()
            self.message = message
            self.n = n

    class DetailsRequested(Message):
        """The "dropped" / "nearest" line was clicked."""

        def __init__(self, message: "AnswerMessage") -> None:
            super().__init__()
            self.message = message

    def __init__(self, show_timings: bool = True) -> None:
        super().__init__("_thinking…_", classes="answer pending")
        self.answer: Answer | None = None
        self.show_timings = show_timings
        self.expanded = False

    def stream(self, text: str) -> None:
        self.update(text.replace("[", "\\["))

    def finish(self, answer: Answer) -> AwaitComplete:
        self.answer = answer
        self.remove_class("pending")
        self.set_class(not answer.answered, "not-found")
        return self.render_answer()

    @property
    def doubtful(self) -> bool:
        """An answer given under the low-confidence mark: the reader is asked to check it."""
        return self.answer is not None and self.answer.answered and any(
            w.startswith(LOW_CONFIDENCE) for w in self.answer.warnings)

    @property
    def nearest(self) -> list[Passage]:
        """The closest passages of a refused answer, or those a doubtful answer did not cite (what to
        check it against); none for an answer given with confidence."""
        if self.answer is None or (self.answer.answered and not self.doubtful):
            return []
        cited = self.answer.citations

        def quoted(p: Passage) -> bool:
            return any(c.doc_id == p.chunk.doc_id and p.chunk.start <= c.start < p.chunk.end for c in cited)

        return [p for p in self.answer.passages if not quoted(p)][:NEAREST_PASSAGES]

    @property
    def has_details(self) -> bool:
        return self.answer is not None and bool(self.answer.dropped or self.nearest)

    async def toggle_details(self) -> bool:
        """Show or hide the dropped sentences / nearest passages; False when there are none."""
        if not self.has_details:
            return False
        self.expanded = not self.expanded
        await self.render_answer()
        return True

    def details_label(self) -> str:
        assert self.answer is not None
        arrow = "▾" if self.expanded else "▸"
        if self.answer.dropped:
            n = len(self.answer.dropped)
            return f"{arrow} {n} sentence{'s' * (n != 1)} dropped by the citation check"
        if self.doubtful:
            return f"{arrow} other passages to check it against"
        return f"{arrow} nearest passages, not an answer"

    def details_markdown(self) -> str:
        assert self.answer is not None
        if self.answer.dropped:
            return "\n".join(f"- ~~{md_escape(d.get('claim', ''))}~~ — _{md_escape(d.get('reason', ''))}_"
                             for d in self.answer.dropped)
        return "\n".join(f"- **{md_escape(p.chunk.title or p.chunk.doc_id)}**: {md_escape(snippet(p.chunk.text))}"
                         for p in self.nearest)

    def render_answer(self) -> AwaitComplete:
        answer = self.answer
        assert answer is not None
        body = marker_links(answer.answer)
        # the "n dropped" line below says what the dropped-sentence warnings would
        warnings = [w for w in answer.warnings if not (answer.dropped and w.startswith("dropped"))]
        notes = [f"⚠ {w}" for w in warnings[:3]]
        if len(warnings) > 3:
            notes.append(f"⚠ … and {len(warnings) - 3} more")
        meta = [f"_{answer.answerer}_"]
        if self.show_timings and answer.timings:
            meta.append(f"_{answer.timings.get('retrieve_ms', 0) + answer.timings.get('answer_ms', 0):.0f} ms_")
        if self.has_details:
            meta.append(f"[{self.details_label()}](details:)")
        parts = [body] + [f"*{md_escape(n).replace('*', '')}*" for n in notes] + [" · ".join(meta)]
        if self.expanded and self.has_details:
            parts.append(self.details_markdown())
        return self.update("\n\n".join(parts))

    def on_click(self) -> None:
        if self.answer is not None:
            self.post_message(self.Selected(self))

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        if self.answer is None:
            return
        if event.href.startswith("cite:"):
            self.post_message(self.Selected(self, int(event.href.split(":", 1)[1])))
        elif event.href == "details:":
            self.post_message(self.DetailsRequested(self))


def passage_text(citation: Citation, doc: Document | None, context: int = CONTEXT_CHARS) -> Text:
    """The quote inside its surrounding article text, highlighted."""
    if doc is None or doc.text[citation.start:citation.end] != citation.quote:
        return Text(citation.quote, style="bold")
    a = max(0, citation.start - context)
    b = min(len(doc.text), citation.end + context)
    a = doc.text.rfind(" ", 0, a) + 1 if a > 0 else 0
    text = Text("… " if a > 0 else "", style="dim")
    text.append(doc.text[a:citation.start].replace("\n\n", "\n"))
    text.append(citation.quote, style="bold reverse")
    text.append(doc.text[citation.end:b].replace("\n\n", "\n"))
    if b < len(doc.text):
        text.append(" …", style="dim")
    return text


def citation_header(c: Citation) -> Text:
    t = Text()
    t.append(f"[{c.n}] ", style="bold cyan")
    t.append(c.title or c.doc_id, style="bold")
    byline = ", ".join(filter(None, [" and ".join(c.authors), c.published or ""]))
    if byline:
        t.append(f"\n{byline}", style="italic")
    page = f", p. {c.page}" if c.page else ""
    t.append(f"\n{short_path(c.source)}{page}", style="dim")
    return t


def compact_sources(citations: list[Citation]) -> list[str]:
    """One line per cited article: "[1] [2] title, authors, date" (what a narrow chat shows under an answer)."""
    by_doc: dict[str, list[Citation]] = {}
    for c in citations:
        by_doc.setdefault(c.doc_id, []).append(c)
    lines = []
    for cs in by_doc.values():
        c = cs[0]
        parts = [c.title or c.doc_id, " and ".join(c.authors), c.published or ""]
        lines.append(" ".join(f"[{x.n}]" for x in cs) + " " + ", ".join(p for p in parts if p))
    return lines


class CompactSources(Static):
    """Under an answer, which article each [n] is, one line per article; shown in a narrow terminal
    only, where the sources panel is not beside the chat (the CSS hides it at other widths)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(Text("\n".join(compact_sources(answer.citations))), classes="compact-sources")


class SourceItem(ListItem):
    def __init__(self, citation: Citation, doc: Document | None) -> None:
        self.citation = citation
        super().__init__(Static(citation_header(citation), classes="source-head"),
                         Static(passage_text(citation, doc), classes="source-passage"))


class SourcesPanel(ListView):
    """Citations of the selected answer; enter or `o` opens the article at the passage."""

    BINDINGS = [Binding("o", "open", "open article"), Binding("enter", "open", "open article", show=False)]

    class OpenArticle(Message):
        def __init__(self, citation: Citation) -> None:
            super().__init__()
            self.citation = citation

    def show(self, answer: Answer | None, docs: dict[str, Document | None]) -> None:
        self.clear()
        if answer is None or not answer.citations:
            note = "Select an answer to see its sources." if answer is None else "No sources: the articles do not answer this."
            if answer is not None and not answer.answered and answer.passages:
                note += " ctrl+g lists the nearest passages (not an answer)."
            self.append(ListItem(Static(Text(note, style="dim")), disabled=True))
            return
        for c in answer.citations:
            self.append(SourceItem(c, docs.get(c.doc_id)))
        self.index = 0

    def select_number(self, n: int) -> bool:
        for i, child in enumerate(self.children):
            if isinstance(child, SourceItem) and child.citation.n == n:
                self.index = i
                return True
        return False

    @property
    def current(self) -> Citation | None:
        item = self.highlighted_child
        return item.citation if isinstance(item, SourceItem) else None

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.OpenArticle(self.current))

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, SourceItem):
            event.stop()
            self.post_message(self.OpenArticle(event.item.citation))


EMPTY_INDEX_TEXT = """\
# No articles indexed yet

The index in `{where}` is empty. Add articles, then ask away:

{reindex}- run `assistant index PATH` in a shell (folders of .txt, .md, .html, .pdf): the chat notices them, or
- reopen the chat as `assistant chat DIR`: it indexes DIR and watches it while open.
"""


class WelcomeNotice(Markdown):
    """What is indexed, so a new user knows what to ask about."""

    def __init__(self, titles: list[str], total: int) -> None:
        shown = "\n".join(f"- {t}" for t in titles)
        more = f"\n- … and {total - len(titles)} more" if total > len(titles) else ""
        super().__init__(f"**{total} article{'s' * (total != 1)} indexed**, for example:\n\n{shown}{more}\n\n"
                         "Ask a question below; every sentence of an answer cites its passage. **F1** lists the keys.",
                         id="welcome")


class EmptyIndexNotice(Markdown):
    def __init__(self, docs: str, where: str = "") -> None:
        reindex = f"- press **ctrl+r** to index {md_escape(docs)}, or\n" if docs else ""
        super().__init__(EMPTY_INDEX_TEXT.format(where=where, reindex=reindex), id="empty-index")
