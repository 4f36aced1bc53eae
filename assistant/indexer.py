"""Incremental, crash-safe indexing: plan what changed, then apply it one batch at a time.

Order of writes for each document: new chunks first, then its manifest record (the
commit point), then the old chunks are deleted. Readers trust only manifest-listed
chunk ids, so a kill at any moment leaves each document old or new, never both; the
next run removes orphans and finishes the work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from assistant.chunking import chunk_document, embedding_text
from assistant.config import Settings
from assistant.embeddings import Embedder, EmbeddingCache, encode_cached
from assistant.ingest.clean import CLEANER_VERSION, clean
from assistant.ingest.fetch import FetchedPage
from assistant.ingest.loaders import FoundFile, LoadError, discover, load
from assistant.lexical import LexicalIndex
from assistant.records import Chunk, Document, IndexReport
from assistant.store import ManifestEntry, Store, StoreError

log = logging.getLogger(__name__)



@dataclass
class ProgressEvent:
    phase: str  # fetch | wait | scan | embed | write | lexical | done (a watcher adds pending | watch)
    done: int
    total: int
    message: str = ""


ProgressFn = Callable[[ProgressEvent], None]


class IndexLocked(StoreError):
    """Another index run holds the lock."""


def lock_path(settings: Settings) -> Path:
    d = settings.index_dir
    return d.parent / f".{d.name}.lock"


def index_lock(settings: Settings, wait: float = 0.0) -> FileLock:
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=wait)
    except Timeout as exc:
        raise IndexLocked(f"another `assistant index` run is using {settings.index_dir} (lock {path}); "
                          "wait for it to finish and try again") from exc
    return lock


def wait_for_index_lock(settings: Settings, wait: float, emit: ProgressFn | None = None,
                        stop: threading.Event | None = None) -> FileLock:
    """The index lock, waiting up to `wait` seconds (math.inf: until it is free) for another run,
    saying so once through `emit`; a set `stop` gives up (IndexLocked) within half a second."""
    try:
        return index_lock(settings, 0)
    except IndexLocked:
        if wait <= 0:
            raise
    if emit:
        emit(ProgressEvent("wait", 0, 0, f"waiting for another index run to finish ({lock_path(settings)})"))
    deadline = time.monotonic() + wait if math.isfinite(wait) else math.inf
    while True:
        try:
            return index_lock(settings, max(0.0, min(0.5, deadline - time.monotonic())))
        except IndexLocked:
            if (stop is not None and stop.is_set()) or time.monotonic() >= deadline:
                raise


def expected_build(settings: Settings) -> dict[str, object]:
    """What the collection records about how it was built; a mismatch refuses to open."""
    return {"embedding_model": settings.model, "chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap}


def bm25_dir(settings: Settings) -> Path:
    return settings.index_dir / "bm25"


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Work:
    found: FoundFile
    doc_id: str
    abs_path: str
    kind: str  # added | updated | moved
    old: ManifestEntry | None
    data_hash: str
    size: int
    mtime_ns: int
    source: str = ""  # what citations show: the file's path, or a fetched article's URL
    label: str = ""  # how skip reasons name it (the same)


@dataclass
class _Candidate:
    found: FoundFile
    doc_id: str
    abs_path: str
    st: os.stat_result
    source: str
    label: str


@dataclass
class Plan:
    work: list[_Work] = field(default_factory=list)
    unchanged: list[ManifestEntry] = field(default_factory=list)
    touched: list[ManifestEntry] = field(default_factory=list)  # same content, new mtime
    removed: list[ManifestEntry] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _doc_id(found: FoundFile) -> str:
    """Stable across machines: the indexed folder's name plus the path inside it."""
    return f"{found.root.name}/{found.rel}" if found.root.name else found.rel


def _source_of(path: Path) -> str:
    """What citations name a file by: its absolute path, which opens from any folder (the CLI and
    the chat show the home folder as `~`)."""
    return os.path.abspath(path)


def _under(abs_path: str, roots: Sequence[Path | str]) -> bool:
    for r in roots:
        r_abs = os.path.abspath(r)
        if abs_path == r_abs or abs_path.startswith(r_abs.rstrip(os.sep) + os.sep):
            return True
    return False


def _prefixes(roots: Sequence[Path | str]) -> tuple[set[str], tuple[str, ...]]:
    """Roots as (exact paths, folder prefixes) for fast `_under` tests over a whole manifest."""
    exact = {os.path.abspath(r) for r in roots}
    return exact, tuple(r.rstrip(os.sep) + os.sep for r in exact)


def _root_of(abs_path: str, roots: Sequence[Path]) -> Path | None:
    """The given root a changed path belongs to (the innermost, when roots nest)."""
    best: Path | None = None
    for r in roots:
        r_abs = os.path.abspath(r)
        if (abs_path == r_abs or abs_path.startswith(r_abs.rstrip(os.sep) + os.sep)) and \
                (best is None or len(r_abs) > len(os.path.abspath(best))):
            best = r
    return best


def discover_changed(roots: Sequence[Path], changed: Sequence[Path]) -> tuple[list[FoundFile], list[dict[str, str]]]:
    """Like `discover(roots)`, but only what lies at or under the `changed` paths: a watcher's batch
    costs its own size, not the folder's. Document ids stay those a full scan of the roots gives."""
    found: list[FoundFile] = []
    skipped: list[dict[str, str]] = []
    for path in changed:
        abs_path = os.path.abspath(path)
        root = _root_of(abs_path, roots)
        if root is None or not os.path.lexists(abs_path):
            continue
        root_abs = os.path.abspath(root)
        if os.path.isfile(root_abs):  # a file given as a root: only itself
            local, base = Path(root), Path(root).parent
        else:
            rel_root = os.path.relpath(abs_path, root_abs)
            if rel_root != "." and any(part.startswith(".") for part in Path(rel_root).parts):
                continue  # hidden, as a full scan would skip it
            local, base = (Path(root) / rel_root if rel_root != "." else Path(root)), Path(root)
        got, bad = discover([local])
        for f in got:
            try:
                rel = f.path.relative_to(base).as_posix()
            except ValueError:
                rel = f.path.name
            found.append(FoundFile(path=f.path, rel=rel, root=base))
        skipped.extend(bad)
    return found, skipped


class Indexer:
    def __init__(self, settings: Settings, store: Store, embedder_factory: Callable[[], Embedder],
                 cache: EmbeddingCache | None = None, exclude: Sequence[Path] = ()) -> None:
        self.settings = settings
        self.store = store
        self._exclude = [settings.index_dir, *exclude]
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.cache = cache

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    # --- planning -------------------------------------------------------------------------

    def plan(self, paths: list[Path], manifest: dict[str, ManifestEntry], pages: Sequence[FetchedPage] = (),
             only: Sequence[Path] | None = None) -> Plan:
        """What to do: files under `paths` (or, with `only`, just what lies at or under those paths) and
        fetched `pages`, against the manifest. Removals are manifest entries under the scanned scope
        that are no longer there; fetched articles are never removed by a folder scan."""
        plan = Plan()
        if only is None:
            found, plan.skipped = discover(paths)
            scope: Sequence[Path] = paths
        else:
            found, plan.skipped = discover_changed(paths, only)
            scope = [Path(os.path.abspath(c)) for c in only if _root_of(os.path.abspath(c), paths) is not None]
        by_abs = {e.abs_path: e for e in manifest.values()}
        seen_ids: dict[str, str] = {}
        seen_abs: set[str] = set()
        candidates: list[_Candidate] = []
        for f in found:
            abs_path = os.path.abspath(f.path)
            if self._inside_index(abs_path):
                plan.skipped.append({"path": str(f.path), "reason": "inside the index folder (not an article)"})
                continue
            doc_id = _doc_id(f)
            if doc_id in seen_ids:
                plan.skipped.append({"path": str(f.path), "reason": f"same document id as {seen_ids[doc_id]} (two folders with one name?)"})
                continue
            try:
                st = f.path.stat()
            except OSError as exc:
                plan.skipped.append({"path": str(f.path), "reason": f"cannot read: {exc.strerror or exc}"})
                continue
            seen_ids[doc_id] = str(f.path)
            seen_abs.add(abs_path)
            source = _source_of(f.path)
            candidates.append(_Candidate(f, doc_id, abs_path, st, source, str(f.path)))
        for page in pages:
            if page.url in seen_ids:
                continue
            try:
                st = page.path.stat()
            except OSError as exc:
                plan.skipped.append({"path": page.url, "reason": f"the fetched copy cannot be read: {exc.strerror or exc}"})
                continue
            seen_ids[page.url] = page.url
            rel = urlsplit(page.url).path.rstrip("/").rsplit("/", 1)[-1] or urlsplit(page.url).hostname or page.url
            found_page = FoundFile(path=page.path, rel=rel, root=page.path.parent)
            candidates.append(_Candidate(found_page, page.url, os.path.abspath(page.path), st, page.url, page.url))
        exact, prefixes = _prefixes(scope)
        gone = [e for e in manifest.values() if e.abs_path not in seen_abs and e.doc_id not in seen_ids
                and (e.abs_path in exact or e.abs_path.startswith(prefixes)) and not self._inside_index(e.abs_path)]
        gone_by_hash = {e.content_hash: e for e in gone}
        vanished: dict[str, ManifestEntry] | None = None  # outside the scope, and its file is gone: moved?
        for c in candidates:
            f, doc_id, abs_path, st = c.found, c.doc_id, c.abs_path, c.st
            old = manifest.get(doc_id) or by_abs.get(abs_path)
            # else its text must be made again (an older cleaner; a source stored relative to another folder)
            current = old is not None and old.cleaner == CLEANER_VERSION and old.source == c.source
            if current and old.abs_path == abs_path and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                plan.unchanged.append(old)
                continue
            try:
                with open(f.path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                plan.skipped.append({"path": c.label, "reason": f"cannot read: {exc.strerror or exc}"})
                continue
            h = file_hash(data)
            if current and old.content_hash == h and old.doc_id == doc_id:
                plan.touched.append(dataclasses.replace(old, size=st.st_size, mtime_ns=st.st_mtime_ns, abs_path=abs_path))
                continue
            if old is None and h not in gone_by_hash:
                if vanished is None:
                    vanished = self._vanished(manifest, exact, prefixes, seen_ids)
                if h in vanished:  # a collection moved to another folder: re-found by content, not duplicated
                    gone_by_hash[h] = vanished.pop(h)
                    gone.append(gone_by_hash[h])
            kind = "updated" if old else ("moved" if h in gone_by_hash else "added")
            plan.work.append(_Work(f, doc_id, abs_path, kind, old, h, st.st_size, st.st_mtime_ns, c.source, c.label))
        plan.removed = gone
        return plan

    def _vanished(self, manifest: dict[str, ManifestEntry], exact: set[str], prefixes: tuple[str, ...],
                  seen_ids: dict[str, str]) -> dict[str, ManifestEntry]:
        """Files of the index outside this run's scope that are no longer on disk, by content hash:
        a file found again elsewhere with the same content was moved (its old record goes)."""
        out: dict[str, ManifestEntry] = {}
        for e in manifest.values():
            if (not e.abs_path or e.doc_id in seen_ids or e.abs_path in exact or e.abs_path.startswith(prefixes)
                    or self._inside_index(e.abs_path) or "://" in e.source):
                continue
            if not os.path.lexists(e.abs_path):
                out.setdefault(e.content_hash, e)
        return out

    def _inside_index(self, abs_path: str) -> bool:
        """Files of the index itself (fetched copies, a rebuild's folder) are never articles of a folder scan."""
        return _under(abs_path, self._exclude)

    # --- applying -------------------------------------------------------------------------

    def _prepare(self, w: _Work) -> tuple[Document, list[Chunk]]:
        raw = load(w.found.path, int(self.settings.max_file_mb * 1_000_000))
        cleaned = clean(raw, source=w.found.rel)
        if not cleaned.text.strip():
            raise LoadError("no article text left after cleaning")
        doc = Document(doc_id=w.doc_id, source=w.source or _source_of(w.found.path), text=cleaned.text, title=cleaned.title,
                       authors=cleaned.authors, published=cleaned.published, format=raw.format,
                       content_hash=w.data_hash, pages=cleaned.pages)
        return doc, chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)

    def run(self, paths: list[Path], progress: ProgressFn | None = None, pages: Sequence[FetchedPage] = (),
            only: Sequence[Path] | None = None, manifest: dict[str, ManifestEntry] | None = None,
            stop: threading.Event | None = None) -> IndexReport:
        """Index `paths` (all of them, or with `only` just what lies at or under those paths) and
        fetched `pages`. `manifest` is the caller's current copy of the index's manifest (a watcher's
        engine keeps one), which spares reading it whole; after an interrupted run it is read anyway.
        A set `stop` ends the run after the batch being written (what is committed stays; the next
        run does the rest), so quitting a chat does not wait for a whole folder."""
        t0 = time.perf_counter()
        emit = progress or (lambda e: None)
        report = IndexReport()
        state = self.store.state()
        manifest = dict(manifest) if manifest is not None and not state.get("in_progress") else self.store.read_manifest()
        start_version = (state.get("epoch"), int(state.get("seq", 0)))
        if state.get("in_progress"):
            self._collect_orphans(manifest)
            # the killed run may have committed documents it never logged: readers reload all once
            self.store.record_changes(reset=True)
            state = self.store.state()
            start_version = (None, -1)  # the BM25 copy cannot be updated from this run's changes alone
        touched_docs: set[str] = set()
        emit(ProgressEvent("scan", 0, 0, "scanning files"))
        plan = self.plan(paths, manifest, pages, only)
        report.skipped = list(plan.skipped)
        report.unchanged = len(plan.unchanged) + len(plan.touched)
        changed = bool(plan.work or plan.removed)
        if changed:
            self.store.set_state(in_progress=True)
        if plan.touched:
            self.store.commit_entries(plan.touched)

        total = len(plan.work)
        done_docs = 0
        per_batch = max(1, self.settings.index_batch_docs)
        for b in range(0, total, per_batch):
            if stop is not None and stop.is_set():
                log.info("stopped after %d of %d documents; the next run does the rest", b, total)
                break
            batch = plan.work[b:b + per_batch]
            prepared: list[tuple[_Work, Document, list[Chunk]]] = []
            for w in batch:
                emit(ProgressEvent("scan", done_docs, total, w.found.rel))
                try:
                    doc, chunks = self._prepare(w)
                except LoadError as exc:
                    report.skipped.append({"path": w.label or str(w.found.path), "reason": str(exc)})
                    if w.old:  # the file became unusable: its old chunks must not stay cited
                        plan.removed.append(w.old)
                    continue
                finally:
                    done_docs += 1
                prepared.append((w, doc, chunks))
            all_chunks = [c for _, _, cs in prepared for c in cs]
            if all_chunks:
                texts = [embedding_text(c) for c in all_chunks]
                vectors, computed = encode_cached(
                    self.embedder, self.cache, texts,
                    progress=lambda n, _t=len(texts): emit(ProgressEvent("embed", n, _t, "embedding")))
                report.embedded += computed
                self.store.add_chunks(all_chunks, vectors)
            entries = [ManifestEntry(doc_id=doc.doc_id, source=doc.source, content_hash=w.data_hash,
                                     chunk_ids=[c.chunk_id for c in chunks], title=doc.title, authors=doc.authors,
                                     published=doc.published, format=doc.format, size=w.size,
                                     mtime_ns=w.mtime_ns, abs_path=w.abs_path, cleaner=CLEANER_VERSION)
                       for w, doc, chunks in prepared]
            if entries:
                self.store.commit_entries(entries)  # the commit point of this batch
            batch_docs: set[str] = set()
            for (w, _doc, _chunks), entry in zip(prepared, entries):
                batch_docs.add(entry.doc_id)
                if w.old:
                    if w.old.doc_id != entry.doc_id:
                        self.store.remove_entry(w.old.doc_id)
                        batch_docs.add(w.old.doc_id)
                    self.store.delete_chunks(sorted(set(w.old.chunk_ids) - set(entry.chunk_ids)))
                setattr(report, w.kind, getattr(report, w.kind) + 1)
            if batch_docs:
                self.store.record_changes(changed=sorted(batch_docs))  # readers reload just these
                touched_docs |= batch_docs
            emit(ProgressEvent("write", done_docs, total, "writing"))

        moved_hashes = {w.data_hash for w in plan.work if w.kind == "moved"}
        for entry in plan.removed:
            self.store.remove_entry(entry.doc_id)
            self.store.delete_chunks(entry.chunk_ids)
            if entry.content_hash not in moved_hashes:  # a moved file is not a removal
                report.removed += 1
        if plan.removed:
            self.store.record_changes(removed=[e.doc_id for e in plan.removed])
            touched_docs |= {e.doc_id for e in plan.removed}

        self._save_lexical(manifest, touched_docs, start_version, changed, state, emit)
        report.chunks = self.store.count()
        report.seconds = time.perf_counter() - t0
        emit(ProgressEvent("done", 1, 1, "done"))
        return report

    def _save_lexical(self, before: dict[str, ManifestEntry], touched: set[str], start_version: tuple,
                      changed: bool, state: dict, emit: ProgressFn) -> None:
        """Bring the saved BM25 copy to the index's new version, then stamp the new generation.

        The copy is updated by this run's changes when it was current at the start of the run
        (cost in proportion to the change); otherwise, or when its delta has grown too large, it
        is built again from the store. Readers see the new generation only once the copy is saved.
        """
        lex_dir = bm25_dir(self.settings)
        current = LexicalIndex.load(lex_dir)
        end = self.store.state()
        end_version = (end.get("epoch"), int(end.get("seq", 0)))
        if not changed and current is not None and (current.epoch, current.seq) == end_version \
                and current.generation == end.get("generation"):
            return
        emit(ProgressEvent("lexical", 0, 1, "updating keyword index"))
        generation = uuid.uuid4().hex if changed or not end.get("generation") else end["generation"]
        lexical = None
        if current is not None and (current.epoch, current.seq) == start_version and start_version[0] is not None:
            update_lexical(self.store, current, before, self.store.read_entries(sorted(touched)), touched)
            lexical = None if current.needs_rebuild() else current
        if lexical is None:
            lexical = build_lexical(self.store, generation)
        lexical.generation, lexical.epoch, lexical.seq = generation, end_version[0], end_version[1]
        lexical.save(lex_dir)
        if generation != end.get("generation") or end.get("in_progress"):
            self.store.new_generation(generation)

    def _collect_orphans(self, manifest: dict[str, ManifestEntry]) -> None:
        """After an interrupted run: chunks no manifest record lists are invisible; delete them."""
        live = {cid for e in manifest.values() for cid in e.chunk_ids}
        orphans = [cid for cid in self.store.all_chunk_ids() if cid not in live]
        if orphans:
            log.info("removing %d chunks left by an interrupted run", len(orphans))
            self.store.delete_chunks(orphans)


def _lexical_text(c: Chunk) -> str:
    return f"{c.title}\n{c.text}"


def build_lexical(store: Store, generation: str | None) -> LexicalIndex:
    """BM25 over every live chunk, from the store: the full price, paid when no copy can be updated."""
    state = store.state()
    manifest = store.read_manifest()
    live = {cid for e in manifest.values() for cid in e.chunk_ids}
    items = ((c.chunk_id, _lexical_text(c)) for c in store.iter_chunks() if c.chunk_id in live)
    lexical = LexicalIndex.build(items, generation)
    lexical.epoch, lexical.seq = state.get("epoch"), int(state.get("seq", 0))
    return lexical


def update_lexical(store: Store, lexical: LexicalIndex, before: dict[str, ManifestEntry],
                   after: dict[str, ManifestEntry], doc_ids: set[str]) -> None:
    """Apply the change of some documents (their records `before` and `after`) to `lexical`."""
    removed: list[str] = []
    added: list[str] = []
    for d in doc_ids:
        old = set(before[d].chunk_ids) if d in before else set()
        new = set(after[d].chunk_ids) if d in after else set()
        removed.extend(old - new)
        added.extend(new - old)
    chunks = store.get_chunks(added) if added else {}
    lexical.apply(removed, [(cid, _lexical_text(c)) for cid, c in chunks.items()], lexical.generation, lexical.seq)
