"""The hybrid retriever as a LangChain `BaseRetriever`, for users' own chains."""

from __future__ import annotations

from typing import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from assistant.records import Passage


def passage_to_langchain(p: Passage) -> LCDocument:
    c = p.chunk
    return LCDocument(page_content=c.text, id=c.chunk_id, metadata={
        "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "authors": list(c.authors),
        "published": c.published, "source": c.source, "start": c.start, "end": c.end, "page": c.page,
        "score": p.score})


class AssistantRetriever(BaseRetriever):
    """LangChain view of the hybrid retriever, for users' own chains.

    `retrieve` is any callable (question, k) -> list[Passage], e.g. `Engine.retrieve`.
    """

    retrieve: Callable[..., list[Passage]]
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [passage_to_langchain(p) for p in self.retrieve(query, self.k)]
