"""Hybrid retrieval: dense (Chroma) and BM25 candidates, fused, near-duplicates collapsed.

Fusion is by default a weighted sum of the two normalized scores over the union of both
candidate lists (every candidate gets both scores). Reciprocal-rank fusion (`fusion = "rrf"`)
is kept for comparison: it favours chunks that are mediocre in both lists over one that only
BM25 ranks first, which lost questions naming a rare entity ("What does Mar Azul argue?")
among distractor articles (bench/answer.py measures both).

The LangChain `BaseRetriever` view lives in `langchain_retriever.py` (imported on demand:
langchain_core costs a second of start-up).

Only chunks the manifest lists are ever returned, which is what makes a half-finished
index run invisible to readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from assistant.embeddings import Embedder
from assistant.lexical import LexicalIndex
from assistant.records import Passage
from assistant.store import ManifestEntry, Store

_WORD = re.compile(r"\w+")


@dataclass
class Filters:
    """Restrict retrieval to some documents; dates are ISO strings, bounds inclusive."""

    doc_ids: Sequence[str] | None = None
    author: str | None = None
    since: str | None = None
    until: str | None = None

    def active(self) -> bool:
        return bool(self.doc_ids or self.author or self.since or self.until)

    def allowed(self, manifest: dict[str, ManifestEntry]) -> list[str]:
        out = []
        for doc_id, e in manifest.items():
            if self.doc_ids and doc_id not in self.doc_ids and e.source not in self.doc_ids:
                continue
            if self.author and not any(self.author.lower() in a.lower() for a in e.authors):
                continue
            if self.since and (not e.published or e.published < self.since):
                continue
            if self.until and (not e.published or e.published > self.until):
                continue
            out.append(doc_id)
        return out


def _shingles(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class HybridRetriever:
    def __init__(self, store: Store, lexical: LexicalIndex | None, embedder: Embedder,
                 manifest: dict[str, ManifestEntry], candidates: int = 30, rrf_k: int = 60,
                 dedupe_threshold: float = 0.85, fusion: str = "weighted", dense_weight: float = 0.5) -> None:
        if fusion not in ("weighted", "rrf"):
            raise ValueError(f"unknown fusion {fusion!r} (use weighted or rrf)")
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.manifest = manifest
        self.live = {cid for e in manifest.values() for cid in e.chunk_ids}
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.dedupe_threshold = dedupe_threshold
        self.fusion = fusion
        self.dense_weight = dense_weight

    def _weighted(self, fused: dict[str, dict[str, Any]]) -> None:
        """Every candidate has both scores: min-max the cosine, scale BM25 by the best hit, mix."""
        sims = [e["sim"] for e in fused.values() if e["sim"] is not None]
        lo, hi = (min(sims), max(sims)) if sims else (0.0, 0.0)
        top = max(e["bm25"] for e in fused.values()) or 1.0
        for e in fused.values():
            dense = (e["sim"] - lo) / (hi - lo) if e["sim"] is not None and hi > lo else 0.0
            e["score"] = self.dense_weight * dense + (1.0 - self.dense_weight) * e["bm25"] / top

    def embed_query(self, question: str) -> np.ndarray:
        return self.embedder.encode([question])[0]

    def retrieve(self, question: str, k: int, filters: Filters | None = None,
                 query_vector: np.ndarray | None = None, dense_only: bool = False) -> list[Passage]:
        if not question.strip() or not self.live or k <= 0:
            return []
        allowed = filters.allowed(self.manifest) if filters and filters.active() else None
        if allowed is not None and not allowed:
            return []
        allowed_set = set(allowed) if allowed is not None else None
        n = max(self.candidates, k * 3)
        vec = self.embed_query(question) if query_vector is None else query_vector
        dense = [(c, s) for c, s in self.store.query(vec, n, allowed) if c.chunk_id in self.live]
        fused: dict[str, dict[str, Any]] = {}
        for rank, (chunk, sim) in enumerate(dense):
            fused[chunk.chunk_id] = {"chunk": chunk, "score": 1.0 / (self.rrf_k + rank + 1), "dense_rank": rank + 1,
                                     "lexical_rank": None, "sim": sim, "bm25": 0.0}
        if self.lexical is not None and not dense_only:
            hits = [(cid, s) for cid, s in self.lexical.search(question, n * 2) if cid in self.live]
            need = [cid for cid, _ in hits if cid not in fused]
            with_vectors = self.store.get_chunks_with_vectors(need) if need else {}
            fetched = {cid: chunk for cid, (chunk, _v) in with_vectors.items()}
            vectors = {cid: v for cid, (_c, v) in with_vectors.items()}
            rank = 0
            for cid, score in hits:
                chunk = fused[cid]["chunk"] if cid in fused else fetched.get(cid)
                if chunk is None or (allowed_set is not None and chunk.doc_id not in allowed_set):
                    continue
                rank += 1
                if rank > n:
                    break
                sim = float(np.dot(vec, vectors[cid])) if cid in vectors else None
                entry = fused.setdefault(cid, {"chunk": chunk, "score": 0.0, "dense_rank": None, "lexical_rank": None,
                                               "sim": sim, "bm25": 0.0})
                entry["score"] += 1.0 / (self.rrf_k + rank)
                entry["lexical_rank"] = rank
                entry["bm25"] = score
        if self.fusion == "weighted" and fused:
            self._weighted(fused)
        ranked = sorted(fused.values(), key=lambda e: e["score"], reverse=True)
        out: list[Passage] = []
        kept_shingles: list[set[str]] = []
        for e in ranked:
            sh = _shingles(e["chunk"].text)
            if any(_jaccard(sh, other) >= self.dedupe_threshold for other in kept_shingles):
                continue
            kept_shingles.append(sh)
            out.append(Passage(chunk=e["chunk"], score=e["score"], dense_rank=e["dense_rank"],
                               lexical_rank=e["lexical_rank"], similarity=e["sim"]))
            if len(out) >= k:
                break
        return out
