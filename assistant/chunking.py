"""Sentence-aware chunks whose offsets point exactly into the cleaned text.

`doc.text[chunk.start:chunk.end] == chunk.text` always holds, so a citation can be
checked against the article character by character.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import sentencex

from assistant.records import Chunk, Document

# Below this fill ratio a chunk keeps going across a paragraph break.
PARAGRAPH_BREAK_FILL = 0.6


def sentence_spans(text: str, lang: str = "en") -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; overlong ones split at spaces."""
    return list(_sentence_spans_cached(text, lang))


@lru_cache(maxsize=4096)
def _sentence_spans_cached(text: str, lang: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    if not text.strip():
        return ()
    try:
        bounds = sentencex.get_sentence_boundaries(lang, text)
    except Exception:  # the segmenter must never take the indexer down with it
        bounds = [{"start_index": 0, "end_index": len(text), "is_paragraph_break": False}]
    for b in bounds:
        if b.get("is_paragraph_break"):
            continue
        s, e = int(b["start_index"]), int(b["end_index"])
        # sentencex may put several paragraphs in one "sentence" when punctuation is missing
        for bs, be in _split_on_blank_lines(text, s, e):
            for ps, pe in _split_after_headings(text, bs, be):
                while ps < pe and text[ps].isspace():
                    ps += 1
                while pe > ps and text[pe - 1].isspace():
                    pe -= 1
                if pe > ps:
                    spans.append((ps, pe))
    return tuple(spans)


HEADING_MAX_WORDS = 10
_TERMINAL = ".!?:;,\"'”’)…"


def _split_after_headings(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut after a heading line that runs into the next sentence ("The glob files\nThe globs2 file is ...").

    PDF text (pypdf) puts a section heading on its own line with no full stop, and the sentence
    segmenter joins it to the following sentence. A heading here is a short line (at most
    `HEADING_MAX_WORDS` words, clearly shorter than the line after it) without closing
    punctuation, that opens the span or follows a line ending a sentence, and is followed by a line
    starting with a capital, a digit or a bullet.
    """
    lines: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        lines.append((pos, stop))
        pos = stop + 1
    if len(lines) < 2:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    cut = start
    for k in range(len(lines) - 1):
        ls, le = lines[k]
        line, after = text[ls:le].strip(), text[lines[k + 1][0]:lines[k + 1][1]].strip()
        before_ok = k == 0 or text[lines[k - 1][0]:lines[k - 1][1]].rstrip()[-1:] in ".!?:"
        if (line and after and before_ok and line[-1] not in _TERMINAL and len(line.split()) <= HEADING_MAX_WORDS
                and len(line) < 0.7 * len(after) and (after[0].isupper() or after[0].isdigit() or after[0] in "•-–*")):
            out.append((cut, le))
            cut = lines[k + 1][0]
    out.append((cut, end))
    return out


def _split_on_blank_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    while True:
        i = text.find("\n\n", pos, end)
        if i < 0:
            out.append((pos, end))
            return out
        out.append((pos, i))
        pos = i + 2


def _limit(spans: list[tuple[int, int]], text: str, size: int) -> list[tuple[int, int]]:
    """Split any sentence longer than `size` at whitespace (or hard, when there is none)."""
    out = []
    for s, e in spans:
        while e - s > size:
            cut = text.rfind(" ", s + size // 2, s + size)
            if cut <= s:
                cut = s + size
            out.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            out.append((s, e))
    return out


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    return hashlib.sha256(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()[:24]


def chunk_document(doc: Document, size: int = 900, overlap: int = 150) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` characters, repeating up to
    `overlap` characters of trailing sentences at the start of the next chunk."""
    if size < 50:
        raise ValueError("chunk_size must be at least 50 characters")
    overlap = max(0, min(overlap, size // 2))
    text = doc.text
    spans = _limit(sentence_spans(text), text, size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        first = i
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[first][0] <= size:
            fill = (spans[j][1] - spans[first][0]) / size
            if fill >= PARAGRAPH_BREAK_FILL and "\n\n" in text[spans[j][1]:spans[j + 1][0]]:
                break
            j += 1
        start, end = spans[first][0], spans[j][1]
        body = text[start:end]
        chunks.append(Chunk(
            chunk_id=chunk_id(doc.doc_id, start, end, body), doc_id=doc.doc_id, ordinal=len(chunks),
            start=start, end=end, text=body, title=doc.title, authors=list(doc.authors),
            published=doc.published, source=doc.source, page=doc.page_at(start), content_hash=doc.content_hash,
        ))
        if j + 1 >= len(spans):
            break
        # step back over trailing sentences that fit in the overlap, but always move forward
        nxt = j + 1
        while nxt - 1 > first and spans[j][1] - spans[nxt - 1][0] <= overlap:
            nxt -= 1
        i = nxt
    return chunks


def embedding_text(chunk: Chunk) -> str:
    """What the embedder sees: the title gives context without entering the cited text."""
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text
