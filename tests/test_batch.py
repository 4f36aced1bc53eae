import io
import json
from pathlib import Path

from assistant.batch import answered_ids, parse_questions, run_batch


class FakeEngine:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, question: str, k=None, answerer=None):  # noqa: ANN001
        from assistant.records import Answer

        self.asked.append(question)
        if question == "boom":
            raise RuntimeError("model exploded")
        return Answer(question=question, answer=f"echo {question}")


def test_json_and_plain_lines_are_both_questions() -> None:
    qs = list(parse_questions(['{"id": "a", "question": "Who?"}', "", "What happened?"]))
    assert [(q.id, q.question) for q in qs] == [("a", "Who?"), ("line-3", "What happened?")]


def test_malformed_line_becomes_an_error_record_and_the_rest_run() -> None:
    qs = list(parse_questions(['{"id": "a", "question": "Who?"}', '{"id": "b", "question": ', '{"id": "c", "question": "Why?"}']))
    buf = io.StringIO()
    counts = run_batch(FakeEngine(), qs, buf)
    records = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["id"] for r in records] == ["a", "line-2", "c"]
    assert "invalid JSON" in records[1]["error"] and records[2]["answer"] == "echo Why?"
    assert counts["errors"] == 1 and counts["answered"] == 2


def test_missing_question_field_is_an_error_for_that_id() -> None:
    (q,) = parse_questions(['{"id": "x", "text": "Who?"}'])
    assert q.id == "x" and "question" in q.error


def test_an_exception_while_answering_is_recorded_not_raised() -> None:
    buf = io.StringIO()
    run_batch(FakeEngine(), list(parse_questions(["boom", "fine"])), buf)
    first, second = (json.loads(x) for x in buf.getvalue().splitlines())
    assert "model exploded" in first["error"] and second["answer"] == "echo fine"


def test_resume_skips_answered_ids_and_repairs_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "answer": "x"}\n{"id": "b", "ans')
    assert answered_ids(out) == {"a"}
    assert out.read_text() == '{"id": "a", "answer": "x"}\n'
    engine = FakeEngine()
    with open(out, "a") as fh:
        run_batch(engine, list(parse_questions(['{"id": "a", "question": "A?"}', '{"id": "b", "question": "B?"}'])),
                  fh, answered_ids(out))
    assert engine.asked == ["B?"]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a", "b"]
