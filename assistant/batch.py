"""Scripted questions: JSONL (or plain lines) in, one answer record per line out, resumable.

Records are appended and flushed one by one, so a killed run keeps every finished answer;
a rerun with the same output file skips the ids already answered, repairs a torn last line,
and retries the lines that failed: their error records are replaced, and the file is put
back in input order.

A line may carry "conversation": "<id>": lines with the same id are answered in file order,
each with the earlier turns of that conversation as its history (a resumed run rebuilds the
history from the records already written). Lines without it stand alone.
"""

from __future__ import annotations

import json
import os
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
    """Each non-blank line: {"id", "question"} JSON, or a plain question; bad lines become errors.
    Records are kept by id (a resumed run skips the ids it has), so a line repeating an earlier
    line's id is an error record of its own, "<id>@line-N", instead of silently replacing the first."""
    seen: set[str] = set()
    for number, q in _parse_lines(lines):
        if q.id in seen:
            q = Question(f"{q.id}@line-{number}", None,
                         f"line {number}: id {q.id!r} repeats an earlier line's; give each line its own id")
        seen.add(q.id)
        yield q


def _parse_lines(lines: Iterator[str] | list[str]) -> Iterator[tuple[int, Question]]:
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        fallback_id = f"line-{number}"
        if text.startswith("{") or text.startswith("["):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, Question(fallback_id, None, f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield number, Question(fallback_id, None, f"line {number}: expected a JSON object with \"question\"")
                continue
            qid = str(obj.get("id", fallback_id))
            q = obj.get("question")
            if q is None:
                yield number, Question(qid, None, f"line {number}: no \"question\"" if "question" not in obj
                               else f"line {number}: \"question\" is null")
                continue
            if not isinstance(q, str):
                yield number, Question(qid, None, f"line {number}: \"question\" must be a string, not {json.dumps(q)}")
                continue
            if not q.strip():
                yield number, Question(qid, None, f"line {number}: \"question\" is empty")
                continue
            conversation = obj.get("conversation")
            if conversation is not None and (not isinstance(conversation, str) or not conversation.strip()):
                yield number, Question(qid, None, f"line {number}: \"conversation\" must be a non-empty string, "
                                          f"not {json.dumps(conversation)}")
                continue
            yield number, Question(qid, q, conversation=conversation)
        else:
            yield number, Question(fallback_id, text)


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


def resume(path: Path) -> dict[str, dict[str, Any]]:
    """Get an output file ready for a resumed run: a torn last line is cut off and the error records
    are taken out (their lines are asked again, and their new records replace them). Returns the
    records kept, by id: what the run skips."""
    records = answered_records(path)
    failed = {i for i, r in records.items() if "error" in r}
    if failed or _has_errors(path):
        _rewrite(path, [r for r in _read(path) if "error" not in r])
    return {i: r for i, r in records.items() if i not in failed}


def in_input_order(path: Path, questions: list[Question]) -> None:
    """Rewrite the output file with one record per id in the order of the input (the latest record
    of an id wins); records of ids the input no longer has stay at the end."""
    records = _read(path)
    by_id: dict[str, dict[str, Any]] = {}
    for r in records:
        by_id[str(r.get("id"))] = r
    order = list(dict.fromkeys(q.id for q in questions))
    ordered = [by_id.pop(i) for i in order if i in by_id] + list(by_id.values())
    if ordered != records:
        _rewrite(path, ordered)


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "id" in obj:
            out.append(obj)
    return out


def _has_errors(path: Path) -> bool:
    return any("error" in r for r in _read(path))


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace the file at once (a kill leaves the old file or the new one, never half of each)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


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
