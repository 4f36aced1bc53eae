"""Screens over the chat: help, the full article at a passage, settings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from assistant.config import short_path
from assistant.records import Citation, Document

KEYS = [  # (key, what it does): one line each, so the help reads at 80x24
    ("enter", "ask the question"),
    ("up / down", "previous / next question (in the question box)"),
    ("any letter", "goes to the question box, wherever the focus is"),
    ("tab", "move between question box, chat and sources"),
    ("1 … 9", "that citation of the selected answer (chat, sources)"),
    ("click", "an answer: its sources; a [n] marker: that source"),
    ("enter or o", "open the full article at the passage (sources)"),
    ("ctrl+t", "show / hide the sources (narrow: switch to them)"),
    ("escape", "back to the chat; close a screen"),
    ("ctrl+g", "dropped sentences, or nearest passages to check"),
    ("ctrl+n", "new conversation: no follow-up of earlier turns"),
    ("ctrl+r", "re-index the article folder in the background"),
    ("ctrl+s", "save the conversation as Markdown"),
    ("ctrl+o", "settings: answerer and k"),
    ("ctrl+p", "command palette"),
    ("ctrl+l", "clear the conversation"),
    ("f1", "this help"),
    ("ctrl+q", "quit"),
]
KEY_WIDTH = max(len(k) for k, _ in KEYS)

HELP_NOTES = """\
Every sentence of an answer carries a citation that the assistant has checked against the passage;
sentences it could not check are dropped (ctrl+g shows them, struck through, with the reason).
In a narrow terminal a line under each answer names the article of each [n].
A question is read in the light of the conversation's earlier questions ("what did it do instead?");
when that changed what was searched for, it is shown under the question.
The chat notices articles that other processes add or remove, and says so in the status line;
opened as `assistant chat DIR`, it also indexes what arrives in DIR while it is open (`--no-watch`: it does not).
"""


def keys_table() -> Table:
    """Two columns; the key column never wraps, the action column wraps only when it must."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", no_wrap=True, width=KEY_WIDTH, style="bold")
    table.add_column("action", ratio=1)
    for key, action in KEYS:
        table.add_row(Text(key), Text(action))  # plain text: "[n]" is not markup
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield Static(keys_table(), id="help-keys")
            yield Static(Text(" ".join(HELP_NOTES.split()), style="dim"), id="help-notes")


class ArticleScreen(ModalScreen[None]):
    """The whole cleaned article, scrolled to the cited passage, the quote highlighted; an article
    fetched from the web opens at its URL with `u`."""

    BINDINGS = [Binding("escape,q", "dismiss", "close"), Binding("u", "open_url", "open the web page")]

    @property
    def url(self) -> str | None:
        source = self.doc.source or ""
        return source if source.startswith(("http://", "https://")) else None

    def action_open_url(self) -> None:
        if self.url is None:
            self.notify("this article is a file, not a web page", timeout=3)
            return
        self.app.open_url(self.url)
        self.notify(f"opening {self.url}", timeout=3)

    def __init__(self, doc: Document, citation: Citation) -> None:
        super().__init__()
        self.doc = doc
        self.citation = citation
        self._before_quote = ""  # the cited paragraph's text before the quote

    def compose(self) -> ComposeResult:
        d = self.doc
        head = Text(d.title or d.doc_id, style="bold")
        byline = ", ".join(filter(None, [" and ".join(d.authors), d.published or ""]))
        if byline:
            head.append(f"\n{byline}", style="italic")
        head.append(f"\n{short_path(d.source)}", style="dim")
        with Vertical(id="article-box", classes="dialog"):
            yield Static(head, id="article-head")
            with VerticalScroll(id="article-body"):
                pos = 0
                for para in d.text.split("\n\n"):
                    start, end = pos, pos + len(para)
                    pos = end + 2
                    c = self.citation
                    if c.start < end and c.end > start:
                        self._before_quote = para[: max(0, c.start - start)]
                        text = Text(para[: max(0, c.start - start)])
                        text.append(para[max(0, c.start - start): c.end - start], style="bold reverse")
                        text.append(para[c.end - start:])
                        yield Static(text, classes="para cited")
                    else:
                        yield Static(Text(para), classes="para")
            yield Static(Text("escape to close" + (" · u opens the web page" if self.url else ""), style="dim"))

    def on_mount(self) -> None:
        if self.query(".cited"):
            self.call_after_refresh(self._scroll_to_quote)

    def _scroll_to_quote(self) -> None:
        """The quoted sentence near the top of the view (in a long paragraph, not the paragraph's start)."""
        import textwrap

        body = self.query_one("#article-body", VerticalScroll)
        cited = self.query(".cited").first()
        before = self._before_quote
        width = max(10, cited.content_region.width)
        lines = len(textwrap.wrap(before, width, drop_whitespace=False)) - 1 if before else 0
        body.scroll_to(y=max(0, cited.virtual_region.y + lines - 1), animate=False)


class SettingsScreen(ModalScreen[tuple[str, int] | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, answerer: str, k: int) -> None:
        super().__init__()
        self.answerer = answerer
        self.k = k

    def compose(self) -> ComposeResult:
        with Vertical(id="settings-box", classes="dialog"):
            yield Label("Answerer")
            yield Select([("extractive (offline)", "extractive"), ("llm (configured endpoint)", "llm")],
                         value=self.answerer, allow_blank=False, id="answerer")
            yield Label("Passages to retrieve (k, 1–50)")
            yield Input(str(self.k), type="integer", id="k")
            with Horizontal(id="settings-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self._save()

    def _save(self) -> None:
        try:
            k = int(self.query_one("#k", Input).value)
        except ValueError:
            k = 0
        if not 1 <= k <= 50:
            self.notify("k must be a whole number from 1 to 50", severity="error")
            return
        self.dismiss((str(self.query_one("#answerer", Select).value), k))

    def action_cancel(self) -> None:
        self.dismiss(None)
