"""The one API the CLI and the TUI use: index, ask (or stream), list sources, evaluate.

Heavy parts load lazily and once: the embedding model on first use (or `warm()` in a
background worker), the index on `open()`.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from assistant.answer.about import (AuthorIndex, Library, answer_about, merge_filters, question_filters,
                                    strip_constraints)
from assistant.answer.about import kind_of as about_kind
from assistant.answer.citations import check_answer, markers_of
from assistant.answer.asked import topic_request
from assistant.answer.decide import WordVectors
from assistant.answer.extractive import NOT_FOUND, Query, answer_offline
from assistant.answer.premise import unknown_names
from assistant.answer.rerank import SentenceRanker
from assistant.answer.llm import LLMAnswerer, LLMError
from assistant.answer.support import SupportChecker, load_second_opinion
from assistant.config import Settings
from assistant.conversation import (Condensed, asks_what_followed, condense, current_topic, prefer_conversation,
                                    topic_terms)
from assistant.crossencoder import CrossEncoderError, load_cross_encoder
from assistant.embeddings import Embedder, EmbeddingCache, make_embedder
from assistant.indexer import (Indexer, ProgressFn, bm25_dir, build_lexical, expected_build,
                               update_lexical)
from assistant.lexical import LexicalIndex
from assistant.records import Answer, Chunk, Document, IndexReport, Passage, SourceInfo, Turn
from assistant.retrieval import Filters, HybridRetriever
from assistant.store import ManifestEntry, Store, StoreError, release_clients, version_of
from assistant.swap import recover_swap, swap_in

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 2000
NO_INDEX = ("No articles are indexed yet in {where}. Add some with `assistant index PATH` "
            "(or open the chat as `assistant chat DIR`).")
EMPTY_QUESTION = "Please type a question."
SUPPORT_CACHE_SIZE = 4096  # texts whose vectors (and parses) the claim check keeps
FOLLOWUP_EXTRA = 5  # a follow-up retrieves this many more passages, for the conversation's articles to compete

__all__ = ["Engine", "Filters", "Answer", "StoreError", "LLMError"]


@dataclass
class IndexChange:
    """What another process (or this one) changed in the index since the engine last looked."""

    added: int = 0
    removed: int = 0
    updated: int = 0

    @staticmethod
    def between(old: dict[str, ManifestEntry], new: dict[str, ManifestEntry], docs: set[str]) -> "IndexChange":
        change = IndexChange()
        for d in docs:
            if d in new and d not in old:
                change.added += 1
            elif d in old and d not in new:
                change.removed += 1
            elif d in new and (new[d].content_hash != old[d].content_hash or new[d].chunk_ids != old[d].chunk_ids):
                change.updated += 1
        return change

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.updated)

    def describe(self) -> str:
        parts = []
        if self.added:
            parts.append(f"{self.added} new article{'s' * (self.added != 1)}")
        if self.updated:
            parts.append(f"{self.updated} updated")
        if self.removed:
            parts.append(f"{self.removed} removed")
        return ", ".join(parts) or "the index was reloaded"


@dataclass
class Status:
    documents: int
    passages: int
    location: str
    model: str

    def describe(self) -> str:
        return f"{self.documents} article{'s' * (self.documents != 1)}, {self.passages} passages"


def clean_question(question: str) -> tuple[str, list[str]]:
    """Printable, single-spaced, bounded: what retrieval and the answerers can use."""
    warnings = []
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question or "")
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        warnings.append(f"the question was {len(text)} characters; only the first {MAX_QUESTION_CHARS} were used")
        text = text[:MAX_QUESTION_CHARS]
    return text, warnings


def _continuation(condensed: Condensed) -> str:
    """Whether the answer goes on from the last one's quotes (`Query.continuation`): "prefer" them, read
    "only" them (the follow-up has no topic words of its own), or "" (not asked what came next)."""
    own = condensed.own or condensed.question
    if not condensed.followup or not asks_what_followed(own):
        return ""
    return "prefer" if topic_terms(own) else "only"


def _quoted(turns: Sequence[Turn]) -> set[tuple[str, int, int]]:
    """The passages earlier turns quoted: a follow-up should say something new."""
    return {(c.doc_id, c.start, c.end) for t in turns for c in t.citations}


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, chat_model: Any = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._chat_model = chat_model
        self._store: Store | None = None
        self._retriever: HybridRetriever | None = None
        self._manifest: dict[str, ManifestEntry] = {}
        self._lexical: LexicalIndex | None = None
        self._version: tuple[str, int, str] | None = None  # the index version manifest and BM25 reflect
        self._indexing = 0  # this engine's own index runs under way (its client sees its own writes)
        self._lock = threading.RLock()
        self._embed_lock = threading.Lock()
        self._cache: EmbeddingCache | None = None
        self._pending_warnings: list[str] = []  # said once, with the next answer (a missing cross-encoder)

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._embed_lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.settings)
            return self._embedder

    def warm(self) -> None:
        """Load the models and the index now (the TUI calls this from a worker)."""
        self.embedder.encode(["warm up"])
        self.ranker().score("warm up", ["warm up"])
        self.open()

    def open(self, create: bool = False) -> Status:
        """Open the index if there is one (an absent index is an empty status, not an error);
        an open index is brought up to date with what other processes wrote."""
        with self._lock:
            if self._store is None:
                if not self.settings.chroma_url:
                    recover_swap(self.settings.index_dir)
                    if not create and not (self.settings.index_dir / "chroma").exists():
                        return self.status()
                self._store = Store(self.settings, expect=expected_build(self.settings), create=True)
                self._refresh()
            else:
                self.refresh_if_changed()
            return self.status()

    def refresh_if_changed(self) -> IndexChange | None:
        """Notice what other processes (or machines, on a server) wrote since the last look.

        One cheap read when nothing changed (a stat of the stamp file on disk, one record on a
        server); otherwise only the documents the change log names are reloaded. The engine
        calls this before each question; the chat also calls it while idle.
        """
        with self._lock:
            if self._store is None:
                if self.settings.chroma_url or (self.settings.index_dir / "chroma").exists():
                    before = 0
                    self.open()
                    return IndexChange(added=len(self._manifest)) if len(self._manifest) > before else None
                return None
            if self._store.version() == self._version:
                return None
            return self._refresh()

    def _refresh(self) -> IndexChange:
        """Reload what changed since `self._version`: manifest records and BM25, in proportion to the change."""
        assert self._store is not None
        store = self._store
        if self._version is not None and not self._indexing:
            store.reopen()  # another process wrote: a cached embedded client would read stale segments
        state = store.state()
        version = version_of(state)
        old = self._manifest
        docs = None if self._version is None else store.changes_since(self._version[0], self._version[1])
        if docs is None:
            manifest = store.read_manifest()
            docs = set(old) | set(manifest)
            entries = manifest
        else:
            entries = store.read_entries(sorted(docs))
            manifest = dict(old)
            for d in docs:
                if d in entries:
                    manifest[d] = entries[d]
                else:
                    manifest.pop(d, None)
        change = IndexChange.between(old, manifest, docs)
        self._lexical = self._current_lexical(state, old, entries, docs)
        self._manifest = manifest
        self._version = version
        self._retriever = None
        return change

    def _current_lexical(self, state: dict, before: dict[str, ManifestEntry], after: dict[str, ManifestEntry],
                         docs: set[str]) -> LexicalIndex | None:
        """The writer's saved BM25 copy when it is current; else the one in memory, updated by the
        change; else (first open of a server index, a log gap) built from the store once."""
        folder = bm25_dir(self.settings)
        want = (state.get("epoch"), int(state.get("seq", 0)))
        lexical = self._lexical
        saved = LexicalIndex.saved_version(folder)
        if saved is not None and saved[:2] == want and (lexical is None or (lexical.epoch, lexical.seq) != want
                                                        or lexical.generation != saved[2]):
            loaded = LexicalIndex.load(folder)
            if loaded is not None:
                return loaded
        if lexical is not None and self._version is not None and (lexical.epoch, lexical.seq) == self._version[:2]:
            update_lexical(self._store, lexical, before, after, docs)
            lexical.epoch, lexical.seq, lexical.generation = want[0], want[1], state.get("generation")
            if not lexical.needs_rebuild():
                return lexical
        if lexical is not None and (lexical.epoch, lexical.seq) == want:
            return lexical
        if not self._manifest and not after:
            return None
        lexical = build_lexical(self._store, state.get("generation"))
        try:
            lexical.save(folder)
        except OSError:  # read-only index: keep the rebuilt copy in memory
            pass
        return lexical

    def _get_retriever(self) -> HybridRetriever | None:
        with self._lock:
            self.open()
            if self._store is None or not self._manifest:
                return None
            if self._retriever is None:
                s = self.settings
                self._retriever = HybridRetriever(self._store, self._lexical, self.embedder, self._manifest,
                                                  candidates=s.candidates, rrf_k=s.rrf_k, fusion=s.fusion,
                                                  dense_weight=s.dense_weight, dedupe_threshold=s.dedupe_threshold)
            return self._retriever

    def ranker(self) -> SentenceRanker:
        """The sentence ranker, made once: the cross-encoder when it loads, else the embedding (one warning)."""
        with self._embed_lock:
            ranker = self.__dict__.get("_ranker")
            if ranker is not None:
                return ranker
            model = None
            if self.settings.cross_encoder:
                try:
                    model = load_cross_encoder(self.settings.cross_encoder)
                except CrossEncoderError as exc:
                    self._pending_warnings.append(f"{exc}; answers are ranked by the embedding instead")
                    log.warning("%s", self._pending_warnings[-1])
        ranker = self.__dict__["_ranker"] = SentenceRanker(model, lambda texts: self.embedder.encode(texts))
        return ranker

    def status(self) -> Status:
        passages = sum(len(e.chunk_ids) for e in self._manifest.values())
        return Status(len(self._manifest), passages, self.settings.chroma_url or str(self.settings.index_dir),
                      self.settings.model)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None
            self._retriever = None
            self._version = None
            if self._cache:
                self._cache.close()
                self._cache = None

    # --- indexing -------------------------------------------------------------------------

    def _embedding_cache(self) -> EmbeddingCache | None:
        if self._cache is None:
            try:
                self._cache = EmbeddingCache(self.settings.index_dir.parent / f".{self.settings.index_dir.name}-embeddings.sqlite",
                                             self.settings.model)
            except Exception:  # a cache we cannot open only costs speed
                self._cache = None
        return self._cache

    def index(self, paths: Sequence[Path | str], rebuild: bool = False, progress: ProgressFn | None = None,
              wait: float = 0.0, refresh: bool = False, only: Sequence[Path] | None = None,
              refresh_feeds: bool = False, stop: threading.Event | None = None) -> IndexReport:
        """Bring the index in step with `paths`: files, folders, and http(s) URLs of articles or feeds.

        Only new, changed and removed files cost work; `only` narrows the scan to those paths under
        the given folders (a watcher's batch: its cost is the batch's, not the folder's). URLs are
        fetched before the lock is taken, and once: later runs read the stored copy unless `refresh`
        (pages and feeds) or `refresh_feeds` (feeds only, a watcher's poll). Up to `wait` seconds
        (math.inf: as long as it takes) go to waiting for another run, announced by a "wait"
        progress event; a set `stop` gives up waiting. When nothing could be fetched and no files
        were given, the index is not touched.
        """
        from assistant.indexer import ProgressEvent, wait_for_index_lock
        from assistant.ingest.fetch import FetchResult, fetch_all, is_url

        files = [Path(p) for p in paths if not is_url(p)]
        urls = [str(p).strip() for p in paths if is_url(p)]
        fetched = FetchResult()
        if urls:
            emit = progress or (lambda e: None)
            fetched = fetch_all(urls, self.settings, refresh=refresh, refresh_feeds=refresh_feeds,
                                progress=lambda done, total, url: emit(ProgressEvent("fetch", done, total, url)))
        if not files and not fetched.pages:
            return IndexReport(skipped=fetched.skipped)
        lock = wait_for_index_lock(self.settings, wait, progress, stop)
        try:
            if rebuild and not self.settings.chroma_url:
                report = self._rebuild_local(files, progress, fetched.pages)
            else:
                with self._lock:
                    if self._store is None:
                        self._store = Store(self.settings, expect=None if rebuild else expected_build(self.settings))
                    if rebuild:
                        self._store.drop_all()
                        self._store = Store(self.settings, expect=expected_build(self.settings))
                    store = self._store
                    manifest = None
                    if only is not None and not rebuild:  # the engine's manifest, brought up to date by the change log
                        if self._version is None:
                            self._refresh()
                        else:
                            self.refresh_if_changed()
                        manifest = self._manifest
                self._indexing += 1
                try:
                    report = Indexer(self.settings, store, lambda: self.embedder, self._embedding_cache()).run(
                        files, progress, fetched.pages, only, manifest, stop=stop)
                    with self._lock:
                        self._refresh()
                finally:
                    self._indexing -= 1
            report.skipped[:0] = fetched.skipped
            return report
        finally:
            lock.release()

    def _rebuild_local(self, paths: list[Path], progress: ProgressFn | None, pages: Sequence[Any] = ()) -> IndexReport:
        """Build a fresh index beside the old one and swap it in: the old one serves until then.
        The fetched copies of URL articles move with it (hard links where the disk allows)."""
        target = self.settings.index_dir
        tmp = target.with_name(f".{target.name}.rebuild-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp_settings = self.settings.replace(index_dir=tmp)
        store = Store(tmp_settings, expect=expected_build(self.settings))
        try:
            report = Indexer(tmp_settings, store, lambda: self.embedder, self._embedding_cache(),
                             exclude=[target]).run(paths, progress, pages)
            fetched = target / "fetched"
            if fetched.is_dir():
                def link_or_copy(src: str, dst: str) -> None:
                    try:
                        os.link(src, dst)
                    except OSError:
                        shutil.copy2(src, dst)

                shutil.copytree(fetched, tmp / "fetched", copy_function=link_or_copy, dirs_exist_ok=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        store.close()
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None
            self._retriever = None
            release_clients()
            swap_in(tmp, target)
            release_clients()
        self.open()
        return report

    # --- reading --------------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        self.open()
        return sorted((SourceInfo(e.doc_id, e.title, list(e.authors), e.published, e.source, len(e.chunk_ids), e.format)
                       for e in self._manifest.values()), key=lambda s: s.doc_id)

    def document(self, doc_id: str) -> Document | None:
        """The cleaned article rebuilt from its chunks; offsets match every citation."""
        self.open()
        entry = self._manifest.get(doc_id)
        if entry is None or self._store is None:
            return None
        chunks = sorted(self._store.get_chunks(entry.chunk_ids).values(), key=lambda c: c.start)
        parts: list[str] = []
        pos = 0
        for c in chunks:
            if c.end <= pos:
                continue
            if c.start > pos:
                gap = c.start - pos
                parts.append("\n\n" if gap == 2 else " " * gap)
                pos = c.start
            parts.append(c.text[pos - c.start:])
            pos = c.end
        return Document(doc_id=doc_id, source=entry.source, text="".join(parts), title=entry.title,
                        authors=list(entry.authors), published=entry.published, format=entry.format,
                        content_hash=entry.content_hash)

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None,
                 dense_only: bool = False) -> list[Passage]:
        retriever = self._get_retriever()
        if retriever is None:
            return []
        question, _ = clean_question(question)
        return retriever.retrieve(question, k or self.settings.k, filters, dense_only=dense_only)

    def as_langchain_retriever(self, k: int | None = None):  # noqa: ANN201 - an AssistantRetriever
        from assistant.langchain_retriever import AssistantRetriever

        return AssistantRetriever(retrieve=lambda q, kk: self.retrieve(q, kk), k=k or self.settings.k)

    # --- answering ------------------------------------------------------------------------

    def support(self, claim: str, quote: str) -> float:
        """How well `quote` backs `claim`, graded (for ranking sentences; `answer/support.py`)."""
        return self._checker().score(claim, quote)

    def _vector(self, text: str) -> np.ndarray:
        """The citation check's cached embedding of `text` (`SupportChecker.vector`)."""
        return self._checker().vector(text)

    def _checker(self) -> SupportChecker:
        """The claim checker, made on first use: the embedder and the spaCy parser load lazily."""
        checker = self.__dict__.get("_support_checker")
        if checker is None:
            s = self.settings
            checker = self.__dict__["_support_checker"] = SupportChecker(
                lambda: self.embedder, threshold=s.support_threshold, spacy_model=s.spacy_model or "",
                second_opinion=load_second_opinion(s), cache_size=SUPPORT_CACHE_SIZE, claim_threshold=s.claim_threshold)
        return checker

    def ask(self, question: str, k: int | None = None, answerer: str | None = None,
            filters: Filters | None = None, history: Sequence[Turn] | None = None) -> Answer:
        result: Answer | None = None
        for item in self.ask_stream(question, k, answerer, filters, history=history):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def ask_stream(self, question: str, k: int | None = None, answerer: str | None = None,
                   filters: Filters | None = None, history: Sequence[Turn] | None = None) -> Iterator[str | Answer]:
        """The pipeline: condense (a follow-up against `history`, the conversation's earlier turns)
        -> retrieve -> answer -> check. Yield the LLM's text as it streams (nothing for the
        extractive answerer), then the checked `Answer`, which is what the user must be shown."""
        kind = answerer or self.settings.answerer
        if kind not in ("extractive", "llm"):
            raise ValueError(f"unknown answerer {kind!r} (use extractive or llm)")
        text, warnings = clean_question(question)
        if not text:
            yield Answer(question=question, answer=EMPTY_QUESTION, answerer=kind, answered=False, warnings=warnings)
            return
        if not any(ch.isalnum() for ch in text):
            yield Answer(question=question, answer="That question has no words to search for.", answerer=kind,
                         answered=False, warnings=warnings)
            return
        retriever = self._get_retriever()
        if retriever is None:
            yield Answer(question=question, answer=NO_INDEX.format(where=self.settings.index_location), answerer=kind,
                         answered=False, warnings=warnings)
            return
        t0 = time.perf_counter()
        history = list(history or [])[-self.settings.history_turns:] if self.settings.history_turns > 0 else []
        about = answer_about(text, history, self._library(), filters) if about_kind(text, self._titles()) else None
        if about is not None:
            about.question, about.warnings = question, warnings + about.warnings
            about.timings = {"retrieve_ms": (time.perf_counter() - t0) * 1000, "answer_ms": 0.0}
            yield about
            return
        found = question_filters(text, self._author_index())  # "What did Bartlett write about X?"
        filters = merge_filters(filters, found)
        # condensed as typed (its names say it is no follow-up), then the constraints that became filters leave
        # what is searched for: the filter does their job, their words would pull toward bylines
        condensed = condense(text, history, self.settings, kind, self._chat_model)
        warnings.extend(condensed.warnings)
        kk = k or self.settings.k
        search = strip_constraints(condensed.standalone, found)
        q_vec = self.embedder.encode([search])[0]
        boost = condensed.followup and bool(condensed.docs)
        lexical = strip_constraints(condensed.lexical_query, found) if condensed.lexical_query else search
        passages = retriever.retrieve(lexical, kk + FOLLOWUP_EXTRA if boost else kk, filters, query_vector=q_vec)
        if boost:
            passages = prefer_conversation(passages, condensed.docs, kk)
        t1 = time.perf_counter()
        answer = None
        llm_dropped: list[dict[str, str]] = []
        if kind == "llm" and passages:
            self._checker().use_parser(wait=False)  # the parse loads while the model writes
            try:
                pieces: list[str] = []
                for piece in self._llm().stream(search, passages):
                    pieces.append(piece)
                    yield piece
                answer = self._checked_llm_answer(question, "".join(pieces), passages, warnings, dropped=llm_dropped)
            except LLMError as exc:
                warnings.append(f"{exc}; showing the extractive answer instead")
        if answer is None:
            text = strip_constraints(condensed.answer_text, found)
            if not condensed.followup:  # "Tell me about the strike" is read as "the strike"
                text = topic_request(text) or text
            # "and then?": what the conversation showed on its topic is old news, the story goes on after it
            going_on = _continuation(condensed)
            query = Query(question, text, condensed.followup, dict(condensed.docs),
                          condensed.own_subject, _quoted(history[-1:] if not going_on else current_topic(history))
                          if condensed.followup else set(),
                          self.settings.decision_threshold, self.settings.max_answer_sentences, self._premise(),
                          self.settings.low_confidence,
                          strip_constraints(condensed.standalone, found) if condensed.followup else None,
                          going_on)
            answer = answer_offline(query, passages, self.ranker(), self._word_vectors(), warnings)
            answer.dropped = llm_dropped + answer.dropped  # the model's claims the check removed stay visible
        if answer.answered and self._lexical is not None and self._lexical.size:
            absent = unknown_names(search, self._lexical.holds)  # "Skarvik" in no article: the quote is about else
            if absent:
                answer.warnings.append(absent)
        if self._pending_warnings:
            answer.warnings[:0], self._pending_warnings = self._pending_warnings, []
        answer.standalone_question = search
        answer.filters = {k: v for k, v in (("author", found and found.author), ("since", found and found.since),
                                            ("until", found and found.until)) if v}
        answer.timings = {"retrieve_ms": (t1 - t0) * 1000, "answer_ms": (time.perf_counter() - t1) * 1000}
        answer.passages = passages
        yield answer

    def _library(self) -> Library:
        """What metadata answers read (`answer/about.py`)."""
        return Library(sources=self.sources, chunks=self._doc_chunks,
                       retrieve=lambda q, kk, f: self.retrieve(q, kk, f))

    def _doc_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's live chunks in text order (metadata answers cite them)."""
        entry = self._manifest.get(doc_id)
        if entry is None or self._store is None:
            return []
        return sorted(self._store.get_chunks(entry.chunk_ids).values(), key=lambda c: c.start)

    def _author_index(self) -> AuthorIndex:
        """Indexed authors by name and surname, rebuilt when the manifest is replaced."""
        cached = getattr(self, "_authors_cache", None)
        if cached is None or cached[0] is not self._manifest:
            cached = (self._manifest, AuthorIndex.of(a for e in self._manifest.values() for a in e.authors))
            self._authors_cache = cached
        return cached[1]

    def _titles(self) -> list[str]:
        """Indexed titles ("Who wrote <a title>?" is about that article), rebuilt when the manifest is replaced."""
        cached = getattr(self, "_titles_cache", None)
        if cached is None or cached[0] is not self._manifest:
            cached = (self._manifest, sorted({e.title for e in self._manifest.values() if e.title}))
            self._titles_cache = cached
        return cached[1]

    def _premise(self):  # noqa: ANN202 - (question, quote) -> str | None, or None without a parser
        """The premise check (`answer/premise.py`, via the claim checker's spaCy parse), when a parser is set."""
        if not self.settings.spacy_model:
            return None
        return lambda question, quote: self._checker().premise_conflict(question, quote)

    def _word_vectors(self) -> WordVectors:
        """Single-word embeddings for the decision's soft coverage, cached across questions."""
        vectors = self.__dict__.get("_vectors")
        if vectors is None:
            vectors = self.__dict__["_vectors"] = WordVectors(lambda words: self.embedder.encode(words))
        return vectors

    def _llm(self) -> LLMAnswerer:
        return LLMAnswerer(self.settings, self._chat_model)

    def _checked_llm_answer(self, question: str, raw: str, passages: list[Passage], warnings: list[str],
                            dropped: list[dict[str, str]] | None = None) -> Answer | None:
        """Pin each claim to the passage sentence that supports it, then run the claim check.

        None when no claim survives (the caller falls back to the extractive answer); the claims
        dropped on the way are then added to `dropped`, for the fallback answer to show."""
        raw = raw.strip()
        if raw.rstrip(".") == NOT_FOUND.rstrip(".") or NOT_FOUND.lower() in raw.lower() and not markers_of(raw):
            return Answer(question=question, answer=NOT_FOUND, answerer="llm", answered=False, warnings=warnings)
        checker = self._checker()
        checker.use_parser()  # roles need the parse: loaded once, on the LLM path only
        body, citations = checker.pin_claims(raw, passages, warnings)
        checked = check_answer(body, citations, passages, checker.score, self.settings.support_threshold,
                               judge=checker.judge)
        warnings.extend(checked.warnings)
        if not checked.citations:
            warnings.append("the model's answer had no supported sentence; showing the extractive answer instead")
            if dropped is not None:
                dropped.extend(checked.dropped)
            return None
        body = checked.answer
        line = checker.premise_conflict(question, checked.citations[0].quote) if self.settings.spacy_model else None
        if line:  # the model may have gone along with a false premise: the passage says it the other way round
            body = f"{line.rstrip('.')} [{checked.citations[0].n}]. {body}"
            warnings.append("the passage contradicts the question's premise")
        return Answer(question=question, answer=body, citations=checked.citations, answerer="llm",
                      answered=True, warnings=warnings, dropped=checked.dropped)
