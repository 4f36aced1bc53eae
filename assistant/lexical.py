"""BM25 over the live chunks (bm25s: sparse-matrix BM25, fast to build and to query).

Saved beside the Chroma data with the index generation it was built from; a stale or
missing copy is rebuilt from the store, so a crash between the two never serves
answers from an index that disagrees with Chroma for long.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

import bm25s

from assistant.swap import swap_in

logging.getLogger("bm25s").setLevel(logging.ERROR)  # after import: bm25s sets its own level

try:
    import Stemmer  # PyStemmer: optional, improves recall on inflected words

    _STEMMER = Stemmer.Stemmer("english")
except ImportError:  # pragma: no cover - the package is a declared dependency
    _STEMMER = None


def _tokenize(texts: list[str]) -> "bm25s.tokenization.Tokenized":
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)


class LexicalIndex:
    def __init__(self, ids: list[str], retriever: "bm25s.BM25 | None", generation: str | None) -> None:
        self.ids = ids
        self._retriever = retriever
        self.generation = generation

    @staticmethod
    def build(items: Iterable[tuple[str, str]], generation: str | None) -> "LexicalIndex":
        ids, texts = [], []
        for cid, text in items:
            ids.append(cid)
            texts.append(text)
        if not ids:
            return LexicalIndex([], None, generation)
        retriever = bm25s.BM25()
        retriever.index(_tokenize(texts), show_progress=False)
        return LexicalIndex(ids, retriever, generation)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        if self._retriever is None or not self.ids or n <= 0:
            return []
        tokens = _tokenize([query])
        if not any(len(t) for t in tokens.ids):
            return []
        try:
            docs, scores = self._retriever.retrieve(tokens, k=min(n, len(self.ids)), show_progress=False)
        except (ValueError, IndexError, KeyError):  # a query of only unknown or stop words
            return []
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def save(self, folder: Path) -> None:
        """Write to a temporary folder, then swap it in, so a crash leaves the old copy whole."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        try:
            if self._retriever is not None:
                self._retriever.save(str(tmp))
            (tmp / "ids.json").write_text(json.dumps({"generation": self.generation, "ids": self.ids}))
            swap_in(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def load(folder: Path) -> "LexicalIndex | None":
        meta = folder / "ids.json"
        if not meta.exists():
            return None
        try:
            data = json.loads(meta.read_text())
            retriever = bm25s.BM25.load(str(folder), mmap=False) if data["ids"] else None
            return LexicalIndex(list(data["ids"]), retriever, data.get("generation"))
        except (OSError, ValueError, KeyError):
            return None
