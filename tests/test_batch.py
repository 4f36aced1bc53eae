import io
import json
from pathlib import Path

from assistant.batch import answered_ids, in_input_order, parse_questions, resume, run_batch


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


def test_a_question_that_is_not_a_string_gets_its_own_reason() -> None:
    (q,) = parse_questions(['{"id": "n", "question": 42}'])
    assert q.error == 'line 1: "question" must be a string, not 42'


def test_an_empty_question_and_a_missing_one_are_told_apart() -> None:
    empty, missing = parse_questions(['{"id": "e", "question": "  "}', '{"id": "m"}'])
    assert empty.error == 'line 1: "question" is empty' and missing.error == 'line 2: no "question"'


def run_file(engine: FakeEngine, lines: list[str], out: Path) -> dict[str, int]:
    """What `assistant batch FILE -o OUT` does with the output file."""
    items = list(parse_questions(lines))
    done = resume(out)
    with open(out, "a") as fh:
        counts = run_batch(engine, items, fh, done)
    in_input_order(out, items)
    return counts


def test_a_resumed_run_retries_the_lines_that_failed_and_replaces_their_records(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = run_file(FakeEngine(), ['{"id": "a", "question": "A?"}', '{"id": "b", "question": ', "boom"], out)
    assert first["errors"] == 2
    engine = FakeEngine()
    again = run_file(engine, ['{"id": "a", "question": "A?"}', '{"id": "b", "question": "B?"}', "fixed"], out)
    assert engine.asked == ["B?", "fixed"] and (again["answered"], again["skipped"], again["errors"]) == (2, 1, 0)
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "b", "line-3"] and not [r for r in records if "error" in r]


def test_a_line_repeating_an_earlier_id_is_an_error_record_of_its_own_and_the_first_stays() -> None:
    qs = list(parse_questions(['{"id": "q", "question": "When?"}', '{"id": "q", "question": "Who?"}',
                               '{"id": "r", "question": "Where?"}']))
    assert [q.id for q in qs] == ["q", "q@line-2", "r"]
    assert qs[0].question == "When?" and qs[1].question is None and "id 'q' repeats" in qs[1].error
    assert qs[2].question == "Where?"
