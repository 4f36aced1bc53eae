"""Incremental, crash-safe indexing: plan what changed, then apply it one batch at a time.

Order of writes for each document: new chunks first, then its manifest record (the
commit point), then the old chunks are deleted. Readers trust only manifest-listed
chunk ids, so a kill at any moment leaves each document old or new, never both; the
next run removes orphans and finishes the work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from filelock import FileLock, Timeout

from assistant.chunking import chunk_document, embedding_text
from assistant.config import Settings
from assistant.embeddings import Embedder, EmbeddingCache, encode_cached
from assistant.ingest.clean import clean
from assistant.ingest.loaders import FoundFile, LoadError, discover, load
from assistant.lexical import LexicalIndex
from assistant.records import Chunk, Document, IndexReport
from assistant.store import ManifestEntry, Store, StoreError

log = logging.getLogger(__name__)



@dataclass
class ProgressEvent:
    phase: str  # scan | embed | write | lexical | done
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


def _display_source(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _under(abs_path: str, roots: list[Path]) -> bool:
    for r in roots:
        r_abs = os.path.abspath(r)
        if abs_path == r_abs or abs_path.startswith(r_abs.rstrip(os.sep) + os.sep):
            return True
    return False


class Indexer:
    def __init__(self, settings: Settings, store: Store, embedder_factory: Callable[[], Embedder],
                 cache: EmbeddingCache | None = None) -> None:
        self.settings = settings
        self.store = store
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.cache = cache

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    # --- planning -------------------------------------------------------------------------

    def plan(self, paths: list[Path], manifest: dict[str, ManifestEntry]) -> Plan:
        plan = Plan()
        found, plan.skipped = discover(paths)
        by_abs = {e.abs_path: e for e in manifest.values()}
        seen_ids: dict[str, str] = {}
        seen_abs: set[str] = set()
        candidates: list[tuple[FoundFile, str, str, os.stat_result]] = []
        for f in found:
            abs_path = os.path.abspath(f.path)
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
            candidates.append((f, doc_id, abs_path, st))
        gone = [e for e in manifest.values() if e.abs_path not in seen_abs and _under(e.abs_path, paths)]
        gone_by_hash = {e.content_hash: e for e in gone}
        for f, doc_id, abs_path, st in candidates:
            old = manifest.get(doc_id) or by_abs.get(abs_path)
            if old and old.abs_path == abs_path and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                plan.unchanged.append(old)
                continue
            try:
                with open(f.path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                plan.skipped.append({"path": str(f.path), "reason": f"cannot read: {exc.strerror or exc}"})
                continue
            h = file_hash(data)
            if old and old.content_hash == h and old.doc_id == doc_id:
                old.size, old.mtime_ns, old.abs_path = st.st_size, st.st_mtime_ns, abs_path
                plan.touched.append(old)
                continue
            kind = "updated" if old else ("moved" if h in gone_by_hash else "added")
            plan.work.append(_Work(f, doc_id, abs_path, kind, old, h, st.st_size, st.st_mtime_ns))
        plan.removed = gone
        return plan

    # --- applying -------------------------------------------------------------------------

    def _prepare(self, w: _Work) -> tuple[Document, list[Chunk]]:
        raw = load(w.found.path, int(self.settings.max_file_mb * 1_000_000))
        cleaned = clean(raw, source=w.found.rel)
        if not cleaned.text.strip():
            raise LoadError("no article text left after cleaning")
        doc = Document(doc_id=w.doc_id, source=_display_source(w.found.path), text=cleaned.text, title=cleaned.title,
                       authors=cleaned.authors, published=cleaned.published, format=raw.format,
                       content_hash=w.data_hash, pages=cleaned.pages)
        return doc, chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)

    def run(self, paths: list[Path], progress: ProgressFn | None = None) -> IndexReport:
        t0 = time.perf_counter()
        emit = progress or (lambda e: None)
        report = IndexReport()
        manifest = self.store.read_manifest()
        state = self.store.state()
        start_version = (state.get("epoch"), int(state.get("seq", 0)))
        if state.get("in_progress"):
            self._collect_orphans(manifest)
            # the killed run may have committed documents it never logged: readers reload all once
            self.store.record_changes(reset=True)
            state = self.store.state()
            start_version = (None, -1)  # the BM25 copy cannot be updated from this run's changes alone
        touched_docs: set[str] = set()
        emit(ProgressEvent("scan", 0, 0, "scanning files"))
        plan = self.plan(paths, manifest)
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
            batch = plan.work[b:b + per_batch]
            prepared: list[tuple[_Work, Document, list[Chunk]]] = []
            for w in batch:
                emit(ProgressEvent("scan", done_docs, total, w.found.rel))
                try:
                    doc, chunks = self._prepare(w)
                except LoadError as exc:
                    report.skipped.append({"path": str(w.found.path), "reason": str(exc)})
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
                                     mtime_ns=w.mtime_ns, abs_path=w.abs_path) for w, doc, chunks in prepared]
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


def changed_since(state: dict, epoch: str | None, seq: int) -> set[str] | None:
    """Documents the index's change log names after version (epoch, seq); None when the log
    does not reach back that far (or the index was rebuilt): then only a full reload is right."""
    if state.get("epoch") != epoch:
        return None
    current = int(state.get("seq", 0))
    if current == seq:
        return set()
    entries = [e for e in state.get("log", []) if e["seq"] > seq]
    if not entries or [e["seq"] for e in entries] != list(range(seq + 1, current + 1)):
        return None
    return {d for e in entries for d in (*e["changed"], *e["removed"])}
