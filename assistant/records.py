"""The records that flow between steps, and their JSON shapes (the public contract)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Document:
    """A cleaned article. `text` is the cleaned body every chunk offset points into."""

    doc_id: str
    source: str
    text: str
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date
    format: str = "txt"
    content_hash: str = ""
    pages: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, page) for PDFs

    def page_at(self, offset: int) -> int | None:
        for start, end, page in self.pages:
            if start <= offset < end:
                return page
        return None

    def meta(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "authors": list(self.authors),
            "published": self.published,
            "source": self.source,
            "format": self.format,
            "content_hash": self.content_hash,
        }


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    source: str = ""
    page: int | None = None
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A retrieved chunk with how it was found."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    similarity: float | None = None  # cosine to the question, when the dense retriever saw it

    def to_dict(self) -> dict[str, Any]:
        return {**self.chunk.to_dict(), "score": round(self.score, 6),
                "dense_rank": self.dense_rank, "lexical_rank": self.lexical_rank}


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    authors: list[str]
    published: str | None
    source: str
    chunk_id: str
    start: int  # offsets into the document's cleaned text
    end: int
    quote: str
    score: float
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 4)
        if d["page"] is None:
            d.pop("page")
        return d


@dataclass
class Answer:
    question: str
    answer: str
    citations: list[Citation] = field(default_factory=list)
    answerer: str = "extractive"
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    answered: bool = True  # False when the articles do not answer the question
    passages: list[Passage] = field(default_factory=list)  # what was retrieved (not in JSON)
    standalone_question: str | None = None  # what was searched for (a follow-up resolved); None: the question
    dropped: list[dict[str, str]] = field(default_factory=list)  # {"claim", "reason"}: claims the check removed
    confidence: float | None = None  # the decision's estimate that the evidence answers the question
    filters: dict[str, str] = field(default_factory=dict)  # what the question became: author, since, until

    def searched_for(self) -> str | None:
        """What to show as "searched for: …": the resolved question when it differs from the one typed,
        and the filters the question became ("in articles by Jason Bartlett"); None when neither."""
        parts = []
        standalone = self.standalone_question
        if standalone and " ".join(standalone.lower().split()) != " ".join(self.question.lower().split()):
            parts.append(standalone)
        scope = []
        if self.filters.get("author"):
            scope.append(f"by {self.filters['author']}")
        if self.filters.get("since") and self.filters.get("until"):
            scope.append(f"published {self.filters['since']} to {self.filters['until']}")
        elif self.filters.get("since"):
            scope.append(f"published from {self.filters['since']}")
        elif self.filters.get("until"):
            scope.append(f"published until {self.filters['until']}")
        if scope:
            parts.append("in articles " + ", ".join(scope))
        return " — ".join(parts) or None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "answerer": self.answerer,
            "answered": self.answered,
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }
        if self.confidence is not None:
            d["confidence"] = round(self.confidence, 3)
        if self.filters:
            d["filters"] = dict(self.filters)
        if self.warnings:
            d["warnings"] = list(self.warnings)
        if self.dropped:
            d["dropped"] = [dict(x) for x in self.dropped]
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Answer":
        """The inverse of `to_dict` (batch resumes and stored conversations read records back)."""
        cites = [Citation(**{**c, "page": c.get("page")}) for c in d.get("citations", [])]
        return Answer(question=d.get("question", ""), answer=d.get("answer", ""), citations=cites,
                      answerer=d.get("answerer", "extractive"), timings=dict(d.get("timings", {})),
                      warnings=list(d.get("warnings", [])), answered=bool(d.get("answered", True)),
                      standalone_question=d.get("standalone_question"), dropped=list(d.get("dropped", [])),
                      confidence=d.get("confidence"), filters=dict(d.get("filters", {})))


@dataclass
class Turn:
    """One earlier exchange of a conversation: what a follow-up is resolved against."""

    question: str
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    standalone_question: str | None = None
    answered: bool = True

    @staticmethod
    def of(answer: "Answer") -> "Turn":
        return Turn(answer.question, answer.answer, list(answer.citations), answer.standalone_question, answer.answered)


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    moved: int = 0
    chunks: int = 0  # chunks in the index after the run
    embedded: int = 0  # chunks embedded in this run
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def indexed_anything(self) -> bool:
        return bool(self.added or self.updated or self.unchanged or self.removed or self.moved)


@dataclass
class SourceInfo:
    doc_id: str
    title: str
    authors: list[str]
    published: str | None
    source: str
    chunks: int
    format: str = "txt"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
