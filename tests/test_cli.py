"""The `assistant` command as a user runs it (subprocesses, real model, real on-disk index)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    docs = root / "docs"
    docs.mkdir()
    (docs / "dam.txt").write_text("April 4, 2023\n\nRiver dam completed\n\nBy Ines Moreau\n\n"
                                  "The Valbonne river dam was completed in April after eleven years of construction. "
                                  "It will supply drinking water to 300,000 residents of the valley.\n\n"
                                  "Engineers said the reservoir would take two winters to fill.\n")
    (docs / "empty.txt").write_text("")
    return root


def test_help_lists_every_command(tmp_path: Path) -> None:
    r = run("--help", cwd=tmp_path)
    assert r.returncode == 0
    for cmd in ("index", "ask", "batch", "eval", "sources", "chat"):
        assert cmd in r.stdout


def test_index_json_summary_reports_skipped_files(workdir: Path) -> None:
    r = run("index", "docs", "--json", cwd=workdir)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["added"] == 1 and summary["chunks"] >= 1
    assert summary["skipped"] == [{"path": "docs/empty.txt", "reason": "empty file"}]
    assert {"added", "updated", "removed", "unchanged", "chunks", "skipped"} <= set(summary)


def test_ask_json_cites_the_passage_and_the_text_form_lists_sources(workdir: Path) -> None:
    run("index", "docs", cwd=workdir)
    r = run("ask", "How many residents will the dam supply with water?", "--json", cwd=workdir)
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert "300,000" in record["answer"] and record["citations"][0]["source"] == "docs/dam.txt"
    text = run("ask", "How many residents will the dam supply with water?", cwd=workdir).stdout
    assert "[1]" in text and "Sources:" in text and "River dam completed" in text and "Ines Moreau" in text


def test_batch_writes_one_record_per_line_including_errors(workdir: Path) -> None:
    run("index", "docs", cwd=workdir)
    (workdir / "q.jsonl").write_text('{"id": "1", "question": "When was the dam completed?"}\n'
                                     '{"id": "2", "question": \n'
                                     'Who won the world cup?\n')
    r = run("batch", "q.jsonl", "-o", "a.jsonl", cwd=workdir)
    assert r.returncode == 0, r.stderr
    records = [json.loads(x) for x in (workdir / "a.jsonl").read_text().splitlines()]
    assert [x["id"] for x in records] == ["1", "line-2", "line-3"]
    assert records[0]["citations"] and "error" in records[1] and records[2]["answered"] is False


def test_nothing_indexable_exits_non_zero_with_one_line_reason(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("")
    r = run("index", ".", cwd=tmp_path)
    assert r.returncode == 1
    assert "empty file" in r.stderr and "Traceback" not in r.stderr


def test_ask_without_an_index_says_how_to_make_one(tmp_path: Path) -> None:
    r = run("ask", "anything?", cwd=tmp_path)
    assert r.returncode == 0 and "assistant index" in r.stdout and "Traceback" not in r.stderr


def test_sources_json_lists_articles_with_metadata(workdir: Path) -> None:
    run("index", "docs", cwd=workdir)
    rows = json.loads(run("sources", "--json", cwd=workdir).stdout)
    assert rows == [{"doc_id": "docs/dam.txt", "title": "River dam completed", "authors": ["Ines Moreau"],
                     "published": "2023-04-04", "source": "docs/dam.txt", "chunks": rows[0]["chunks"], "format": "txt"}]
