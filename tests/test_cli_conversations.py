"""`assistant ask -c / --cid`, `assistant conversations` and conversation batches, run as a user runs them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, user_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-conv")
    docs = root / "docs"
    docs.mkdir()
    (docs / "dam.txt").write_text("April 4, 2023\n\nRiver dam completed\n\nBy Ines Moreau\n\n"
                                  "The Valbonne river dam was completed in April after eleven years of construction. "
                                  "It will supply drinking water to 300,000 residents of the valley.\n\n"
                                  "Engineers said the reservoir would take two winters to fill.\n")
    (docs / "ferry.txt").write_text("June 9, 2024\n\nFerry service resumes\n\nBy Sam Lee\n\n"
                                    "The island ferry resumed service after a two-week strike by deck crews ended.\n")
    assert run("index", "docs", cwd=root).returncode == 0
    return root


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`assistant ARGS` for a user whose home is `cwd` (index and conversations in its XDG folders)."""
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=cwd, input=stdin,
                          env=user_env(cwd, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=300)


def test_ask_continue_resolves_a_followup_and_says_what_it_searched_for(workdir: Path) -> None:
    first = run("ask", "When was the Valbonne river dam completed?", cwd=workdir)
    follow = run("ask", "-c", "How long will it take to fill?", cwd=workdir)
    assert first.returncode == 0 and follow.returncode == 0, follow.stderr
    assert "searched for: How long will it take to fill? (about: Valbonne" in follow.stderr
    assert "two winters" in follow.stdout
    who = run("ask", "--continue", "Who wrote it?", "--json", cwd=workdir)
    record = json.loads(who.stdout)
    assert "Ines Moreau" in record["answer"] and record["answerer"] == "metadata"


def test_conversations_lists_them_newest_first_as_text_and_json(workdir: Path) -> None:
    run("ask", "Why did the ferry stop?", cwd=workdir)
    rows = json.loads(run("conversations", "--json", cwd=workdir).stdout)
    assert rows[0]["title"] == "Why did the ferry stop?" and rows[0]["turns"] == 1
    text = run("conversations", cwd=workdir)
    assert text.returncode == 0 and rows[0]["id"] in text.stdout


def test_cid_continues_a_named_conversation(workdir: Path) -> None:
    start = json.loads(run("ask", "When was the Valbonne river dam completed?", "--json", cwd=workdir).stdout)
    run("ask", "Why did the ferry stop?", cwd=workdir)  # a newer conversation in between
    follow = json.loads(run("ask", "--cid", start["conversation"], "How long will it take to fill?", "--json",
                            cwd=workdir).stdout)
    assert follow["conversation"] == start["conversation"] and "Valbonne" in follow["standalone_question"]


def test_a_conversation_belongs_to_its_index(workdir: Path) -> None:
    start = json.loads(run("ask", "When was the Valbonne river dam completed?", "--json", cwd=workdir).stdout)
    other = ["--index-dir", str(workdir / "other-index")]
    assert run("index", "docs/ferry.txt", *other, cwd=workdir).returncode == 0
    fresh = json.loads(run("ask", "-c", "Who wrote it?", "--json", *other, cwd=workdir).stdout)
    assert fresh["conversation"] != start["conversation"] and "Sam Lee" in fresh["answer"]
    assert [r["id"] for r in json.loads(run("conversations", "--json", *other, cwd=workdir).stdout)] == [fresh["conversation"]]
    refused = run("ask", "--cid", start["conversation"], "How long will it take to fill?", *other, cwd=workdir)
    assert refused.returncode == 1 and "belongs to the index in ~/.local/share/assistant/index" in refused.stderr


def test_an_unknown_cid_is_a_one_line_error(workdir: Path) -> None:
    r = run("ask", "--cid", "nope", "Why?", cwd=workdir)
    assert r.returncode == 1 and r.stderr.strip() == "error: no conversation 'nope' (see `assistant conversations`)"


def test_batch_answers_a_conversation_with_its_history(workdir: Path) -> None:
    lines = "\n".join(json.dumps(x) for x in [
        {"id": "1", "question": "When was the Valbonne river dam completed?", "conversation": "d"},
        {"id": "2", "question": "How long will it take to fill?", "conversation": "d"},
        {"id": "3", "question": "Bad", "conversation": ["d"]}])
    r = run("batch", "-", cwd=workdir, stdin=lines)
    records = [json.loads(x) for x in r.stdout.splitlines()]
    assert "Valbonne" in records[1]["standalone_question"] and "two winters" in records[1]["answer"]
    assert "conversation" in records[2]["error"]
