"""`assistant index URL...`: web pages, PDFs and RSS/Atom feeds become cited articles whose source is
the URL. Everything is served by a local server on 127.0.0.1 that the test starts; nothing here
touches the internet."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from assistant.engine import Engine
from assistant.ingest.fetch import fetched_dir, read_sidecar, url_key
from assistant.watch import Watcher, WatchBatch
from tests.conftest import EXAMPLES, free_port
from tests.test_loaders import _pdf_bytes

ARTICLE = (EXAMPLES / "fisheries-quota-dispute.html").read_bytes()
HTML = "text/html; charset=utf-8"


def page(title: str, body: str) -> bytes:
    return (f"<!DOCTYPE html><html><head><title>{title}</title><meta name='author' content='Ana Test'></head><body>"
            f"<nav>Home | News</nav><article><h1>{title}</h1>"
            + "".join(f"<p>{body} Sentence {i} adds detail about {title.lower()}.</p>" for i in range(4))
            + "</article></body></html>").encode()


@pytest.fixture
def server():
    s = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    s.start()
    yield s
    s.clear()
    s.stop()


@pytest.fixture
def engine(fake_settings, hash_embedder) -> Engine:
    return Engine(fake_settings.replace(fetch_timeout=5.0), embedder=hash_embedder)


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [req for req, _resp in server.log if req.path == path]


# --- pages --------------------------------------------------------------------------------

def test_a_page_becomes_an_article_whose_source_is_its_url(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/news/mackerel.html").respond_with_data(ARTICLE, content_type=HTML)
    url = server.url_for("/news/mackerel.html")
    r = engine.index([url])
    assert (r.added, r.skipped) == (1, [])
    src = engine.sources()[0]
    assert (src.doc_id, src.source, src.title) == (url, url, "Mackerel quota talks collapse as fleets head out")
    hit = engine.retrieve("mackerel quota talks", k=1)[0]
    assert hit.chunk.source == url and "mackerel" in hit.chunk.text.lower()


def test_the_fetched_copy_and_a_sidecar_are_kept_in_the_index_folder(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/a.html").respond_with_data(ARTICLE, content_type=HTML,
                                                       headers={"ETag": '"v1"', "Last-Modified": "Mon, 01 Apr 2024 07:00:00 GMT"})
    url = server.url_for("/a.html")
    engine.index([url])
    folder = fetched_dir(engine.settings)
    meta = read_sidecar(folder, url)
    assert (meta.url, meta.etag, meta.last_modified, meta.kind) == (url, '"v1"', "Mon, 01 Apr 2024 07:00:00 GMT", "page")
    assert meta.content_type.startswith("text/html") and meta.fetched_at
    assert (folder / meta.file).read_bytes() == ARTICLE and meta.file == f"{url_key(url)}.html"
    assert json.loads((folder / f"{url_key(url)}.json").read_text())["url"] == url


def test_reindexing_reads_the_stored_copy_without_a_request(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/a.html").respond_with_data(ARTICLE, content_type=HTML)
    url = server.url_for("/a.html")
    engine.index([url])
    r = engine.index([url])
    assert (r.added, r.unchanged) == (0, 1) and len(requests_to(server, "/a.html")) == 1


def test_rebuild_works_offline_from_the_stored_copy(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/a.html").respond_with_data(ARTICLE, content_type=HTML)
    url = server.url_for("/a.html")
    engine.index([url])
    server.stop()
    r = engine.index([url], rebuild=True)
    assert (r.added, r.skipped) == (1, [])
    assert engine.sources()[0].source == url
    assert read_sidecar(fetched_dir(engine.settings), url) is not None, "the copies move with the rebuilt index"
    assert engine.index([url]).unchanged == 1
    server.start()  # for the fixture's stop


def test_refresh_asks_again_with_a_conditional_get_and_304_keeps_the_copy(server: HTTPServer, engine: Engine) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(ARTICLE, content_type=HTML, headers={"ETag": '"v1"'})

    server.expect_request("/a.html").respond_with_handler(conditional)
    url = server.url_for("/a.html")
    engine.index([url])
    r = engine.index([url], refresh=True)
    assert (r.unchanged, r.updated, r.embedded) == (1, 0, 0)
    second = requests_to(server, "/a.html")[1]
    assert second.headers.get("If-None-Match") == '"v1"'


def test_refresh_picks_up_a_changed_page(server: HTTPServer, engine: Engine) -> None:
    bodies = [page("Harbor dredging approved", "The port authority approved dredging."),
              page("Harbor dredging halted", "A court halted the dredging.")]
    server.expect_request("/h.html").respond_with_handler(lambda req: Response(bodies[0], content_type=HTML))
    url = server.url_for("/h.html")
    engine.index([url])
    bodies[0] = bodies[1]
    assert engine.index([url], refresh=True).updated == 1
    assert "court halted" in engine.document(url).text


def test_a_pdf_url_goes_through_the_pdf_loader(server: HTTPServer, engine: Engine) -> None:
    pdf = _pdf_bytes(["The reservoir held forty million cubic meters.", "Rainfall was below average in May."])
    server.expect_request("/report").respond_with_data(pdf, content_type="application/pdf")
    url = server.url_for("/report")
    assert engine.index([url]).added == 1
    src = engine.sources()[0]
    assert (src.format, src.source) == ("pdf", url)
    hit = engine.retrieve("reservoir cubic meters", k=1)[0]
    assert hit.chunk.page == 1


def test_redirects_are_followed_and_the_given_url_stays_the_source(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/old").respond_with_response(Response(status=301, headers={"Location": "/new.html"}))
    server.expect_request("/new.html").respond_with_data(ARTICLE, content_type=HTML)
    url = server.url_for("/old")
    assert engine.index([url]).added == 1
    assert engine.sources()[0].source == url
    assert read_sidecar(fetched_dir(engine.settings), url).final_url == server.url_for("/new.html")


def test_requests_name_the_project_in_their_user_agent(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/a.html").respond_with_data(ARTICLE, content_type=HTML)
    engine.index([server.url_for("/a.html")])
    assert requests_to(server, "/a.html")[0].headers["User-Agent"].startswith("assistant/")


# --- feeds --------------------------------------------------------------------------------

def rss(items: list[str]) -> bytes:
    body = "".join(f"<item><title>{p}</title><link>{p}</link></item>" for p in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Ledger</title><link>/</link>'
            f"<description>news</description>{body}</channel></rss>").encode()


def test_an_rss_feed_indexes_each_entry_link_as_an_article(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/n/1.html").respond_with_data(page("Harbor dredging approved", "The port approved it."), content_type=HTML)
    server.expect_request("/n/2.html").respond_with_data(page("Library opens archive", "The archive opened."), content_type=HTML)
    server.expect_request("/feed.xml").respond_with_data(rss([server.url_for("/n/1.html"), "/n/2.html"]),
                                                         content_type="application/rss+xml")
    r = engine.index([server.url_for("/feed.xml")])
    assert (r.added, r.skipped) == (2, [])
    assert {s.source for s in engine.sources()} == {server.url_for("/n/1.html"), server.url_for("/n/2.html")}


def test_an_atom_feed_served_as_plain_xml_is_read_too(server: HTTPServer, engine: Engine) -> None:
    atom = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Ledger</title>'
            f'<id>urn:x</id><updated>2024-04-02T00:00:00Z</updated><entry><title>Mackerel</title><id>urn:1</id>'
            f'<updated>2024-04-02T00:00:00Z</updated><link href="{server.url_for("/m.html")}"/></entry></feed>').encode()
    server.expect_request("/atom").respond_with_data(atom, content_type="application/xml")
    server.expect_request("/m.html").respond_with_data(ARTICLE, content_type=HTML)
    assert engine.index([server.url_for("/atom")]).added == 1
    assert engine.sources()[0].source == server.url_for("/m.html")


def test_a_bad_entry_is_skipped_and_the_feeds_other_entries_indexed(server: HTTPServer, engine: Engine) -> None:
    server.expect_request("/n/1.html").respond_with_data(page("Harbor dredging approved", "The port approved it."), content_type=HTML)
    server.expect_request("/feed.xml").respond_with_data(rss(["/n/1.html", "/n/gone.html"]), content_type="application/rss+xml")
    r = engine.index([server.url_for("/feed.xml")])
    assert r.added == 1 and r.skipped == [{"path": server.url_for("/n/gone.html"), "reason": "HTTP 500 Internal Server Error"}]


def test_a_watched_feed_is_polled_and_new_entries_are_indexed(server: HTTPServer, fake_settings, hash_embedder) -> None:
    engine = Engine(fake_settings.replace(feed_poll_seconds=0.2), embedder=hash_embedder)
    items = ["/n/1.html"]
    server.expect_request("/feed.xml").respond_with_handler(
        lambda req: Response(rss(items), content_type="application/rss+xml"))
    server.expect_request("/n/1.html").respond_with_data(page("Harbor dredging approved", "The port approved it."), content_type=HTML)
    server.expect_request("/n/2.html").respond_with_data(page("Library opens archive", "The archive opened."), content_type=HTML)
    batches: queue.Queue[WatchBatch] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=Watcher(engine, [server.url_for("/feed.xml")], on_batch=batches.put, stop=stop).run)
    thread.start()
    try:
        assert batches.get(timeout=60).report.added == 1
        items.append("/n/2.html")
        batch = batches.get(timeout=60)
        assert (batch.trigger, batch.report.added) == ("feeds", 1)
        assert len(requests_to(server, "/n/1.html")) == 1, "a known entry is not fetched again"
    finally:
        stop.set()
        thread.join(timeout=60)


# --- bad input ----------------------------------------------------------------------------

@pytest.fixture
def indexed(server: HTTPServer, engine: Engine) -> Engine:
    """An index with one good article, to show that a failure leaves it as it was."""
    server.expect_request("/good.html").respond_with_data(ARTICLE, content_type=HTML)
    engine.index([server.url_for("/good.html")])
    return engine


def assert_skipped_and_index_unchanged(engine: Engine, url: str, reason: str) -> None:
    stamp = (engine.settings.index_dir / "stamp.json").read_text()
    before = [s.doc_id for s in engine.sources()]
    r = engine.index([url])
    assert not r.indexed_anything
    assert len(r.skipped) == 1 and r.skipped[0]["path"] == url and "\n" not in r.skipped[0]["reason"]
    assert reason in r.skipped[0]["reason"], r.skipped[0]["reason"]
    assert (engine.settings.index_dir / "stamp.json").read_text() == stamp
    assert [s.doc_id for s in engine.sources()] == before
    assert read_sidecar(fetched_dir(engine.settings), url) is None, "nothing is kept of a failed URL"


@pytest.mark.parametrize("status, reason", [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")])
def test_an_http_error_is_skipped_with_its_status(server: HTTPServer, indexed: Engine, status: int, reason: str) -> None:
    server.expect_request("/bad").respond_with_data("no", status=status)
    assert_skipped_and_index_unchanged(indexed, server.url_for("/bad"), reason)


def test_a_server_that_does_not_answer_in_time_is_skipped(server: HTTPServer, indexed: Engine) -> None:
    release = threading.Event()
    server.expect_request("/slow").respond_with_handler(lambda req: release.wait(60) and Response("late"))
    indexed.settings = indexed.settings.replace(fetch_timeout=0.5)
    try:
        assert_skipped_and_index_unchanged(indexed, server.url_for("/slow"), "no response: timed out after 0.5 s")
    finally:
        release.set()


def test_an_unknown_host_is_skipped(indexed: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - the resolver says no, without asking DNS
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert_skipped_and_index_unchanged(indexed, "http://no-such-host.invalid/a.html", "no response: unknown host")


def test_a_refused_connection_is_skipped(indexed: Engine) -> None:
    assert_skipped_and_index_unchanged(indexed, f"http://127.0.0.1:{free_port()}/a.html", "no response: connection refused")


def test_a_body_that_is_not_an_article_is_skipped(server: HTTPServer, indexed: Engine) -> None:
    server.expect_request("/logo.png").respond_with_data(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, content_type="image/png")
    assert_skipped_and_index_unchanged(indexed, server.url_for("/logo.png"), "HTTP 200: not an article (content-type image/png)")


def test_a_page_without_article_text_is_skipped(server: HTTPServer, indexed: Engine) -> None:
    server.expect_request("/menu.html").respond_with_data("<html><body><nav></nav></body></html>", content_type=HTML)
    assert_skipped_and_index_unchanged(indexed, server.url_for("/menu.html"), "HTTP 200: not an article (no article text")


def test_a_body_over_the_size_cap_is_skipped_while_streaming(server: HTTPServer, indexed: Engine) -> None:
    chunks = (b"<p>" + b"x" * 1000 + b"</p>" for _ in range(100))  # no Content-Length: the cap applies while reading
    server.expect_request("/big.html").respond_with_response(Response(chunks, content_type=HTML))
    indexed.settings = indexed.settings.replace(fetch_max_mb=0.01)
    assert_skipped_and_index_unchanged(indexed, server.url_for("/big.html"), "over the size cap (more than 0.01 MB")


def test_a_declared_size_over_the_cap_is_skipped_before_reading(server: HTTPServer, indexed: Engine) -> None:
    server.expect_request("/big.pdf").respond_with_data(b"%PDF-1.4 " + b"x" * 20_000, content_type="application/pdf")
    indexed.settings = indexed.settings.replace(fetch_max_mb=0.01)
    assert_skipped_and_index_unchanged(indexed, server.url_for("/big.pdf"), "over the size cap (0.02 MB > 0.01 MB; raise fetch_max_mb)")


def test_a_redirect_loop_is_skipped_and_named(server: HTTPServer, indexed: Engine) -> None:
    server.expect_request("/a").respond_with_response(Response(status=302, headers={"Location": "/b"}))
    server.expect_request("/b").respond_with_response(Response(status=302, headers={"Location": "/a"}))
    url = server.url_for("/a")
    assert_skipped_and_index_unchanged(indexed, url, f"HTTP 302: redirect loop ({url} → {server.url_for('/b')} → {url})")


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_INDEX_DIR"] = "index"  # the working folder keeps its own index
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_command_exits_non_zero_with_one_line_per_failed_url(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/bad").respond_with_data("no", status=404)
    url = server.url_for("/bad")
    r = _cli(["index", url], tmp_path)
    assert r.returncode == 1
    assert f"skipped {url}: HTTP 404 Not Found" in r.stderr.replace("\n", " ")
    as_json = _cli(["index", url, "--json"], tmp_path)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["skipped"] == [{"path": url, "reason": "HTTP 404 Not Found"}]
    assert not (tmp_path / "index" / "chroma").exists(), "no index is created for nothing"


@pytest.mark.slow
def test_a_fetched_article_is_answered_with_its_url_as_the_citation_source(server: HTTPServer, tmp_path: Path,
                                                                            real_embedder) -> None:
    from assistant.config import load_settings

    settings = load_settings(cwd=tmp_path, env={}, index_dir=tmp_path / "index")
    engine = Engine(settings, embedder=real_embedder)
    server.expect_request("/news/mackerel.html").respond_with_data(ARTICLE, content_type=HTML)
    url = server.url_for("/news/mackerel.html")
    engine.index([url])
    answer = engine.ask("How much catch did scientists advise for mackerel?")
    assert answer.answered and answer.citations and answer.citations[0].source == url
    assert "739,000" in answer.answer
