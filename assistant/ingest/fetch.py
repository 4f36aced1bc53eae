"""Articles by URL and by RSS/Atom feed: fetch once, keep the copy in the index folder, read it
with the same loaders as files.

A page is stored as `<index>/fetched/<key><suffix>` (`.html`, `.pdf`, `.txt`, `.md`, so the file
loaders read it exactly as they read a saved file) beside `<key>.json`: url, final_url, etag,
last_modified, fetched_at, content_type. A feed keeps only its sidecar, listing its entries' links.
Re-indexing reads the copies and makes no request, so `--rebuild` works offline; `refresh` asks
again with a conditional GET (If-None-Match / If-Modified-Since), and 304 keeps the copy.

Every failure (HTTP error, timeout, unknown host, refused connection, a body that is not an
article, one over the size cap, a redirect loop) skips that URL with a one-line reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from assistant.config import Settings
from assistant.ingest.loaders import LoadError, load

FETCHED_DIR = "fetched"
MAX_REDIRECTS = 10
WORKERS = 4  # URLs fetched at once (a feed's entries are many small pages)
TYPES_FILE = Path(__file__).with_name("content_types.toml")

FetchProgress = Callable[[int, int, str], None]  # (done, total, url)


class FetchError(Exception):
    """A URL that cannot become an article; str() is the one-line reason (with the HTTP status when there was one)."""


@dataclass
class FetchedPage:
    """A URL article ready for the loaders: `url` is its doc_id and source, `path` the stored copy."""

    url: str
    path: Path
    status: str  # fetched (new or changed body) | not-modified (304) | stored (the copy, no request)
    content_type: str = ""


@dataclass
class FetchResult:
    pages: list[FetchedPage] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path": url, "reason": one line}
    feeds: list[str] = field(default_factory=list)  # which of the given URLs were feeds


@dataclass
class Sidecar:
    """What is known about one fetched URL (the JSON file beside its copy)."""

    url: str
    kind: str  # page | feed
    final_url: str = ""
    file: str = ""  # the copy's file name in the fetched folder (pages)
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str = ""
    content_type: str = ""
    entries: list[str] = field(default_factory=list)  # feeds: their entries' links


@dataclass
class _Response:
    status: int
    final_url: str
    headers: httpx.Headers
    body: bytes = b""


# --- names and places ----------------------------------------------------------------------

def is_url(text: str | os.PathLike[str]) -> bool:
    """http(s) addresses are fetched; anything else given to `index` is a file or folder."""
    return isinstance(text, str) and re.match(r"(?i)^https?://", text.strip()) is not None


def normalize_url(url: str) -> str:
    """The article's identity: scheme and host lower-cased, the fragment dropped (same page)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError("not an http(s) URL")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def fetched_dir(settings: Settings) -> Path:
    return settings.index_dir / FETCHED_DIR


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def user_agent() -> str:
    try:
        from importlib.metadata import version

        ours = version("assistant")
    except Exception:  # not installed (running from a checkout)
        ours = "dev"
    return f"assistant/{ours} (cited-answer article indexer; httpx/{httpx.__version__})"


def read_sidecar(folder: Path, url: str) -> Sidecar | None:
    try:
        data = json.loads((folder / f"{url_key(url)}.json").read_text(encoding="utf-8"))
        return Sidecar(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_sidecar(folder: Path, meta: Sidecar) -> None:
    _write_atomic(folder / f"{url_key(meta.url)}.json", json.dumps(asdict(meta), indent=1).encode())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- what a body is -----------------------------------------------------------------------

@lru_cache(maxsize=1)
def _types() -> dict[str, Any]:
    data = tomllib.loads(TYPES_FILE.read_text(encoding="utf-8"))
    sniff = data["sniff"]
    flags = re.IGNORECASE | re.DOTALL
    return {"articles": data["articles"], "feeds": set(data["feeds"]["types"]), "xml": set(data["feeds"]["xml_types"]),
            "sniffable": set(sniff["sniffable"]), "pdf": re.compile(sniff["pdf"].encode(), flags),
            "feed": re.compile(sniff["feed"].encode(), flags), "html": re.compile(sniff["html"].encode(), flags)}


def classify(content_type: str, body: bytes) -> str | None:
    """'feed', a file suffix for an article ('.html', '.pdf', '.txt', '.md'), or None (not an article)."""
    t = _types()
    ct = content_type.split(";")[0].strip().lower()
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if t["pdf"].match(head):
        return ".pdf"
    if ct in t["feeds"] or ((ct in t["xml"] or ct == "text/html") and t["feed"].match(head)):
        return "feed"
    if ct in t["articles"]:
        return t["articles"][ct]
    if ct in t["sniffable"] and t["html"].match(head):
        return ".html"
    return None


def feed_links(body: bytes, base_url: str) -> list[str]:
    """The entries' links of an RSS/Atom document, absolute, http(s) only, in feed order."""
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    if not parsed.get("version") and not parsed.entries:
        raise FetchError("not a feed that can be read (RSS/Atom parse failed)")
    links: list[str] = []
    for entry in parsed.entries:
        link = entry.get("link") or next((l.get("href") for l in entry.get("links", []) if l.get("href")), None)
        if not link:
            continue
        try:
            url = normalize_url(urljoin(base_url, link))
        except FetchError:
            continue
        if url not in links:
            links.append(url)
    return links


# --- the network --------------------------------------------------------------------------

def _network_reason(exc: BaseException, timeout: float) -> str:
    """One line for a request that got no HTTP answer: which of the usual failures it was."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no response: timed out after {timeout:g} s"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "no response: unknown host (the name does not resolve)"
        if isinstance(seen, ConnectionRefusedError):
            return "no response: connection refused"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
        return "no response: unknown host (the name does not resolve)"
    if "connection refused" in text:
        return "no response: connection refused"
    first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return f"no response: {first}"


def _get(client: httpx.Client, url: str, settings: Settings, headers: dict[str, str]) -> _Response:
    """GET with redirects followed by hand (a loop is named), a size cap while streaming, and one
    deadline for the whole URL (per-request timeouts alone let a slow drip run for ever)."""
    cap = int(settings.fetch_max_mb * 1_000_000)
    deadline = time.monotonic() + settings.fetch_timeout
    chain = [url]
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"no response: timed out after {settings.fetch_timeout:g} s")
        try:
            with client.stream("GET", current, headers=headers, timeout=httpx.Timeout(remaining)) as r:
                if r.has_redirect_location:
                    target = urljoin(current, r.headers["location"])
                    if urlsplit(target).scheme.lower() not in ("http", "https"):
                        raise FetchError(f"HTTP {r.status_code}: redirect to a non-web address {target}")
                    if target in chain:
                        loop = " → ".join(chain[chain.index(target):] + [target])
                        raise FetchError(f"HTTP {r.status_code}: redirect loop ({loop})")
                    chain.append(target)
                    current = target
                    continue
                if r.status_code == 304 or r.status_code >= 400:
                    return _Response(r.status_code, current, r.headers)
                length = r.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise FetchError(f"HTTP {r.status_code}: over the size cap ({int(length) / 1e6:.3g} MB > "
                                     f"{settings.fetch_max_mb:g} MB; raise fetch_max_mb)")
                body = bytearray()
                for piece in r.iter_bytes():
                    body += piece
                    if len(body) > cap:
                        raise FetchError(f"HTTP {r.status_code}: over the size cap (more than "
                                         f"{settings.fetch_max_mb:g} MB; raise fetch_max_mb)")
                    if time.monotonic() > deadline:
                        raise FetchError(f"no response: timed out after {settings.fetch_timeout:g} s")
                return _Response(r.status_code, current, r.headers, bytes(body))
        except FetchError:
            raise
        except httpx.InvalidURL as exc:
            raise FetchError(f"not a valid URL ({exc})") from exc
        except (httpx.HTTPError, OSError) as exc:
            raise FetchError(_network_reason(exc, settings.fetch_timeout)) from exc
    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")


def make_client(settings: Settings) -> httpx.Client:
    return httpx.Client(headers={"User-Agent": user_agent(), "Accept": "text/html,application/xhtml+xml,"
                                 "application/pdf,application/rss+xml,application/atom+xml,text/plain;q=0.8,*/*;q=0.5"},
                         follow_redirects=False, timeout=settings.fetch_timeout)


# --- one URL ------------------------------------------------------------------------------

@dataclass
class _Outcome:
    page: FetchedPage | None = None
    entries: list[str] | None = None  # set when the URL is a feed


class Fetcher:
    """Fetches URLs into the fetched folder of one index; one client, reused across URLs."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.folder = fetched_dir(settings)
        self._client = client
        self._own_client = client is None

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def close(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def fetch(self, url: str, refresh: bool = False, refresh_feed: bool = False, allow_feed: bool = True) -> _Outcome:
        """The stored copy when there is one (no request), else (or when refreshing) a GET. Raises FetchError."""
        meta = read_sidecar(self.folder, url)
        if meta is not None and meta.kind == "feed" and not refresh_feed:
            return self._as_feed(meta, allow_feed)
        if meta is not None and meta.kind == "page" and not refresh and (self.folder / meta.file).is_file():
            return _Outcome(page=FetchedPage(url, self.folder / meta.file, "stored", meta.content_type))
        headers: dict[str, str] = {}
        if meta is not None and (meta.kind == "feed" or (self.folder / meta.file).is_file()):
            if meta.etag:
                headers["If-None-Match"] = meta.etag
            if meta.last_modified:
                headers["If-Modified-Since"] = meta.last_modified
        r = _get(self.client, url, self.settings, headers)
        if r.status == 304 and meta is not None:
            meta.fetched_at = _now()
            _write_sidecar(self.folder, meta)
            if meta.kind == "feed":
                return self._as_feed(meta, allow_feed)
            return _Outcome(page=FetchedPage(url, self.folder / meta.file, "not-modified", meta.content_type))
        if r.status >= 300:
            phrase = httpx.codes.get_reason_phrase(r.status)
            raise FetchError(f"HTTP {r.status} {phrase}".strip())
        content_type = r.headers.get("content-type", "")
        kind = classify(content_type, r.body)
        if kind is None:
            raise FetchError(f"HTTP {r.status}: not an article (content-type {content_type.split(';')[0] or 'missing'})")
        new = Sidecar(url=url, kind="feed" if kind == "feed" else "page", final_url=r.final_url,
                      etag=r.headers.get("etag"), last_modified=r.headers.get("last-modified"), fetched_at=_now(),
                      content_type=content_type)
        self.folder.mkdir(parents=True, exist_ok=True)
        if kind == "feed":
            new.entries = feed_links(r.body, r.final_url)
            _write_sidecar(self.folder, new)
            return self._as_feed(new, allow_feed)
        new.file = f"{url_key(url)}{kind}"
        self._store_copy(new, r.body, r.status, meta)
        return _Outcome(page=FetchedPage(url, self.folder / new.file, "fetched", content_type))

    def _as_feed(self, meta: Sidecar, allow_feed: bool) -> _Outcome:
        if not allow_feed:
            raise FetchError("a feed, not an article (a feed's entries are not followed into other feeds)")
        if not meta.entries:
            raise FetchError("feed has no entries with links")
        return _Outcome(entries=list(meta.entries))

    def _store_copy(self, meta: Sidecar, body: bytes, status: int, old: Sidecar | None) -> None:
        """Check the body with the file loader first (a page with no article text is refused before it
        is kept), then replace the copy, then the sidecar that names it. An identical body keeps the
        copy's file untouched, so the indexer sees it unchanged."""
        final = self.folder / meta.file
        if final.is_file() and final.read_bytes() == body:
            _write_sidecar(self.folder, meta)
            return
        tmp = self.folder / f".{meta.file}.{os.getpid()}{Path(meta.file).suffix}"
        tmp.write_bytes(body)
        try:
            load(tmp, int(self.settings.max_file_mb * 1_000_000))
        except LoadError as exc:
            tmp.unlink(missing_ok=True)
            raise FetchError(f"HTTP {status}: not an article ({exc})") from exc
        os.replace(tmp, final)
        _write_sidecar(self.folder, meta)
        if old is not None and old.file and old.file != meta.file:
            (self.folder / old.file).unlink(missing_ok=True)


def fetch_all(urls: Sequence[str], settings: Settings, refresh: bool = False, refresh_feeds: bool = False,
              progress: FetchProgress | None = None, client: httpx.Client | None = None) -> FetchResult:
    """Resolve URLs (pages and feeds) to stored copies. `refresh` asks the server again for pages,
    `refresh_feeds` for feeds (a watcher's poll); otherwise stored copies are used without a request.
    A feed's entries are fetched as pages; a failed URL lands in `skipped` and the others go on."""
    result = FetchResult()
    emit = progress or (lambda done, total, url: None)
    given: list[str] = []
    for raw in urls:
        try:
            url = normalize_url(raw)
        except FetchError as exc:
            result.skipped.append({"path": raw, "reason": str(exc)})
            continue
        if url not in given:
            given.append(url)
    if not given:
        return result
    with Fetcher(settings, client) as fetcher, ThreadPoolExecutor(max_workers=WORKERS) as pool:
        done = 0
        total = len(given)
        entries: list[str] = []
        jobs = [(u, pool.submit(fetcher.fetch, u, refresh, refresh_feeds or refresh)) for u in given]
        for url, job in jobs:
            try:
                outcome = job.result()
            except FetchError as exc:
                result.skipped.append({"path": url, "reason": str(exc)})
            else:
                if outcome.entries is not None:
                    result.feeds.append(url)
                    entries.extend(e for e in outcome.entries if e not in given and e not in entries)
                elif outcome.page is not None:
                    result.pages.append(outcome.page)
            done += 1
            emit(done, total, url)
        total += len(entries)
        jobs = [(u, pool.submit(fetcher.fetch, u, refresh, False, False)) for u in entries]
        for url, job in jobs:
            try:
                outcome = job.result()
                if outcome.page is not None:
                    result.pages.append(outcome.page)
            except FetchError as exc:
                result.skipped.append({"path": url, "reason": str(exc)})
            done += 1
            emit(done, total, url)
    return result
