"""SQuAD-format question sets as an article collection: the real questions we tune and report on.

Each SQuAD article becomes one text file (its title, then its paragraphs), all of them are
indexed together (questions compete with every article, as in a user's collection), and each
question keeps where its gold paragraph sits in the cleaned text, to tell whether an answer
cited it.

    from bench.squad import load_squad, squad_engine
    articles = load_squad(SHARED_SQUAD)
    engine, spans = squad_engine(articles)      # cached under ~/.cache/assistant-bench

The shared subset (`../shared/data/squad2-train-subset`) is not ours to redistribute: it is
read from there, never copied into the repo.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHARED_SQUAD = REPO.parent / "shared" / "data" / "squad2-train-subset" / "train-v2.0-subset.json"
CACHE = Path.home() / ".cache" / "assistant-bench"
# Two folds by whole article, each with one of the two articles that hold unanswerable questions:
# a model is tuned on one fold and reported on the other (and the other way round).
FOLDS = {
    "A": ["The_Legend_of_Zelda:_Twilight_Princess", "Beyoncé", "Sino-Tibetan_relations_during_the_Ming_dynasty",
          "2008_Sichuan_earthquake", "To_Kill_a_Mockingbird"],
    "B": ["Spectre_(2015_film)", "Frédéric_Chopin", "IPod", "New_York_City", "Solar_energy"],
}


@dataclass
class Question:
    qid: str
    article: str
    paragraph: int
    question: str
    answers: list[str]
    impossible: bool
    plausible: list[str] = field(default_factory=list)


@dataclass
class Article:
    title: str
    paragraphs: list[str]
    questions: list[Question]

    @property
    def name(self) -> str:
        return self.title.replace("_", " ")

    @property
    def filename(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", self.title).encode("ascii", "ignore")
                      .decode().lower()).strip("-")
        return f"{slug or 'article'}.txt"

    def text(self) -> str:
        return self.name + "\n\n" + "\n\n".join(p.strip() for p in self.paragraphs) + "\n"


def load_squad(path: Path = SHARED_SQUAD) -> list[Article]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for a in data["data"]:
        paragraphs, questions = [], []
        for i, p in enumerate(a["paragraphs"]):
            paragraphs.append(p["context"])
            for q in p["qas"]:
                questions.append(Question(
                    qid=q["id"], article=a["title"], paragraph=i, question=q["question"],
                    answers=list(dict.fromkeys(x["text"] for x in q.get("answers", []))),
                    impossible=bool(q.get("is_impossible")),
                    plausible=list(dict.fromkeys(x["text"] for x in q.get("plausible_answers", [])))))
        out.append(Article(a["title"], paragraphs, questions))
    return out


def fold_of(article: str) -> str | None:
    return next((f for f, names in FOLDS.items() if article in names), None)


def _norm(text: str) -> str:
    return " ".join(text.split())


def paragraph_spans(engine, article: Article) -> list[tuple[int, int] | None]:  # noqa: ANN001 - an Engine
    """Where each paragraph sits in the indexed (cleaned) text, None where cleaning changed it."""
    doc_id = doc_id_of(engine, article)
    doc = engine.document(doc_id) if doc_id else None
    if doc is None:
        return [None] * len(article.paragraphs)
    text = doc.text
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for p in article.paragraphs:
        head = _norm(p)[:80]
        i = text.find(head[:40], pos)
        if i < 0:
            i = text.find(head[:40])
        if i < 0:
            spans.append(None)
            continue
        spans.append((i, i + len(p.strip())))
        pos = i + 1
    return spans


def doc_id_of(engine, article: Article) -> str | None:  # noqa: ANN001 - an Engine
    """The indexed document of `article` (ids are paths as the index stores them)."""
    for s in engine.sources():
        if Path(s.doc_id).name == article.filename:
            return s.doc_id
    return None


def squad_engine(articles: list[Article], settings_changes: dict | None = None, embedder=None,  # noqa: ANN001, ANN201
                 cache: Path | None = None):
    """An engine over the articles, its index built once and cached (under `cache`, default
    ~/.cache/assistant-bench); and each article's paragraph spans."""
    from assistant.config import load_settings
    from assistant.engine import Engine

    key = hashlib.sha256("".join(a.text() for a in articles).encode()).hexdigest()[:12]
    root = (cache or CACHE) / f"squad-{key}"
    docs = root / "docs"
    if not docs.is_dir():
        docs.mkdir(parents=True)
        for a in articles:
            (docs / a.filename).write_text(a.text(), encoding="utf-8")
    settings = load_settings(cwd=root, env={}, index_dir=root / "index", state_dir=root / "state")
    if settings_changes:
        settings = settings.replace(**settings_changes)
    engine = Engine(settings, embedder=embedder)
    if engine.open().documents < len(articles):
        print(f"indexing {len(articles)} articles into {root / 'index'}", file=sys.stderr)
        engine.index([docs])
    spans = {a.title: paragraph_spans(engine, a) for a in articles}
    return engine, spans


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, articles or extra spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: list[str]) -> bool:
    t = normalize_answer(text)
    return any(normalize_answer(a) and normalize_answer(a) in t for a in answers)
