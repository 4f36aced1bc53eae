"""Real claims written by others, as (claim, passage, faithful?) cases for the claim check.

The sets live outside the repo (default /work/data-external, see each folder's README); nothing
here copies them in. Each case is one claim and the passage it is judged against, as on the LLM
path: a sentence-pair set gives its evidence as the passage; an article-level set (FactCC, the
AggreFact summaries) gets the article's chunk that the claim's embedding finds, as retrieval would,
and the check pins the claim to that chunk's best sentence itself.

Splits never share a source text: a case's `group` is a hash of its article / premise / first
sentence, and `split` ("tune" or "test") follows the group, so the same article never lands on
both sides even when two sets (FactCC and AggreFact both draw on CNN/DM) reuse it. Sources kept
wholly aside for reporting: Climate-FEVER, ANLI (non-commercial: never tuned on) and the XSum
summaries.

    python -m bench.claim_data [--data DIR]      # counts per source, split and label
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

DATA = Path("/work/data-external")
TEST_SHARE = 4  # of 10 hash buckets: 40% of the groups of a tuned source are kept aside for reporting
HELD_OUT_SOURCES = frozenset({"climate-fever", "anli", "xsum"})  # never tuned on: reported only
CACHE_NAME = "_derived/claim_cases.jsonl"  # chunk choice costs embeddings: done once, kept beside the data


@dataclass(frozen=True)
class Case:
    """One claim and the passage it is checked against; `faithful` is the human label."""

    id: str
    source: str
    split: str  # tune | test
    group: str
    claim: str
    passage: str
    faithful: bool
    kind: str = ""  # the set's own label or error type, for per-kind reporting


def _hash(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split())[:300].encode()).hexdigest()[:12]


def _split(group: str, source: str) -> str:
    if source in HELD_OUT_SOURCES:
        return "test"
    return "test" if int(group, 16) % 10 < TEST_SHARE else "tune"


def _rows(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


_DETOK = [(r" ([.,;:!?%)])", r"\1"), (r"\( ", "("), (r" ' s\b", "'s"), (r" 's\b", "'s"), (r" n't\b", "n't"),
          (r"`` ?| ?''", '"'), (r" - ", "-"), (r"\s+", " ")]


def detokenize(text: str) -> str:
    """Undo the summarisers' tokenisation ("alzheimer 's ." -> "alzheimer's.")."""
    for pat, rep in _DETOK:
        text = re.sub(pat, rep, text)
    return text.strip()


def truecase(claim: str, article: str) -> str:
    """Restore the case of a lower-cased claim from the article's own spelling of each word (the
    FactCC and AggreFact-SOTA claims were lower-cased; an LLM's claims are not)."""
    forms: dict[str, Counter] = {}
    for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b[\w'’-]+", article):
        forms.setdefault(m.group().lower(), Counter())[m.group()] += 1
    def fix(m: re.Match) -> str:
        w = m.group()
        c = forms.get(w.lower())
        return c.most_common(1)[0][0] if c and w.islower() else w
    out = re.sub(r"[\w'’-]+", fix, claim)
    return out[:1].upper() + out[1:]


def sentences(text: str) -> list[str]:
    from assistant.chunking import sentence_spans

    return [text[s:e].strip() for s, e in sentence_spans(text) if text[s:e].strip()]


class ChunkPicker:
    """The article's chunk a claim's embedding finds (the project's chunker and embedder)."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray]) -> None:
        self.encode = encode
        self._chunks: dict[str, tuple[list[str], np.ndarray]] = {}

    def __call__(self, claim: str, article: str) -> str:
        from assistant.chunking import chunk_document
        from assistant.records import Document

        key = _hash(article) + str(len(article))
        if key not in self._chunks:
            texts = [c.text for c in chunk_document(Document("d", "d", article))] or [article]
            self._chunks[key] = (texts, self.encode(texts))
        texts, vecs = self._chunks[key]
        return texts[int(np.argmax(vecs @ self.encode([claim])[0]))]


def _mrpc(root: Path) -> Iterator[Case]:
    for split in ("train", "test"):
        for r in _rows(root / "mrpc" / f"mrpc_{split}.jsonl"):
            g = _hash(r["sentence1"])
            yield Case(r["id"], "mrpc", "tune" if split == "train" else "test", g, r["sentence2"], r["sentence1"],
                       r["label"] == "paraphrase", r["label"])


def _rte(root: Path) -> Iterator[Case]:
    for split in ("train", "dev", "test"):
        for r in _rows(root / "rte" / f"rte_{split}.jsonl"):
            g = _hash(r["premise"])
            yield Case(r["id"], "rte", _split(g, "rte"), g, r["hypothesis"], r["premise"],
                       r["label"] == "entailment", r["label"])


def _factcc(root: Path, pick: ChunkPicker) -> Iterator[Case]:
    for r in _rows(root / "summac-benchmark-val" / "factcc_val.jsonl"):
        g = _hash(r["evidence"])
        claim = truecase(detokenize(r["claim"]), r["evidence"])
        yield Case(r["id"], "factcc", _split(g, "cnndm"), g, claim, pick(claim, r["evidence"]),
                   r["label"] == "supported", r["label"])


def _cnndm_summaries(root: Path, pick: ChunkPicker) -> Iterator[Case]:
    """Summary sentences of CNN/DM summaries: every sentence of a summary judged correct is faithful;
    of one judged wrong, only a sentence holding an annotated error span is known to be corrupted."""
    seen: set[str] = set()
    for r in _rows(root / "aggrefact" / "aggrefact_error_typed.jsonl"):
        if r["origin"] != "cnndm":
            continue
        g = _hash(r["evidence"])
        spans = ast.literal_eval(r["annotated_spans"]) if r["annotated_spans"] else []
        spans = [x for s in spans for x in (s if isinstance(s, list) else [s]) if isinstance(x, str)]
        for i, sent in enumerate(sentences(detokenize(r["claim"]))):
            bad = any(detokenize(s) in sent for s in spans)
            if (r["label"] == "supported" or bad) and sent not in seen:
                seen.add(sent)
                yield Case(f"{r['id']}-{i}", "cnndm-typed", _split(g, "cnndm"), g, sent, pick(sent, r["evidence"]),
                           r["label"] == "supported", ",".join(r["error_types"]) or "supported")
    for r in _rows(root / "aggrefact" / "sota" / "aggrefact_cnndm_sota.jsonl"):
        if r["label"] != "supported":
            continue  # which sentence is wrong is not annotated
        g = _hash(r["evidence"])
        for i, sent in enumerate(sentences(truecase(detokenize(r["claim"]), r["evidence"]))):
            if sent not in seen:
                seen.add(sent)
                yield Case(f"{r['id']}-{i}", "cnndm-sota", _split(g, "cnndm"), g, sent, pick(sent, r["evidence"]),
                           True, "supported")


def _xsum(root: Path, pick: ChunkPicker) -> Iterator[Case]:
    for r in _rows(root / "aggrefact" / "sota" / "aggrefact_xsum_sota.jsonl"):
        g = _hash(r["evidence"])
        yield Case(r["id"], "xsum", "test", g, r["claim"], pick(r["claim"], r["evidence"]), r["label"] == "supported",
                   r["label"])


def _wice(root: Path, pick: ChunkPicker) -> Iterator[Case]:
    for part in ("dev", "test"):
        for r in _rows(root / "wice" / f"wice_claim_{part}.jsonl"):
            sents = ast.literal_eval(r["evidence_sentences"]) if isinstance(r["evidence_sentences"], str) \
                else r["evidence_sentences"]
            page = "\n".join(s for s in sents if not s.startswith("(meta data)"))
            passage = r["evidence"] if r["label"] == "supported" and r["evidence"] else pick(r["claim"], page)
            yield Case(r["id"], "wice", "tune" if part == "dev" else "test", _hash(page), r["claim"], passage,
                       r["label"] == "supported", r["label"])


def _climate(root: Path) -> Iterator[Case]:
    for r in _rows(root / "climate-fever" / "climate_fever_pairs.jsonl"):
        yield Case(r["id"], "climate-fever", "test", _hash(r["claim"]), r["claim"], r["evidence"],
                   r["label"] == "supported", r["label"])


def _anli(root: Path) -> Iterator[Case]:
    for r in _rows(root / "anli-dev" / "anli_dev_r1_r2_r3.jsonl"):
        yield Case(r["id"], "anli", "test", _hash(r["evidence"]), r["claim"], r["evidence"], r["label"] == "supported",
                   r["label"])


def build(root: Path, encode: Callable[[list[str]], np.ndarray]) -> list[Case]:
    pick = ChunkPicker(encode)
    cases: list[Case] = []
    for make in (_mrpc, _rte, _climate, _anli):
        cases.extend(make(root))
    for make in (_factcc, _cnndm_summaries, _wice, _xsum):
        cases.extend(make(root, pick))
    return cases


def load(root: Path = DATA, encode: Callable[[list[str]], np.ndarray] | None = None) -> list[Case]:
    """Every case, from the derived cache beside the data when it is there (built with `encode` else)."""
    cache = root / CACHE_NAME
    if cache.exists():
        return [Case(**r) for r in _rows(cache)]
    if encode is None:
        from assistant.config import Settings
        from assistant.embeddings import make_embedder

        encode = make_embedder(Settings()).encode
    cases = build(root, encode)
    cache.parent.mkdir(exist_ok=True)
    with cache.open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(asdict(c)) + "\n")
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    counts = Counter((c.source, c.split, c.faithful) for c in load(args.data))
    for (source, split, faithful), n in sorted(counts.items()):
        print(f"{source:<14} {split:<5} {'faithful' if faithful else 'not':<9} {n:>6}")


if __name__ == "__main__":
    main()
