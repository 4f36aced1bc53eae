"""Conversations in batch files, in the gold-set evaluation, and in the conversation store."""

import io
import json
from pathlib import Path

from assistant.batch import answered_records, parse_questions, run_batch
from assistant.config import Settings
import pytest

from assistant.conversations import ConversationError, ConversationStore, state_dir
from assistant.evaluation import GoldItem, evaluate
from assistant.records import Answer


class FakeEngine:
    """Records the history each question was asked with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str] | None]] = []

    def ask(self, question: str, k=None, answerer=None, **kw):  # noqa: ANN001, ANN003, ANN201
        history = kw.get("history")
        self.calls.append((question, None if history is None else [t.question for t in history]))
        return Answer(question=question, answer=f"echo {question}", standalone_question=f"searched {question}")

    def sources(self) -> list:
        return []


LINES = ['{"id": "1", "question": "Who built the dam?", "conversation": "a"}',
         '{"id": "2", "question": "Why the ferry strike?", "conversation": "b"}',
         '{"id": "3", "question": "When did it open?", "conversation": "a"}',
         '{"id": "4", "question": "Standalone?"}',
         '{"id": "5", "question": "And its cost?", "conversation": "a"}']


def test_turns_of_one_conversation_get_the_earlier_turns_as_history() -> None:
    engine = FakeEngine()
    run_batch(engine, list(parse_questions(LINES)), io.StringIO())
    assert engine.calls == [("Who built the dam?", []), ("Why the ferry strike?", []),
                            ("When did it open?", ["Who built the dam?"]), ("Standalone?", None),
                            ("And its cost?", ["Who built the dam?", "When did it open?"])]


def test_records_of_a_conversation_carry_its_id_and_what_was_searched_for() -> None:
    buf = io.StringIO()
    run_batch(FakeEngine(), list(parse_questions(LINES)), buf)
    records = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert records[2]["conversation"] == "a" and records[2]["standalone_question"] == "searched When did it open?"
    assert "conversation" not in records[3]


def test_a_resumed_run_rebuilds_the_history_from_the_records_written(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with open(out, "w") as fh:
        run_batch(FakeEngine(), list(parse_questions(LINES[:3])), fh)
    engine = FakeEngine()
    with open(out, "a") as fh:
        counts = run_batch(engine, list(parse_questions(LINES)), fh, answered_records(out))
    assert counts["skipped"] == 3
    assert engine.calls == [("Standalone?", None), ("And its cost?", ["Who built the dam?", "When did it open?"])]


def test_a_conversation_id_that_is_not_a_string_is_an_error_record() -> None:
    buf = io.StringIO()
    counts = run_batch(FakeEngine(), list(parse_questions(['{"id": "x", "question": "Who?", "conversation": 7}'])), buf)
    (record,) = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert record["id"] == "x" and "conversation" in record["error"] and counts["errors"] == 1


def test_evaluation_asks_turns_in_order_and_reports_followups_against_full_questions() -> None:
    engine = FakeEngine()
    items = [GoldItem("1", "Who built the dam?", ["echo"], ["d.txt"], "c"),
             GoldItem("2", "When did it open?", ["echo"], ["d.txt"], "c", full_question="When did the dam open?"),
             GoldItem("3", "How long was the strike?", ["echo"], ["f.txt"], "c", kind="new-topic")]
    rep = evaluate(engine, items, 5)
    assert engine.calls[:3] == [("Who built the dam?", []), ("When did it open?", ["Who built the dam?"]),
                                ("How long was the strike?", ["Who built the dam?", "When did it open?"])]
    assert ("When did the dam open?", None) in engine.calls
    assert set(rep.conversations) == {"followup", "new_topic"}
    assert rep.conversations["followup"]["turns"] == 1 and "full_answer_hit" in rep.conversations["followup"]
    assert rep.to_dict()["conversations"]["new_topic"]["alone_answer_hit"] == 1.0


def test_the_store_keeps_turns_in_order_and_lists_newest_first(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    first = store.new()
    store.add(first, Answer("Who built the dam?", "A [1]."))
    store.add(first, Answer("When did it open?", "B [1]."))
    second = store.new()
    store.add(second, Answer("Why the strike?", "C [1]."))
    assert store.latest() == second
    assert [t.question for t in store.history(first, 6)] == ["Who built the dam?", "When did it open?"]
    assert [t.question for t in store.history(first, 1)] == ["When did it open?"]
    rows = store.list()
    assert [(r.id, r.turns, r.title) for r in rows] == [(second, 1, "Why the strike?"), (first, 2, "Who built the dam?")]


def test_the_store_lives_in_the_xdg_state_directory_unless_configured(tmp_path: Path) -> None:
    assert state_dir(Settings(), {"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "assistant"
    assert state_dir(Settings(state_dir=tmp_path / "s"), {"XDG_STATE_HOME": "/elsewhere"}) == tmp_path / "s"
    assert state_dir(Settings(), {}) == Path.home() / ".local" / "state" / "assistant"


def test_each_index_lists_and_continues_only_its_own_conversations(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    a, b = ConversationStore(db, index="/idx/a"), ConversationStore(db, index="/idx/b")
    first = a.new("Who built the dam?")
    assert b.latest() is None and b.list() == [] and a.latest() == first
    with pytest.raises(ConversationError, match="belongs to the index in /idx/a"):
        b.check_owner(first)


def test_a_store_kept_before_conversations_had_an_index_is_upgraded_and_claimed(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:
        old.executescript("CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, "
                          "updated REAL NOT NULL); INSERT INTO conversations VALUES ('c1', 'Old?', 1.0, 1.0);")
    store = ConversationStore(db, index="/idx/a")
    store.check_owner("c1")  # continued by id: it now belongs to this index
    assert store.owner("c1") == "/idx/a" and store.latest() == "c1"
