"""Scripted questions: JSONL (or plain lines) in, one answer record per line out, resumable.

Records are appended and flushed one by one, so a killed run keeps every finished answer;
a rerun with the same output file skips the ids already answered and repairs a torn
last line.

A line may carry "conversation": "<id>": lines with the same id are answered in file order,
each with the earlier turns of that conversation as its history (a resumed run rebuilds the
history from the records already written). Lines without it stand alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from assistant.engine import Engine
from assistant.records import Answer, Turn


@dataclass
class Question:
    id: str
    question: str | None
    error: str | None = None
    conversation: str | None = None


def parse_questions(lines: Iterator[str] | list[str]) -> Iterator[Question]:
    """Each non-blank line: {"id", "question"} JSON, or a plain question; bad lines become errors."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        fallback_id = f"line-{number}"
        if text.startswith("{") or text.startswith("["):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Question(fallback_id, None, f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield Question(fallback_id, None, f"line {number}: expected a JSON object with \"question\"")
                continue
            qid = str(obj.get("id", fallback_id))
            q = obj.get("question")
            if not isinstance(q, str) or not q.strip():
                yield Question(qid, None, f"line {number}: missing or empty \"question\"")
                continue
            conversation = obj.get("conversation")
            if conversation is not None and (not isinstance(conversation, str) or not conversation.strip()):
                yield Question(qid, None, f"line {number}: \"conversation\" must be a non-empty string, "
                                          f"not {json.dumps(conversation)}")
                continue
            yield Question(qid, q, conversation=conversation)
        else:
            yield Question(fallback_id, text)


def answered_ids(path: Path) -> set[str]:
    """Ids already in an output file; a torn last line (a killed run) is cut off first."""
    return set(answered_records(path))


def answered_records(path: Path) -> dict[str, dict[str, Any]]:
    """The records already in an output file, by id (a resume rebuilds conversations from them);
    a torn last line (a killed run) is cut off first."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    records: dict[str, dict[str, Any]] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "id" in obj:
            records[str(obj["id"])] = obj
    return records


def run_batch(engine: Engine, questions: list[Question], out: TextIO, skip: set[str] | dict[str, dict] | None = None,
              k: int | None = None, answerer: str | None = None,
              on_done: Callable[[Question, dict], None] | None = None) -> dict[str, int]:
    """Answer each question in order, writing one JSON line each; returns counts. `skip`: the ids
    (or, from `answered_records`, the records) already written; a conversation's skipped turns
    still become the history of its later ones."""
    done = skip if isinstance(skip, dict) else {i: {} for i in (skip or set())}
    counts = {"answered": 0, "not_found": 0, "errors": 0, "skipped": 0, "fallbacks": 0}
    histories: dict[str, list[Turn]] = {}
    for q in questions:
        history = histories.setdefault(q.conversation, []) if q.conversation else None
        if q.id in done:
            counts["skipped"] += 1
            prior = done[q.id]
            if history is not None and prior.get("question") and "error" not in prior:
                history.append(Turn.of(Answer.from_dict(prior)))
            continue
        if q.error:
            record: dict = {"id": q.id, "error": q.error}
            counts["errors"] += 1
        else:
            try:
                extra = {"history": list(history)} if history is not None else {}
                ans = engine.ask(q.question or "", k=k, answerer=answerer, **extra)
                record = {"id": q.id, **({"conversation": q.conversation} if q.conversation else {}), **ans.to_dict()}
                if history is not None:
                    history.append(Turn.of(ans))
                counts["answered" if ans.answered else "not_found"] += 1
                if answerer == "llm" and ans.answerer not in ("llm", "metadata"):
                    record["fallback"] = True
                    counts["fallbacks"] += 1
            except Exception as exc:  # one bad question must not stop the batch
                record = {"id": q.id, "error": f"{type(exc).__name__}: {exc}"}
                counts["errors"] += 1
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        if on_done:
            on_done(q, record)
    return counts
