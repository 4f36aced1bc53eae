"""Command line: a thin layer over `assistant.engine` (typer for parsing, rich for output).

Data goes to stdout, logs and progress to stderr; progress bars only on a terminal
and never with --json. Exit codes: 0 done; 1 nothing to do, nothing found (no article indexed,
a question the articles do not answer) or some records failed; 2 a usage error.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from assistant.config import ConfigError, Settings, legacy_index_note, load_settings, short_path

QUOTE_MARKS = "“\"‘'«„"  # a quote opening with one of these is shown as it is

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Cited answers from a folder of articles: every sentence carries a checkable citation.")
out = Console(soft_wrap=True, highlight=False)  # answers and quotes are never broken into lines by us
err = Console(stderr=True, highlight=False, soft_wrap=True)  # a message is one line, however long

DEFAULT_DOCS = Path("examples/articles")  # what ctrl+r indexes in a chat opened without DIR, where it exists

IndexDir = Annotated[Optional[Path], typer.Option("--index-dir", help="Index folder (default: one per user, "
                                                  "$XDG_DATA_HOME/assistant/index, unless assistant.toml or [tool.assistant] in "
                                                  "this folder or a parent names one; env ASSISTANT_INDEX_DIR).")]
ChromaUrl = Annotated[Optional[str], typer.Option("--chroma-url", help="Use a Chroma server, e.g. http://localhost:8000 (env ASSISTANT_CHROMA_URL).")]
ChromaToken = Annotated[Optional[str], typer.Option("--chroma-token", help="Bearer token for the Chroma server (env ASSISTANT_CHROMA_TOKEN).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
K = Annotated[Optional[int], typer.Option("-k", "--k", min=1, max=50, help="Passages to retrieve (default 5).")]
AnswererOpt = Annotated[Optional[str], typer.Option("--answerer", help="extractive (offline, default) or llm.")]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Log details to stderr.")]
LlmUrl = Annotated[Optional[str], typer.Option("--llm-url", help="OpenAI-compatible endpoint for --answerer llm (env ASSISTANT_LLM_BASE_URL).")]
LlmModel = Annotated[Optional[str], typer.Option("--llm-model", help="Model name at that endpoint (env ASSISTANT_LLM_MODEL).")]


def _iso_date(value: Optional[str]) -> Optional[str]:
    """--since / --until: a calendar date as YYYY-MM-DD, else a usage error (exit 2) naming the value;
    an impossible date would otherwise filter out every article and read as "not answered"."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError
        return datetime.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date as YYYY-MM-DD") from None


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _settings(index_dir: Path | None = None, chroma_url: str | None = None, chroma_token: str | None = None,
              verbose: bool = False, **flags: object) -> Settings:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(index_dir=index_dir, chroma_url=chroma_url, chroma_token=chroma_token, **flags)
    except ConfigError as exc:
        _fail(str(exc), 2)
        raise  # unreachable
    note = legacy_index_note(settings)
    if note and not settings.chroma_url:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")
    return settings


def _where(settings: Settings) -> str:
    """The index as messages name it: the server URL, or the folder with the home folder as ~."""
    return settings.index_location


def _engine(settings: Settings):  # noqa: ANN202 - engine import is deferred for a fast --help
    from assistant.engine import Engine

    return Engine(settings)


@contextmanager
def _errors() -> Iterator[None]:
    """Known failures become a one-line message and exit 1, never a traceback."""
    from assistant.answer.llm import LLMError
    from assistant.embeddings import EmbeddingError
    from assistant.store import StoreError

    try:
        yield
    except (StoreError, EmbeddingError, LLMError, ConfigError, ValueError, OSError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130)


def _progress_enabled(as_json: bool) -> bool:
    return not as_json and err.is_terminal


@contextmanager
def _index_progress(enabled: bool) -> Iterator[object]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        tasks: dict[str, int] = {}
        embedded: dict[str, int] = {"done": 0}

        def on_event(e) -> None:  # noqa: ANN001
            if e.phase == "embed":
                embedded["done"] += e.done
                tid = tasks.setdefault("embed", progress.add_task("embedding", total=None))
                progress.update(tid, completed=embedded["done"])
                return
            if e.phase in ("scan", "write") and e.total:
                tid = tasks.setdefault("files", progress.add_task("files", total=e.total))
                progress.update(tid, completed=e.done, total=e.total)
            elif e.phase == "fetch" and e.total:
                tid = tasks.setdefault("fetch", progress.add_task("fetching", total=e.total))
                progress.update(tid, completed=e.done, total=e.total)
            elif e.phase == "wait" and "wait" not in tasks:  # another index run (or a watcher's batch) holds the lock
                tasks["wait"] = progress.add_task("waiting for another index run", total=None)
            elif e.phase == "lexical":
                tasks.setdefault("lexical", progress.add_task("keywords", total=None))

        yield on_event


@app.command()
def index(
    paths: Annotated[list[str], typer.Argument(metavar="PATH_OR_URL", help="Files or folders of articles (.txt .md .html .pdf), or http(s) URLs "
                                                    "of articles (web pages, PDFs) or RSS/Atom feeds (each entry's link is indexed).")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start the index over (e.g. after changing the model); URL articles are rebuilt from their stored copies.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="After indexing, keep watching the folders (and polling the feeds) and index changes as they happen; Ctrl-C stops. With --json, one summary line per batch.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask the servers again for URLs and feeds (conditional GET) instead of using the stored copies.")] = False,
    as_json: AsJson = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another index run to finish (--watch always waits).")] = 0.0,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """Index articles incrementally: only new, changed and removed files cost work. URLs are fetched once
    and kept in the index folder; --refresh fetches them again."""
    from assistant.ingest.fetch import is_url

    settings = _settings(index_dir, chroma_url, chroma_token, verbose)
    engine = _engine(settings)
    targets: list[Path | str] = [p if is_url(p) else Path(p) for p in paths]

    def print_skipped(skipped: list[dict[str, str]]) -> None:
        for s in skipped:
            err.print(f"[yellow]skipped[/yellow] {escape(s['path'])}: {escape(s['reason'])}")

    def said_wait(on_event):  # noqa: ANN001, ANN202 - the "wait" event is a log line, even under --json
        def handler(e) -> None:  # noqa: ANN001
            if e.phase == "wait":
                err.print(escape(e.message))
            if on_event is not None:
                on_event(e)
        return handler

    if watch:
        _watch_index(engine, targets, rebuild, refresh, as_json, print_skipped, said_wait)
        return
    with _errors(), _index_progress(_progress_enabled(as_json)) as on_event:
        report = engine.index(targets, rebuild=rebuild, progress=said_wait(on_event), wait=wait, refresh=refresh)
    summary = {k: v for k, v in report.to_dict().items() if k in ("added", "updated", "removed", "unchanged", "chunks", "skipped")}
    summary.update(moved=report.moved, embedded=report.embedded, seconds=round(report.seconds, 2))
    if as_json:
        out.print_json(json.dumps(summary))
    else:
        print_skipped(report.skipped)
        if report.indexed_anything:
            err.print(f"added {report.added}, updated {report.updated}, moved {report.moved}, removed {report.removed}, "
                      f"unchanged {report.unchanged}; {report.chunks} passages in {escape(_where(settings))} "
                      f"({report.embedded} embedded, {report.seconds:.1f}s)")
    missing = [str(p) for p in targets if isinstance(p, Path) and not p.exists()]
    if not report.indexed_anything:
        if not as_json:
            err.print("[red]nothing could be indexed[/red]" + ("" if report.skipped else ": no supported files found")
                      + f" (index {escape(_where(settings))} unchanged)")
        raise typer.Exit(2 if missing else 1)
    if missing:  # a path that does not exist is a usage error, though the others were indexed
        raise typer.Exit(2)


def _watch_index(engine, targets, rebuild, refresh, as_json, print_skipped, said_wait) -> None:  # noqa: ANN001
    """`index --watch`: batches until Ctrl-C (or SIGTERM); the first signal stops after the batch
    under way (batches are crash-safe anyway), a second one quits at once."""
    import signal
    import threading
    from contextlib import ExitStack
    from datetime import datetime

    from assistant.watch import Watcher

    stop = threading.Event()
    show = _progress_enabled(as_json)
    bars = ExitStack()
    current: dict[str, object] = {}

    def on_progress(e) -> None:  # noqa: ANN001 - one progress display per batch, on a terminal
        if not show or e.phase in ("pending", "watch", "wait"):
            return
        if "fn" not in current:
            current["fn"] = bars.enter_context(_index_progress(True))
        current["fn"](e)  # type: ignore[operator]
        if e.phase == "done":
            bars.close()
            current.clear()

    def on_batch(b) -> None:  # noqa: ANN001
        if as_json:
            sys.stdout.write(json.dumps(b.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        print_skipped(b.report.skipped)
        r = b.report
        line = (f"{datetime.now():%H:%M:%S} {b.trigger}: " + (f"[red]error:[/red] {escape(b.error)} (will retry)" if b.error else
                f"added {r.added}, updated {r.updated}, moved {r.moved}, removed {r.removed}, unchanged {r.unchanged}; "
                f"{r.chunks} passages ({r.embedded} embedded, {r.seconds:.1f}s)"))
        err.print(line)
        if b.number == 0:
            err.print(f"watching for changes, indexing into {escape(engine.settings.index_location)} (Ctrl-C to stop)")

    def on_signal(signum, frame) -> None:  # noqa: ANN001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if not as_json:
            err.print("stopping…")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _errors():
            if rebuild:
                engine.index(targets, rebuild=True, progress=said_wait(None), wait=float("inf"), refresh=refresh)
            try:  # a path that cannot be watched is a WatchError (a ValueError): one line, exit 1
                Watcher(engine, targets, on_batch=on_batch, on_progress=said_wait(on_progress), stop=stop,
                        refresh=refresh and not rebuild).run()
            finally:
                bars.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_answer(ans) -> None:  # noqa: ANN001
    out.print(ans.answer)
    for w in ans.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(w)}")
    if not ans.citations:
        return
    out.print()
    out.print("Sources:")
    for c in ans.citations:
        byline = ", ".join(filter(None, [" and ".join(c.authors), c.published or ""]))
        page = f", p. {c.page}" if c.page else ""
        out.print(f"[{c.n}] {escape(c.title)}" + (f" — {escape(byline)}" if byline else "")
                  + f" ({escape(short_path(c.source))}{page}, chars {c.start}-{c.end})", markup=True)
        # a quote that is itself a quotation keeps its own marks (not ““Russia did not want…””)
        out.print(f"    {escape(c.quote)}" if c.quote[:1] in QUOTE_MARKS else f"    “{escape(c.quote)}”")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: AsJson = False, k: K = None, answerer: AnswererOpt = None,
    doc: Annotated[Optional[list[str]], typer.Option("--doc", help="Only this document id or path (repeatable).")] = None,
    author: Annotated[Optional[str], typer.Option("--author", help="Only articles by an author matching this.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only articles published on/after YYYY-MM-DD.", callback=_iso_date)] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Only articles published on/before YYYY-MM-DD.", callback=_iso_date)] = None,
    cont: Annotated[bool, typer.Option("-c", "--continue", help="Continue the most recent conversation (follow-ups use its turns).")] = False,
    cid: Annotated[Optional[str], typer.Option("--cid", help="Continue the conversation with this id (see `assistant conversations`).")] = None,
    llm_url: LlmUrl = None, llm_model: LlmModel = None,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """Answer one question with numbered citations (or the JSON answer record). Every question is
    kept as a conversation turn of the index in use; -c or --cid ID asks it as a follow-up of that
    conversation. Exits 1 when the articles do not answer it (or nothing is indexed), 2 for an empty question."""
    from assistant.conversations import ConversationError, ConversationStore
    from assistant.engine import clean_question
    from assistant.retrieval import Filters

    settings = _settings(index_dir, chroma_url, chroma_token, verbose, k=k, answerer=answerer,
                         llm_base_url=llm_url, llm_model=llm_model)
    text, _ = clean_question(question)
    if not any(ch.isalnum() for ch in text):
        _fail("the question is empty" if not text else f"the question {text!r} has no words to search for", 2)
    engine = _engine(settings)
    store = None
    conversation = None
    history: list = []
    try:
        store = ConversationStore.for_settings(settings)
        if cid:
            if not store.exists(cid):
                _fail(f"no conversation {cid!r} (see `assistant conversations`)")
            store.check_owner(cid)
            conversation = cid
        elif cont:
            conversation = store.latest()
        if conversation:
            history = store.history(conversation, settings.history_turns)
    except ConversationError as exc:
        if cid or cont:
            _fail(str(exc))
        err.print(f"[yellow]warning:[/yellow] {escape(str(exc))}; this question is not kept")
        store = None
    with _errors():
        filters = Filters(doc_ids=doc, author=author, since=since, until=until)
        if not as_json and settings.answerer == "llm" and out.is_terminal:
            ans = None
            for item in engine.ask_stream(question, filters=filters, history=history):
                if isinstance(item, str):
                    err.print(item, end="", style="dim")
                else:
                    ans = item
            err.print()
        else:
            ans = engine.ask(question, filters=filters, history=history)
    if store is not None:
        try:
            conversation = conversation or store.new(ans.question)
            store.add(conversation, ans)
        except ConversationError as exc:
            err.print(f"[yellow]warning:[/yellow] {escape(str(exc))}")
            conversation = None
    if as_json:
        record = ans.to_dict()
        if conversation:
            record = {"conversation": conversation, **record}
        out.print_json(json.dumps(record, ensure_ascii=False))
    else:
        if ans.searched_for():
            err.print(f"searched for: {escape(ans.searched_for() or '')}")
        _print_answer(ans)
    if not ans.answered:
        raise typer.Exit(1)


@app.command()
def batch(
    questions: Annotated[Path, typer.Argument(help="JSONL lines {\"id\", \"question\"} or one plain question per line; - for stdin.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write JSONL here (resumes: ids already answered in it are skipped, lines that failed are asked again and their error records replaced).")] = None,
    k: K = None, answerer: AnswererOpt = None, llm_url: LlmUrl = None, llm_model: LlmModel = None,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """Answer a file of questions, one JSON record per input line, in order. Exits 1 when any line
    failed (the count is on stderr) or there was nothing left to answer."""
    from assistant.batch import in_input_order, parse_questions, resume, run_batch

    settings = _settings(index_dir, chroma_url, chroma_token, verbose, k=k, answerer=answerer,
                         llm_base_url=llm_url, llm_model=llm_model)
    engine = _engine(settings)
    if str(questions) != "-" and not questions.is_file():
        _fail(f"{questions}: no such file", 2)
    with _errors():
        lines = sys.stdin.read().splitlines() if str(questions) == "-" else questions.read_text(encoding="utf-8", errors="replace").splitlines()
        items = list(parse_questions(lines))
        skip = resume(output) if output else {}
        sink = open(output, "a", encoding="utf-8") if output else sys.stdout
        show = output is not None and err.is_terminal
        try:
            if show:
                from rich.progress import Progress

                with Progress(console=err, transient=True) as progress:
                    task = progress.add_task("answering", total=len(items) - len(skip.keys() & {q.id for q in items}))
                    counts = run_batch(engine, items, sink, skip, answerer=settings.answerer,
                                       on_done=lambda q, r: progress.advance(task))
            else:
                counts = run_batch(engine, items, sink, skip, answerer=settings.answerer)
        finally:
            if output:
                sink.close()
        if output:
            in_input_order(output, items)
    err.print(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v or k == "answered")
              + f" (index {escape(_where(settings))})")
    if counts["errors"]:
        where = f" (their records in {output} carry \"error\"; run again to retry them)" if output else ""
        _fail(f"{counts['errors']} of {len(items)} lines failed{where}")
    if not items:
        _fail(f"no questions in {questions}")
    if counts["skipped"] == len(items):
        _fail(f"nothing to do: all {len(items)} questions are already answered in {output}")


@app.command("eval")
def eval_(
    gold: Annotated[Path, typer.Argument(help="JSONL lines {\"id\", \"question\", \"answers\": [...], \"sources\": [...]}.")],
    as_json: AsJson = False, k: K = None, answerer: AnswererOpt = None,
    detail: Annotated[bool, typer.Option("--detail", help="Include per-question rows.")] = False,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """Measure retrieval and answers on a gold set: recall@k, MRR, answer hits, abstentions."""
    from assistant.evaluation import evaluate, load_gold

    settings = _settings(index_dir, chroma_url, chroma_token, verbose, k=k, answerer=answerer)
    engine = _engine(settings)
    with _errors():
        items = load_gold(gold)
        if not engine.sources():
            _fail(f"no articles indexed in {_where(settings)}; index the gold set's articles first")
        report = evaluate(engine, items, settings.k)
    missing = report.missing_documents
    if missing:
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        err.print(f"[yellow]warning:[/yellow] {len(missing)} of {report.gold_documents} gold documents are not in the "
                  f"index in {escape(_where(settings))} ({escape(shown)}); their questions count as misses")
    try:
        _print_eval(report, detail, as_json)
    finally:
        if missing and len(missing) == report.gold_documents:
            err.print("[red]error:[/red] none of the gold documents is indexed: these figures measure nothing")
            raise typer.Exit(1)


def _print_eval(report, detail: bool, as_json: bool) -> None:  # noqa: ANN001
    if as_json:
        out.print_json(json.dumps(report.to_dict(detail)))
        return
    d = report.to_dict(detail)
    out.print(f"questions {d['questions']} ({d['answerable']} answerable), k={d['k']}")
    for key in ("recall_at_k", "citation_recall", "mrr", "answer_hit", "false_abstain", "abstain_correct"):
        out.print(f"  {key:<16} {d[key]:.3f}")
    for group, metrics in d.get("conversations", {}).items():
        out.print(f"  {group} ({metrics['turns']} turns): " + ", ".join(
            f"{key} {v:.3f}" for key, v in metrics.items() if key != "turns"))
    if detail:
        for row in report.per_question:
            out.print(f"  {json.dumps(row)}")


@app.command()
def sources(
    as_json: AsJson = False,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """List the indexed articles with title, authors, date and passage count."""
    settings = _settings(index_dir, chroma_url, chroma_token, verbose)
    with _errors():
        rows = _engine(settings).sources()
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in rows], ensure_ascii=False))
        return
    if not rows:
        err.print(f"no articles indexed in {escape(_where(settings))}; run `assistant index PATH`")
        raise typer.Exit(1)
    if not out.is_terminal:  # piped: one tab-separated line per article, nothing cut to a width
        for r in rows:
            print("\t".join([r.title, ", ".join(r.authors), r.published or "", str(r.chunks), r.source]))
        err.print(f"{len(rows)} article{'s' * (len(rows) != 1)} in {escape(_where(settings))}")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("title", ratio=2, overflow="fold")
    table.add_column("authors", ratio=1, overflow="fold")
    table.add_column("date", no_wrap=True, min_width=10)
    table.add_column("passages", no_wrap=True)
    table.add_column("file", no_wrap=True, overflow="fold")  # never cut short: it must open as shown
    for r in rows:
        table.add_row(escape(r.title), escape(", ".join(r.authors)), r.published or "", str(r.chunks),
                      escape(short_path(r.source)))
    out.print(table)
    err.print(f"{len(rows)} article{'s' * (len(rows) != 1)} in {escape(_where(settings))}")


@app.command()
def conversations(
    as_json: AsJson = False,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """List the index's kept conversations (newest first): id, turns, last update, first question."""
    from assistant.conversations import ConversationError, ConversationStore

    settings = _settings(index_dir, chroma_url, chroma_token, verbose)
    try:
        rows = ConversationStore.for_settings(settings).list()
    except ConversationError as exc:
        _fail(str(exc))
        return
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in rows], ensure_ascii=False))
        return
    if not rows:
        err.print(f"no conversations over the index in {escape(_where(settings))} yet; "
                  "`assistant ask \"…\"` starts one, `ask -c` continues it")
        raise typer.Exit(1)
    from rich.table import Table

    table = Table("id", "turns", "updated", "first question", box=None, pad_edge=False)
    for r in rows:
        table.add_row(r.id, str(r.turns), r.updated, r.title)
    out.print(table)


@app.command()
def chat(
    docs: Annotated[Optional[list[Path]], typer.Argument(help="Folders to index and watch while the chat is open (new articles are indexed in the background) and that ctrl+r re-indexes (without DIR: ./examples/articles where it exists, not watched).")] = None,
    no_watch: Annotated[bool, typer.Option("--no-watch", help="Do not watch the folders; ctrl+r still re-indexes them.")] = False,
    k: K = None, answerer: AnswererOpt = None, llm_url: LlmUrl = None, llm_model: LlmModel = None,
    index_dir: IndexDir = None, chroma_url: ChromaUrl = None, chroma_token: ChromaToken = None, verbose: Verbose = False,
) -> None:
    """Open the terminal chat (over `assistant chat DIR`, DIR is indexed and watched while it is open)."""
    settings = _settings(index_dir, chroma_url, chroma_token, verbose, llm_base_url=llm_url, llm_model=llm_model)
    missing = [str(d) for d in docs or [] if not d.exists()]
    if missing:
        _fail(f"no such folder: {', '.join(missing)}", 2)
    from assistant.tui.app import run_chat
    from assistant.tui.state import load_ui_state

    settings = load_ui_state(settings).replace(k=k, answerer=answerer)
    run_chat(settings, docs or ([DEFAULT_DOCS] if DEFAULT_DOCS.is_dir() else []), watch=bool(docs) and not no_watch)


if __name__ == "__main__":
    app()
