"""The Textual chat driven by its Pilot, with the real bundled model and a real index."""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.tui.app import ChatApp
from assistant.tui.screens import ArticleScreen, HelpScreen
from assistant.tui.widgets import (AnswerMessage, CompactSources, ConversationDivider, EmptyIndexNotice, QuestionInput,
                                   QuestionMessage, SourceItem, SourcesPanel)

pytestmark = pytest.mark.slow
SIZE = (120, 40)
QUESTION = "How much will the Velmar desalination plant cost?"


@pytest.fixture
def app_factory(tmp_path: Path, settings, real_embedder, examples_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # sources show as ~/articles/..., the same on every run (snapshots)

    def make(index: bool = True, docs: Path | None = None, embedder=None, **changes) -> ChatApp:  # noqa: ANN001, ANN003
        folder = docs or tmp_path / "articles"
        if not folder.exists():
            shutil.copytree(examples_dir, folder)
        s = settings.replace(**changes)
        engine = Engine(s, embedder=embedder or real_embedder)
        if index:
            engine.index([folder])
        return ChatApp(engine, s, [folder], show_timings=False, save_dir=tmp_path)

    return make


async def wait_ready(app: ChatApp, pilot) -> None:  # noqa: ANN001
    for _ in range(200):
        if app.ready:
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never became ready")


async def settle(app: ChatApp, pilot) -> None:  # noqa: ANN001
    """A deterministic picture: no blinking cursor, the chat scrolled where the app put it, animations done."""
    app.query_one("#question").cursor_blink = False
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def finished(app: ChatApp) -> list[AnswerMessage]:
    return [m for m in app.query(AnswerMessage) if m.answer is not None or "Could not answer" in m.source]


async def ask(app: ChatApp, pilot, question: str) -> AnswerMessage:  # noqa: ANN001
    """Type a question as a user would; the message of its answer once it has arrived."""
    await wait_ready(app, pilot)
    before = len(finished(app))
    app.query_one("#question").focus()
    await pilot.pause()
    for ch in question:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")
    for _ in range(300):
        done = finished(app)
        if len(done) > before:
            await pilot.pause()
            return done[-1]
        await pilot.pause(0.05)
    raise AssertionError("no answer arrived")


async def test_typed_question_gets_an_answer_with_citation_markers(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        assert "312 million euros" in msg.answer.answer and "[1]" in msg.answer.answer
        assert "ready: 8 articles" in str(app.query_one("#status").render())


async def test_selecting_a_citation_shows_its_passage_in_the_sources_panel(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        app.query_one("#chat").focus()
        n = msg.answer.citations[-1].n
        await pilot.press(str(n))
        panel = app.query_one(SourcesPanel)
        assert panel.current is not None and panel.current.n == n
        item = panel.highlighted_child
        assert isinstance(item, SourceItem)
        assert msg.answer.citations[-1].quote[:40] in str(item.query(".source-passage").first().render())


async def test_opening_a_source_shows_the_article_at_the_passage(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, QUESTION)
        panel = app.query_one(SourcesPanel)
        panel.focus()
        quote = panel.current.quote
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ArticleScreen)
        assert quote in str(app.screen.query_one(".cited").render())
        await pilot.press("escape")


async def test_unanswerable_question_says_the_articles_do_not_answer(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        msg = await ask(app, pilot, "Who won the 2022 World Cup?")
        assert not msg.answer.answered and msg.answer.citations == []


async def test_reindex_after_adding_a_file_makes_it_answerable(app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        (tmp_path / "articles" / "zoo.txt").write_text(
            "May 5, 2024\n\nZoo welcomes twin pandas\n\nBy Kim Lo\n\n"
            "The Arlen city zoo welcomed twin giant pandas named Bao and Lin on Sunday, the first born there.\n")
        await pilot.press("ctrl+r")
        for _ in range(400):
            if not app.indexing:
                break
            await pilot.pause(0.05)
        assert app.engine.status().documents == 9
        msg = await ask(app, pilot, "What are the names of the twin pandas at the zoo?")
        assert "Bao and Lin" in msg.answer.answer


async def test_empty_index_shows_how_to_add_articles(app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    empty = tmp_path / "nothing"
    empty.mkdir()
    app = app_factory(index=False, docs=empty)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        await pilot.pause()
        notice = app.query_one(EmptyIndexNotice)
        assert notice is not None


async def test_question_history_comes_back_with_up(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, "Why did the rail strike end?")
        await pilot.press("up")
        assert app.query_one("#question").value == "Why did the rail strike end?"


async def test_save_writes_the_conversation_with_citations(app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, QUESTION)
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = list(tmp_path.glob("conversation-*.md"))
    assert saved and "312 million euros" in saved[0].read_text() and "velmar-desalination-plant.txt" in saved[0].read_text()


async def test_help_screen_lists_the_keys(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


def test_snapshot_main_screen_with_an_answer(app_factory, snap_compare) -> None:  # noqa: ANN001
    app = app_factory()

    async def run_before(pilot) -> None:  # noqa: ANN001
        await ask(app, pilot, QUESTION)
        app.query_one("#question").focus()
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_sources_panel_focused_on_second_citation(app_factory, snap_compare) -> None:  # noqa: ANN001
    app = app_factory()

    async def run_before(pilot) -> None:  # noqa: ANN001
        await ask(app, pilot, QUESTION)
        app.query_one(SourcesPanel).focus()
        await pilot.press("down")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_help_screen(app_factory, snap_compare) -> None:  # noqa: ANN001
    app = app_factory()

    async def run_before(pilot) -> None:  # noqa: ANN001
        await wait_ready(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_narrow_terminal(app_factory, snap_compare) -> None:  # noqa: ANN001
    app = app_factory()

    async def run_before(pilot) -> None:  # noqa: ANN001
        await ask(app, pilot, QUESTION)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_narrow_terminal_showing_the_sources(app_factory, snap_compare) -> None:  # noqa: ANN001
    app = app_factory()

    async def run_before(pilot) -> None:  # noqa: ANN001
        await ask(app, pilot, QUESTION)
        await pilot.press("ctrl+t")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


class HeldEmbedder:
    """The real model, except that embedding texts that contain `marker` waits until the test
    sets `release`: an indexer embedding those articles is held at a known point, on any machine."""

    def __init__(self, inner, marker: str) -> None:  # noqa: ANN001
        self.inner = inner
        self.marker = marker
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.reached = threading.Event()
        self.release = threading.Event()

    def encode(self, texts, progress=None):  # noqa: ANN001, ANN201
        if any(self.marker in t for t in texts):
            self.reached.set()
            self.release.wait(timeout=120)
        return self.inner.encode(texts, progress=progress)


async def wait_until(pilot, condition, what: str, tries: int = 600) -> None:  # noqa: ANN001
    """Bounded wait on a condition (never a fixed sleep standing in for one)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_chat_keeps_answering_while_a_reindex_runs(app_factory, tmp_path: Path, real_embedder) -> None:  # noqa: ANN001
    held = HeldEmbedder(real_embedder, marker="orchard number")
    app = app_factory(embedder=held)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(app, pilot)
            for i in range(40):
                (tmp_path / "articles" / f"extra-{i}.txt").write_text(
                    f"May 5, 2024\n\nExtra report {i}\n\nBy Kim Lo\n\n" + f"The orchard number {i} grew apples and pears. " * 30)
            await pilot.press("ctrl+r")
            await wait_until(pilot, held.reached.is_set, "the re-index to embed the new articles")
            assert app.indexing
            msg = await ask(app, pilot, QUESTION)
            assert "312 million euros" in msg.answer.answer
            assert app.indexing, "the re-index is held until the question is answered"
            held.release.set()
            await wait_until(pilot, lambda: not app.indexing, "the re-index to finish")
            assert app.engine.status().documents == 48
    finally:
        held.release.set()  # never leave the indexer thread waiting


# --- conversation --------------------------------------------------------------------------

def record_histories(app: ChatApp) -> list[list]:
    """The history each question was asked with (the engine itself still answers)."""
    seen: list[list] = []
    real = app.engine.ask_stream

    def ask_stream(question, *args, history=None, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(list(history or []))
        return real(question, *args, history=history, **kwargs)

    app.engine.ask_stream = ask_stream
    return seen


async def test_a_follow_up_is_answered_about_the_earlier_subject(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, "Why did the rail strike end?")
        follow = await ask(app, pilot, "How long did it last?")
        assert follow.answer.answered and "nine-day" in follow.answer.answer
        assert {c.doc_id for c in follow.answer.citations} == {"articles/regional-rail-strike.txt"}


async def test_the_chat_passes_its_earlier_turns_as_the_history(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        seen = record_histories(app)
        await ask(app, pilot, "Why did the rail strike end?")
        await ask(app, pilot, "How long did it last?")
        assert [len(h) for h in seen] == [0, 1]
        assert seen[1][0].question == "Why did the rail strike end?" and seen[1][0].citations


async def test_what_was_searched_for_is_shown_under_a_resolved_follow_up(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, "Why did the rail strike end?")
        follow = await ask(app, pilot, "How long did it last?")
        shown = list(app.query(QuestionMessage))
        assert shown[0].searched is None, "a question searched as typed shows nothing more"
        assert shown[1].searched == follow.answer.standalone_question != "How long did it last?"
        assert f"searched for: {follow.answer.standalone_question}" in str(shown[1].render())


async def test_ctrl_n_starts_a_new_conversation_without_the_earlier_turns(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        seen = record_histories(app)
        await ask(app, pilot, "Why did the rail strike end?")
        await pilot.press("ctrl+n")
        assert app.history == [] and len(app.query(ConversationDivider)) == 1
        follow = await ask(app, pilot, "How long did it last?")
        assert seen[-1] == [] and list(app.query(QuestionMessage))[-1].searched is None
        assert "nine-day" not in follow.answer.answer


async def test_the_history_holds_at_most_history_turns(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    app.settings = app.settings.replace(history_turns=2)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_histories(app)
        for q in ("Why did the rail strike end?", "How long did it last?", "Who led it?", "When did it start?"):
            await ask(app, pilot, q)
        assert [len(h) for h in seen] == [0, 1, 2, 2]
        assert [t.question for t in seen[-1]] == ["How long did it last?", "Who led it?"]


# --- narrow terminals ----------------------------------------------------------------------

NARROW_SIZE = (80, 24)


def fully_visible(app: ChatApp, widget) -> bool:  # noqa: ANN001
    chat = app.query_one("#chat")
    return chat.display and chat.content_region.contains_region(widget.region)


async def test_a_narrow_terminal_gives_the_answer_the_height(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=NARROW_SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        await pilot.pause()
        assert not app.query_one("#sources-column").display
        assert fully_visible(app, msg) and fully_visible(app, list(app.query(QuestionMessage))[-1])


async def test_ctrl_t_switches_a_narrow_terminal_between_answer_and_sources(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=NARROW_SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        await pilot.press("ctrl+t")
        assert app.query_one("#sources-column").display and not app.query_one("#chat").display
        assert app.query_one(SourcesPanel).current.quote == msg.answer.citations[0].quote
        await pilot.press("escape")
        assert app.query_one("#chat").display and not app.query_one("#sources-column").display


async def test_choosing_a_citation_in_a_narrow_terminal_shows_its_source(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=NARROW_SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        app.query_one("#chat").focus()
        n = msg.answer.citations[-1].n
        await pilot.press(str(n))
        assert app.query_one("#sources-column").display
        assert app.query_one(SourcesPanel).current.n == n


# --- what an answer leaves out -------------------------------------------------------------

async def test_a_refused_answer_lists_the_nearest_passages_on_demand(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        msg = await ask(app, pilot, "Who won the 2022 World Cup?")
        assert not msg.answer.answered and msg.answer.passages
        assert "nearest passages, not an answer" in msg.source and "**" not in msg.source.split("nearest")[1]
        await pilot.press("ctrl+g")
        nearest = msg.answer.passages[0].chunk
        assert "nearest passages, not an answer" in msg.source and nearest.title in msg.source.replace("\\", "")
        await pilot.press("ctrl+g")
        assert nearest.title not in msg.source.replace("\\", "")
        line = next(b for b in msg.query("MarkdownParagraph") if "nearest passages" in b._content.plain)
        await pilot.click(line, offset=(line._content.plain.index("nearest") + 2, 0))  # the line is a link too
        await pilot.pause()
        assert nearest.title in msg.source.replace("\\", "")


async def test_a_doubtful_answer_lists_the_passages_it_did_not_cite_to_check_it_against(app_factory) -> None:  # noqa: ANN001
    app = app_factory(low_confidence=0.99)  # every answer is under the mark
    async with app.run_test(size=SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        assert msg.answer.answered and "other passages to check it against" in msg.source
        cited = {(c.doc_id, c.start) for c in msg.answer.citations}
        await pilot.press("ctrl+g")
        shown = msg.nearest
        assert shown and all(not any(d == p.chunk.doc_id and p.chunk.start <= s < p.chunk.end for d, s in cited)
                             for p in shown)
        assert shown[0].chunk.title in msg.source.replace("\\", "")


async def test_sentences_the_citation_check_dropped_are_revealed_struck_through(app_factory) -> None:  # noqa: ANN001
    from tests.llm_server import Reply, ScriptedServer

    with ScriptedServer() as server:
        server.replies.append(Reply("The Velmar plant will cost 312 million euros [1]. "
                                    "It was paid for by a 900 billion dollar gift from the moon [1]."))
        app = app_factory(answerer="llm", llm_base_url=server.url, llm_timeout=5.0, llm_retries=0)
        async with app.run_test(size=SIZE) as pilot:
            msg = await ask(app, pilot, QUESTION)
            assert msg.answer.answerer == "llm" and "312 million euros" in msg.answer.answer
            dropped = msg.answer.dropped
            assert dropped and "moon" in dropped[0]["claim"] and dropped[0]["reason"]
            assert "1 sentence dropped by the citation check" in msg.source and "~~" not in msg.source
            await pilot.click(AnswerMessage, offset=(2, 0))  # select it, as a reader would
            await pilot.press("ctrl+g")
            struck = msg.source.split("~~")
            assert len(struck) == 3 and "moon" in struck[1] and dropped[0]["reason"][:20] in struck[2].replace("\\", "")


# --- errors --------------------------------------------------------------------------------

async def test_an_internal_error_is_one_line_and_never_shown_raw(app_factory) -> None:  # noqa: ANN001
    from chromadb.errors import InternalError

    app = app_factory()

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise InternalError("Error executing plan: Internal error: Error finding id\nat segment 7")

    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        app.engine.ask_stream = broken
        msg = await ask(app, pilot, QUESTION)
        assert msg.source.startswith("*Could not answer:") and "\n" not in msg.source
        assert "Error finding id" not in msg.source and "Internal error" not in msg.source
        del app.engine.ask_stream  # the engine's own method again
        again = await ask(app, pilot, QUESTION)
        assert "312 million euros" in again.answer.answer, "the next question is answered as usual"


async def test_an_engine_error_is_shown_as_its_one_line_message(app_factory) -> None:  # noqa: ANN001
    from assistant.engine import StoreError

    app = app_factory()

    def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise StoreError("cannot read the index in /x: the disk is gone;\ncheck the disk and reopen the chat")

    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        app.engine.ask_stream = failing
        msg = await ask(app, pilot, QUESTION)
        assert msg.source == "*Could not answer: cannot read the index in /x: the disk is gone; check the disk and reopen the chat*"


# --- the index changing under an open chat -------------------------------------------------

PREFIXES = "Bel Cor Dun Fal Gar Hol Kel Lor Mar Nor".split()
SUFFIXES = "ford mere wick stead holm by thorpe ton bury dale".split()
INTERNAL = ("Internal error", "InternalError", "Error finding id", "Error executing plan")


def town(i: int) -> str:
    return PREFIXES[i // 10] + SUFFIXES[i % 10]


def books(i: int) -> int:
    return 10_000 + 137 * i


def write_towns(folder: Path, n: int) -> None:
    """n articles, each with one fact only it states (files sort in index order: town-000 first)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"town-{i:03d}.txt").write_text(
            f"April {1 + i % 28}, 2024\n\n{town(i)} opens its new public library\n\nBy Ana Pell\n\n"
            f"The town council of {town(i)} opened a new public library on Monday. "
            f"The library in {town(i)} holds {books(i):,} books and stays open until nine in the evening.\n")


def books_question(i: int) -> str:
    return f"How many books does the new library in {town(i)} hold?"


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}


def index_in_another_process(folder: Path, app: ChatApp, *extra: str) -> subprocess.Popen:
    """`assistant index FOLDER` run by another process on the chat's own index."""
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", str(folder), "--json",
                             "--index-dir", str(app.settings.index_dir), *extra],
                            cwd=folder.parent, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# Runs the real CLI, but holds the run at a known point: the second batch of chunks is written
# and its manifest records (the commit point) are not. It says so in HELD_AT, then waits to be killed.
HELD_INDEX = """
import pathlib, sys, threading
from assistant.store import Store
commit = Store.commit_entries
held_at = pathlib.Path(sys.argv[1])
calls = []
def held(self, entries):
    calls.append(len(entries))
    if len(calls) == 2:
        held_at.write_text(str(len(entries)))
        threading.Event().wait()
    return commit(self, entries)
Store.commit_entries = held
from assistant.cli import app
sys.argv = ["assistant"] + sys.argv[2:]
app()
"""


def assert_no_internal_error(app: ChatApp) -> None:
    shown = [m.source for m in app.query(AnswerMessage)] + [str(app.query_one("#status").render())]
    assert not [s for s in shown if any(e in s for e in INTERNAL)], shown


def status_text(app: ChatApp) -> str:
    return str(app.query_one("#status").render())


async def test_the_chat_announces_and_answers_from_articles_another_process_added(app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    app = app_factory(change_check_seconds=0.1)
    more = tmp_path / "more"
    write_towns(more, 60)
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, QUESTION)
        proc = index_in_another_process(more, app)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        await wait_until(pilot, lambda: "60 new articles" in status_text(app), "the status line to announce them")
        assert "ready: 68 articles" in status_text(app)
        msg = await ask(app, pilot, books_question(41))
        assert f"{books(41):,}" in msg.answer.answer and town(41) in msg.answer.citations[0].title
        assert_no_internal_error(app)


async def test_an_index_run_killed_mid_run_then_completed_leaves_the_chat_answering(app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    app = app_factory(change_check_seconds=0.1)
    more = tmp_path / "more"
    write_towns(more, 100)  # two write batches of at most 64 documents
    held_at = tmp_path / "held-at"
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        proc = subprocess.Popen([sys.executable, "-c", HELD_INDEX, str(held_at), "index", str(more), "--json",
                                 "--index-dir", str(app.settings.index_dir)],
                                cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            await wait_until(pilot, lambda: held_at.exists() or proc.poll() is not None, "the run to reach its hold",
                             tries=2400)
            assert proc.poll() is None, proc.stderr.read()
            first_batch = 100 - int(held_at.read_text())
            await wait_until(pilot, lambda: app.engine.status().documents == 8 + first_batch, "the first batch")
            msg = await ask(app, pilot, books_question(3))  # committed before the hold
            assert f"{books(3):,}" in msg.answer.answer
        finally:
            proc.kill()
            proc.wait()
        msg = await ask(app, pilot, books_question(97))  # its chunks were written, its record never was
        assert not msg.answer.answered or f"{books(97):,}" not in msg.answer.answer
        second = index_in_another_process(more, app)
        out, err = second.communicate(timeout=600)
        assert second.returncode == 0, err
        await wait_until(pilot, lambda: app.engine.status().documents == 108, "the completed run")
        msg = await ask(app, pilot, books_question(97))
        assert f"{books(97):,}" in msg.answer.answer and town(97) in msg.answer.citations[0].title
        assert_no_internal_error(app)


# --- watching the folder (`assistant chat DIR`) --------------------------------------------

async def test_a_watched_folder_indexes_new_articles_with_progress_in_the_status_line(app_factory, tmp_path: Path,
                                                                                      real_embedder) -> None:  # noqa: ANN001
    held = HeldEmbedder(real_embedder, marker="opens its new public library")
    app = app_factory(embedder=held, watch_debounce_ms=100)
    app.watch_docs = True
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(app, pilot)
            write_towns(tmp_path / "articles", 3)
            await wait_until(pilot, held.reached.is_set, "the watcher to embed the new articles")
            await wait_until(pilot, lambda: "indexing" in status_text(app), "progress in the status line")
            held.release.set()
            await wait_until(pilot, lambda: "ready: 11 articles" in status_text(app) and "indexing" not in status_text(app),
                             "the watcher to finish (in one batch or more)")
            assert "new article" in status_text(app)
            msg = await ask(app, pilot, books_question(2))
            assert f"{books(2):,}" in msg.answer.answer
    finally:
        held.release.set()
    assert app.watch_stop.is_set() and app.watch_ended.wait(30), "the watcher stops when the chat quits"


async def test_a_folder_that_cannot_be_watched_is_a_status_note_not_a_crash(app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    app = app_factory()
    app.docs = [tmp_path / "nowhere"]
    app.watch_docs = True
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "not watching" in status_text(app), "the watcher's one-line reason")
        assert "nowhere" in status_text(app)
        msg = await ask(app, pilot, QUESTION)
        assert "312 million euros" in msg.answer.answer


def test_chat_over_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app as cli

    result = CliRunner().invoke(cli, ["chat", str(tmp_path / "nowhere"), "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 2 and "no such folder" in result.output and len(result.output.strip().splitlines()) == 1


async def test_an_article_fetched_from_the_web_opens_at_its_url(app_factory, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from assistant.records import Citation, Document

    app = app_factory()
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    url = "https://news.example.org/2024/ferry"
    doc = Document(doc_id=url, source=url, text="Ferry service resumes.\n\nThe ferry resumed service.", title="Ferry")
    cite = Citation(1, url, "Ferry", [], None, url, "c1", 24, 50, "The ferry resumed service.", 1.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        app.push_screen(ArticleScreen(doc, cite))
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()
        assert opened == [url]


# --- keyboard focus: typing always reaches the question box --------------------------------

async def type_text(pilot, text: str) -> None:  # noqa: ANN001
    for ch in text:
        await pilot.press({" ": "space", "?": "question_mark"}.get(ch, ch))


async def test_typing_after_tab_lands_in_the_question_box(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, QUESTION)
        await pilot.press("tab")
        assert not isinstance(app.focused, QuestionInput)
        await type_text(pilot, "why did it cost so much?")
        assert isinstance(app.focused, QuestionInput) and app.focused.value == "why did it cost so much?"
        assert not isinstance(app.screen, HelpScreen), "a '?' typed into a question never opens the help"


async def test_typing_after_ctrl_g_lands_in_the_question_box(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, "Who won the 2022 World Cup?")
        app.query_one("#chat").focus()
        await pilot.press("ctrl+g")
        await type_text(pilot, "what about rail?")
        assert app.query_one(QuestionInput).value == "what about rail?" and isinstance(app.focused, QuestionInput)


async def test_digits_in_the_chat_still_select_a_citation(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        app.query_one("#chat").focus()
        await pilot.press(str(msg.answer.citations[-1].n))
        assert app.query_one(SourcesPanel).current.n == msg.answer.citations[-1].n
        assert app.query_one(QuestionInput).value == ""


async def test_ctrl_n_puts_the_focus_back_in_the_question_box(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, QUESTION)
        app.query_one(SourcesPanel).focus()
        await pilot.press("ctrl+n")
        assert isinstance(app.focused, QuestionInput)


# --- 80x24 -----------------------------------------------------------------------------------

def test_snapshot_help_screen_at_80x24(app_factory, snap_compare) -> None:  # noqa: ANN001
    app = app_factory()

    async def run_before(pilot) -> None:  # noqa: ANN001
        await wait_ready(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=NARROW_SIZE, run_before=run_before)


async def test_the_help_gives_each_key_one_line_at_80x24(app_factory) -> None:  # noqa: ANN001
    from assistant.tui.screens import KEYS

    app = app_factory()
    async with app.run_test(size=NARROW_SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.query_one("#help-keys").region.height == len(KEYS)


async def test_resizing_to_80x24_keeps_the_latest_answer_in_view(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        await ask(app, pilot, "Why did the rail strike end?")
        msg = await ask(app, pilot, QUESTION)
        await pilot.resize_terminal(*NARROW_SIZE)
        await pilot.pause()
        await wait_until(pilot, lambda: fully_visible(app, list(app.query(QuestionMessage))[-1]), "the latest question in view")
        assert app.query_one("#chat").content_region.overlaps(msg.region)


async def test_a_narrow_chat_names_each_cited_article_under_the_answer(app_factory) -> None:  # noqa: ANN001
    app = app_factory()
    async with app.run_test(size=NARROW_SIZE) as pilot:
        msg = await ask(app, pilot, QUESTION)
        await pilot.pause()
        line = app.query(CompactSources).last()
        c = msg.answer.citations[0]
        markers = " ".join(f"[{x.n}]" for x in msg.answer.citations if x.doc_id == c.doc_id)
        assert line.display and f"{markers} {c.title}, Mara Quell and Tomas Ode, 2024-03-03" in str(line.render())
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert not line.display, "beside the sources panel the line would say it twice"


# --- a chat opened where there is nothing to index --------------------------------------------

async def test_a_chat_without_a_folder_names_the_index_and_ctrl_r_leaves_nothing_behind(
        app_factory, tmp_path: Path) -> None:  # noqa: ANN001
    app = app_factory(index=False)
    app.docs = []
    before = sorted(p.name for p in tmp_path.iterdir())
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(app, pilot)
        await pilot.pause()
        notice = app.query_one(EmptyIndexNotice)
        assert "~/index" in notice.source and "ctrl+r" not in notice.source
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.indexing
        assert "index: ~/index" in app.sub_title
    assert sorted(p.name for p in tmp_path.iterdir()) == before


async def test_a_burst_of_typing_in_the_sources_is_all_text_even_before_the_focus_arrives(app_factory) -> None:  # noqa: ANN001
    """A paste or a fast typist: 'who wrote…' must not open the article at its 'o'."""
    from textual import events

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await ask(app, pilot, QUESTION)
        app.query_one(SourcesPanel).focus()
        await pilot.pause()
        for ch in "who wrote 1":  # all queued before any is handled
            app.post_message(events.Key("space" if ch == " " else ch, ch))
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ArticleScreen)
        assert app.query_one(QuestionInput).value == "who wrote 1" and isinstance(app.focused, QuestionInput)
