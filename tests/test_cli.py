"""The `assistant` command as a new user runs it: subprocesses with HOME and the XDG folders in a temp
folder, the real model and a real on-disk index in the per-user folder, run from wherever they stand."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, user_env

pytestmark = pytest.mark.slow

DAM = ("April 4, 2023\n\nRiver dam completed\n\nBy Ines Moreau\n\n"
       "The Valbonne river dam was completed in April after eleven years of construction. "
       "It will supply drinking water to 300,000 residents of the valley.\n\n"
       "Engineers said the reservoir would take two winters to fill.\n")
WATER = "How many residents will the dam supply with water?"


def run(*args: str, cwd: Path, home: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """`assistant ARGS` in `cwd`, for the user whose home is `home` (the worktree's code, wherever cwd is)."""
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=cwd,
                          env=user_env(home, PYTHONPATH=str(REPO), **env), input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's home with a folder of articles, indexed from the home folder into the per-user index."""
    home = tmp_path_factory.mktemp("home")
    docs = home / "docs"
    docs.mkdir()
    (docs / "dam.txt").write_text(DAM)
    (docs / "empty.txt").write_text("")
    r = run("index", "docs", "--json", cwd=home, home=home)
    assert r.returncode == 0, r.stderr
    (home / "elsewhere").mkdir()
    return home


@pytest.fixture
def newcomer(tmp_path: Path) -> Path:
    """A user with nothing indexed yet (their home is the test's temp folder)."""
    (tmp_path / "work").mkdir()
    return tmp_path


def test_help_lists_every_command(tmp_path: Path) -> None:
    r = run("--help", cwd=tmp_path, home=tmp_path)
    assert r.returncode == 0
    for cmd in ("index", "ask", "batch", "eval", "sources", "chat", "conversations"):
        assert cmd in r.stdout


def test_index_json_summary_reports_skipped_files(home: Path) -> None:
    r = run("index", "docs", "--json", cwd=home, home=home)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["unchanged"] == 1 and summary["chunks"] >= 1
    assert summary["skipped"] == [{"path": "docs/empty.txt", "reason": "empty file"}]
    assert {"added", "updated", "removed", "unchanged", "chunks", "skipped"} <= set(summary)


def test_the_index_lives_in_the_users_data_folder_not_the_working_folder(home: Path) -> None:
    assert (home / ".local" / "share" / "assistant" / "index" / "chroma").is_dir()
    assert not (home / "index").exists() and not list(home.glob(".index*"))


def test_a_question_asked_from_another_folder_cites_the_absolute_path(home: Path) -> None:
    r = run("ask", WATER, "--json", cwd=home / "elsewhere", home=home)
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert "300,000" in record["answer"] and record["citations"][0]["source"] == str(home / "docs" / "dam.txt")


def test_the_text_answer_shows_the_source_under_home_with_a_tilde(home: Path) -> None:
    text = run("ask", WATER, cwd=home / "elsewhere", home=home).stdout
    assert "[1]" in text and "Sources:" in text and "River dam completed" in text and "Ines Moreau" in text
    assert "(~/docs/dam.txt, chars" in text


def test_sources_from_another_folder_list_the_whole_path(home: Path) -> None:
    r = run("sources", cwd=home / "elsewhere", home=home, COLUMNS="60")  # piped: one tab-separated line each
    assert r.returncode == 0 and r.stdout.splitlines() == [
        "\t".join(["River dam completed", "Ines Moreau", "2023-04-04", r.stdout.split("\t")[3], str(home / "docs" / "dam.txt")])]
    assert "1 article in ~/.local/share/assistant/index" in r.stderr
    rows = json.loads(run("sources", "--json", cwd=home / "elsewhere", home=home).stdout)
    assert rows == [{"doc_id": "docs/dam.txt", "title": "River dam completed", "authors": ["Ines Moreau"],
                     "published": "2023-04-04", "source": str(home / "docs" / "dam.txt"),
                     "chunks": rows[0]["chunks"], "format": "txt"}]


def test_a_question_the_articles_do_not_answer_exits_1(home: Path) -> None:
    r = run("ask", "Who won the 1966 world cup final?", cwd=home / "elsewhere", home=home)
    assert r.returncode == 1 and "do not answer" in r.stdout


def test_an_empty_question_is_a_usage_error(home: Path) -> None:
    r = run("ask", "  ", cwd=home / "elsewhere", home=home)
    assert r.returncode == 2 and r.stderr.strip() == "error: the question is empty"


@pytest.mark.parametrize("value", ["2024-13-45", "yesterday"])
def test_a_date_filter_that_is_no_date_is_a_usage_error_naming_it(home: Path, value: str) -> None:
    r = run("ask", "When was the dam completed?", "--since", value, cwd=home / "elsewhere", home=home)
    assert r.returncode == 2 and repr(value) in r.stderr and "YYYY-MM-DD" in r.stderr


def test_batch_exits_1_with_the_failed_count_and_a_resumed_run_retries_the_fixed_line(home: Path) -> None:
    work = home / "elsewhere"
    (work / "q.jsonl").write_text('{"id": "1", "question": "When was the dam completed?"}\n'
                                  '{"id": "2", "question": \n'
                                  '{"id": "3", "question": 42}\n'
                                  'Who won the world cup?\n')
    r = run("batch", "q.jsonl", "-o", "a.jsonl", cwd=work, home=home)
    assert r.returncode == 1 and "error: 2 of 4 lines failed" in r.stderr
    records = [json.loads(x) for x in (work / "a.jsonl").read_text().splitlines()]
    assert [x["id"] for x in records] == ["1", "line-2", "3", "line-4"]
    assert records[0]["citations"] and "invalid JSON" in records[1]["error"] and records[3]["answered"] is False
    assert records[2]["error"] == 'line 3: "question" must be a string, not 42'
    (work / "q.jsonl").write_text('{"id": "1", "question": "When was the dam completed?"}\n'
                                  '{"id": "2", "question": "Who wrote about the dam?"}\n'
                                  '{"id": "3", "question": "How long will the reservoir take to fill?"}\n'
                                  'Who won the world cup?\n')
    again = run("batch", "q.jsonl", "-o", "a.jsonl", cwd=work, home=home)
    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith("2 answered, 2 skipped")
    records = [json.loads(x) for x in (work / "a.jsonl").read_text().splitlines()]
    assert [x["id"] for x in records] == ["1", "2", "3", "line-4"] and not [x for x in records if "error" in x]
    done = run("batch", "q.jsonl", "-o", "a.jsonl", cwd=work, home=home)
    assert done.returncode == 1 and "nothing to do" in done.stderr


def test_eval_says_how_many_gold_documents_the_index_lacks(home: Path) -> None:
    work = home / "elsewhere"
    (work / "gold.jsonl").write_text(
        json.dumps({"id": "1", "question": WATER, "answers": ["300,000"], "sources": ["dam.txt"]}) + "\n"
        + json.dumps({"id": "2", "question": "When did the ferry resume?", "answers": ["June"], "sources": ["ferry.txt"]}) + "\n")
    r = run("eval", "gold.jsonl", cwd=work, home=home)
    assert r.returncode == 0, r.stderr
    assert "warning: 1 of 2 gold documents are not in the index in ~/.local/share/assistant/index (ferry.txt)" in r.stderr
    (work / "none.jsonl").write_text(
        json.dumps({"id": "1", "question": "When did the ferry resume?", "answers": ["June"], "sources": ["ferry.txt"]}))
    none = run("eval", "none.jsonl", "--json", cwd=work, home=home)
    assert none.returncode == 1 and "none of the gold documents is indexed" in none.stderr
    assert json.loads(none.stdout)["missing_documents"] == 1


def test_a_collection_moved_to_another_folder_is_refound_not_duplicated(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "dam.txt").write_text(DAM)
    assert run("index", "old", cwd=tmp_path, home=tmp_path).returncode == 0
    shutil.move(tmp_path / "old", tmp_path / "new")
    r = run("index", "new", "--json", cwd=tmp_path, home=tmp_path)
    assert (json.loads(r.stdout)["moved"], json.loads(r.stdout)["added"]) == (1, 0)
    rows = json.loads(run("sources", "--json", cwd=tmp_path, home=tmp_path).stdout)
    assert [row["source"] for row in rows] == [str(tmp_path / "new" / "dam.txt")]


def test_nothing_indexable_exits_non_zero_with_one_line_reason(newcomer: Path) -> None:
    (newcomer / "work" / "e.txt").write_text("")
    r = run("index", ".", cwd=newcomer / "work", home=newcomer)
    assert r.returncode == 1
    assert "empty file" in r.stderr and "Traceback" not in r.stderr


def test_a_path_that_does_not_exist_is_a_usage_error_though_the_others_are_indexed(newcomer: Path) -> None:
    (newcomer / "work" / "dam.txt").write_text(DAM)
    r = run("index", "dam.txt", "nowhere", cwd=newcomer / "work", home=newcomer)
    assert r.returncode == 2 and "nowhere: no such file or folder" in r.stderr and "added 1" in r.stderr
    only = run("index", "nowhere", cwd=newcomer / "work", home=newcomer)
    assert only.returncode == 2 and "Traceback" not in only.stderr


def test_a_quoted_sentence_is_shown_with_its_own_quotation_marks_only(newcomer: Path) -> None:
    (newcomer / "work" / "port.txt").write_text(
        "Port talks\n\nBy Ana Test\n\n“We will not sign a deal that cuts pay,” said union leader Mira Holt on "
        "Monday after the talks at the Velmar port collapsed.\n")
    assert run("index", ".", cwd=newcomer / "work", home=newcomer).returncode == 0
    r = run("ask", "What did Mira Holt say about the deal?", cwd=newcomer / "work", home=newcomer)
    assert "    “We will not sign" in r.stdout and "““" not in r.stdout, r.stdout


def test_ask_without_an_index_exits_1_and_names_the_folder_it_looked_in(newcomer: Path) -> None:
    r = run("ask", "anything?", cwd=newcomer / "work", home=newcomer)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "No articles are indexed yet in ~/.local/share/assistant/index" in r.stdout and "assistant index" in r.stdout


def test_sources_without_an_index_exits_1_and_names_the_folder(newcomer: Path) -> None:
    r = run("sources", cwd=newcomer / "work", home=newcomer)
    assert r.returncode == 1 and "no articles indexed in ~/.local/share/assistant/index" in r.stderr


def test_a_config_file_in_a_parent_folder_chooses_the_index(newcomer: Path) -> None:
    (newcomer / "work" / "assistant.toml").write_text('index_dir = "project-index"\n')
    (newcomer / "work" / "docs").mkdir()
    (newcomer / "work" / "docs" / "dam.txt").write_text(DAM)
    deep = newcomer / "work" / "docs"
    r = run("index", ".", cwd=deep, home=newcomer)
    assert r.returncode == 0 and "passages in ~/work/project-index" in r.stderr
    assert (newcomer / "work" / "project-index" / "chroma").is_dir()


def test_an_index_from_before_in_the_working_folder_keeps_working_and_is_announced_once(newcomer: Path) -> None:
    work = newcomer / "work"
    (work / "docs").mkdir()
    (work / "docs" / "dam.txt").write_text(DAM)
    assert run("index", "docs", "--index-dir", "index", cwd=work, home=newcomer).returncode == 0  # as the old default did
    first = run("ask", WATER, cwd=work, home=newcomer)
    assert first.returncode == 0 and "300,000" in first.stdout
    assert "note: using ~/work/index, an index made by an earlier version" in first.stderr
    second = run("ask", WATER, cwd=work, home=newcomer)
    assert second.returncode == 0 and "note:" not in second.stderr
