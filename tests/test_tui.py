"""The Textual chat driven by its Pilot, with the real bundled model and a real index."""

import shutil
import threading
from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.tui.app import ChatApp
from assistant.tui.screens import ArticleScreen, HelpScreen
from assistant.tui.widgets import AnswerMessage, EmptyIndexNotice, SourceItem, SourcesPanel

pytestmark = pytest.mark.slow
SIZE = (120, 40)
QUESTION = "How much will the Velmar desalination plant cost?"


@pytest.fixture
def app_factory(tmp_path: Path, settings, real_embedder, examples_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # sources show as articles/..., the same on every run (snapshots)

    def make(index: bool = True, docs: Path | None = None, embedder=None) -> ChatApp:  # noqa: ANN001
        folder = docs or tmp_path / "articles"
        if not folder.exists():
            shutil.copytree(examples_dir, folder)
        engine = Engine(settings, embedder=embedder or real_embedder)
        if index:
            engine.index([folder])
        return ChatApp(engine, settings, [folder], show_timings=False, save_dir=tmp_path)

    return make


async def wait_ready(app: ChatApp, pilot) -> None:  # noqa: ANN001
    for _ in range(200):
        if app.ready:
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never became ready")


async def settle(app: ChatApp, pilot) -> None:  # noqa: ANN001
    """A deterministic picture: no blinking cursor, the chat scrolled to its end, animations done."""
    app.query_one("#question").cursor_blink = False
    app.query_one("#chat").scroll_end(animate=False)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def ask(app: ChatApp, pilot, question: str) -> AnswerMessage:  # noqa: ANN001
    await wait_ready(app, pilot)
    await pilot.click("#question")
    for ch in question:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")
    for _ in range(300):
        done = [m for m in app.query(AnswerMessage) if m.answer is not None]
        if done:
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
