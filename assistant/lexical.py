"""BM25 over the live chunks (bm25s: sparse-matrix BM25, fast to build and to query).

A change costs in proportion to the change. The index is a bm25s *base* plus a small *delta*:
chunks added since the base was built are scored with the same Lucene BM25 formula and the
base's document frequencies, and base chunks that were replaced or removed are masked out.
When the delta outgrows `DELTA_REBUILD_SHARE` of the base, the writer builds a new base.

Saved beside the Chroma data (base files, `ids.json`, `delta.json`) with the index version
(`generation`, `seq`) it matches. A reader that finds the copy behind the index applies the
index's change log to it instead of rebuilding from the store (see `engine.Engine._refresh`).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable

import bm25s
import numpy as np

from assistant.swap import swap_in

logging.getLogger("bm25s").setLevel(logging.ERROR)  # after import: bm25s sets its own level

try:
    import Stemmer  # PyStemmer: optional, improves recall on inflected words

    _STEMMER = Stemmer.Stemmer("english")
except ImportError:  # pragma: no cover - the package is a declared dependency
    _STEMMER = None

# A delta larger than this share of the base (or than DELTA_REBUILD_MIN chunks, whichever is
# larger) is folded into a new base: delta chunks are scored in Python, one by one.
DELTA_REBUILD_SHARE = 0.1
DELTA_REBUILD_MIN = 2000
VERSION_FILE = "version.json"


def _tokenize(texts: list[str]) -> "bm25s.tokenization.Tokenized":
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)


# letters Unicode does not decompose into a base letter and an accent ("Østergaard" typed "Ostergaard")
_UNDECOMPOSED = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th",
                               "ð": "d", "ı": "i"})


def fold_accents(term: str) -> str:
    """The term without accents or letters Unicode does not decompose ("Østergaard" -> "Ostergaard")."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", term) if not unicodedata.combining(ch))
    return plain.translate(_UNDECOMPOSED)


def _tokens(text: str) -> list[str]:
    return bm25s.tokenize([text], stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)[0]


class LexicalIndex:
    def __init__(self, ids: list[str], retriever: "bm25s.BM25 | None", generation: str | None, seq: int = 0,
                 avgdl: float = 0.0) -> None:
        self.ids = ids  # base chunk ids, in the base's document order
        self._retriever = retriever
        self.generation = generation
        self.epoch: str | None = None  # the index this copy belongs to (a rebuilt index has a new epoch)
        self.seq = seq  # the index change sequence number this copy is current with
        self.avgdl = avgdl
        self._pos = {cid: i for i, cid in enumerate(ids)}
        self.dead: set[str] = set()  # base chunks no longer live
        self.delta: dict[str, Counter[str]] = {}  # chunk id -> term counts, chunks added after the base
        self._df: np.ndarray | None = None
        self._folded_terms: set[str] | None = None

    # --- building -------------------------------------------------------------------------

    @staticmethod
    def build(items: Iterable[tuple[str, str]], generation: str | None, seq: int = 0) -> "LexicalIndex":
        ids, texts = [], []
        for cid, text in items:
            ids.append(cid)
            texts.append(text)
        if not ids:
            return LexicalIndex([], None, generation, seq)
        tokenized = _tokenize(texts)
        retriever = bm25s.BM25()
        retriever.index(tokenized, show_progress=False)
        avgdl = float(np.mean([len(doc) for doc in tokenized.ids])) if tokenized.ids else 0.0
        return LexicalIndex(ids, retriever, generation, seq, avgdl)

    @property
    def size(self) -> int:
        """Live chunks: the base less its dead, plus the delta."""
        return len(self.ids) - len(self.dead) + len(self.delta)

    def needs_rebuild(self) -> bool:
        changed = len(self.delta) + len(self.dead)
        return changed > max(DELTA_REBUILD_MIN, DELTA_REBUILD_SHARE * len(self.ids))

    def apply(self, removed: Iterable[str], added: Iterable[tuple[str, str]], generation: str | None,
              seq: int) -> None:
        """Bring the index in step with one change: `removed` chunk ids out, `added` (id, text) in."""
        for cid in removed:
            self.delta.pop(cid, None)
            if cid in self._pos:
                self.dead.add(cid)
        for cid, text in added:
            if cid in self._pos:  # ids hash the chunk's content: the base already has this text
                self.dead.discard(cid)
                continue
            self.delta[cid] = Counter(_tokens(text))
        self.generation, self.seq = generation, seq
        self._folded_terms = None

    # --- searching ------------------------------------------------------------------------

    def _doc_freq(self, term: str) -> int:
        if self._retriever is None:
            return 0
        tid = self._retriever.vocab_dict.get(term)
        if tid is None:
            return 0
        if self._df is None:
            self._df = np.diff(np.asarray(self._retriever.scores["indptr"]))
        return int(self._df[tid]) if tid < len(self._df) else 0  # bm25s' vocabulary adds "" past the matrix

    def holds(self, word: str) -> bool:
        """Whether some chunk has every term of `word`, as BM25 reads it (lower case, stemmed): a
        word of only stop words or punctuation has nothing to miss and is held. A term left only in
        chunks removed since the base was built still counts, which errs towards holding."""
        for term in _tokens(word):
            if self._doc_freq(term) == 0 and not any(term in counts for counts in self.delta.values()) \
                    and fold_accents(term) not in self._folded():
                return False
        return True

    def _folded(self) -> set[str]:
        """Every term without its accents ("deja" finds "déjà"), made once per change."""
        if self._folded_terms is None:
            vocab = self._retriever.vocab_dict if self._retriever is not None else {}
            live = [t for t in vocab if self._doc_freq(t)]
            self._folded_terms = {fold_accents(t) for t in live} | {fold_accents(t) for c in self.delta.values() for t in c}
        return self._folded_terms

    def _delta_scores(self, terms: list[str]) -> list[tuple[str, float]]:
        """Lucene BM25 (bm25s' default) for the delta chunks, with the base's statistics."""
        if not self.delta:
            return []
        k1, b = 1.5, 0.75
        if self._retriever is not None:
            k1, b = self._retriever.k1, self._retriever.b
        n_docs = len(self.ids) + len(self.delta)
        lengths = [sum(c.values()) for c in self.delta.values()]
        avgdl = self.avgdl or (sum(lengths) / len(lengths) if lengths else 1.0) or 1.0
        idf = {}
        for t in set(terms):
            df = self._doc_freq(t) + sum(1 for c in self.delta.values() if t in c)
            idf[t] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        out = []
        for (cid, counts), length in zip(self.delta.items(), lengths):
            score = 0.0
            for t in terms:
                tf = counts.get(t, 0)
                if tf:
                    score += idf[t] * tf / (k1 * ((1 - b) + b * length / avgdl) + tf)
            if score > 0:
                out.append((cid, score))
        return out

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        if n <= 0 or not self.size:
            return []
        terms = _tokens(query)
        if not terms:
            return []
        hits: list[tuple[str, float]] = []
        if self._retriever is not None and len(self.ids) > len(self.dead):
            tokens = _tokenize([query])
            if any(len(t) for t in tokens.ids):
                mask = None
                if self.dead:
                    mask = np.ones(len(self.ids), dtype=np.float32)
                    mask[[self._pos[c] for c in self.dead]] = 0.0
                try:
                    docs, scores = self._retriever.retrieve(tokens, k=min(n, len(self.ids)), show_progress=False,
                                                            weight_mask=mask)
                    hits = [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
                except (ValueError, IndexError, KeyError):  # a query of only unknown or stop words
                    hits = []
        hits.extend(self._delta_scores(terms))
        hits.sort(key=lambda h: h[1], reverse=True)
        return hits[:n]

    # --- saving ---------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write to a temporary folder, then swap it in, so a crash leaves the old copy whole."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            if self._retriever is not None:
                self._retriever.save(str(tmp))
            (tmp / "ids.json").write_text(json.dumps({"generation": self.generation, "epoch": self.epoch, "seq": self.seq,
                                                      "avgdl": self.avgdl, "ids": self.ids}))
            (tmp / "delta.json").write_text(json.dumps({"dead": sorted(self.dead),
                                                        "delta": {c: dict(v) for c, v in self.delta.items()}}))
            (tmp / VERSION_FILE).write_text(json.dumps([self.epoch, self.seq, self.generation]))
            swap_in(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def saved_version(folder: Path) -> tuple[str | None, int, str | None] | None:
        """(epoch, seq, generation) of the saved copy, without loading it."""
        try:
            epoch, seq, generation = json.loads((folder / VERSION_FILE).read_text())
            return epoch, int(seq), generation
        except (OSError, ValueError, TypeError):
            return None

    @staticmethod
    def load(folder: Path) -> "LexicalIndex | None":
        meta = folder / "ids.json"
        if not meta.exists():
            return None
        try:
            data = json.loads(meta.read_text())
            retriever = bm25s.BM25.load(str(folder), mmap=False) if data["ids"] else None
            index = LexicalIndex(list(data["ids"]), retriever, data.get("generation"), int(data.get("seq", 0)),
                                 float(data.get("avgdl", 0.0)))
            index.epoch = data.get("epoch")
            delta_file = folder / "delta.json"
            if delta_file.exists():
                delta = json.loads(delta_file.read_text())
                index.dead = set(delta.get("dead", []))
                index.delta = {c: Counter(v) for c, v in delta.get("delta", {}).items()}
            return index
        except (OSError, ValueError, KeyError):
            return None
