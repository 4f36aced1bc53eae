"""The check every answer passes before a user sees it.

A claim keeps a citation only if the number refers to a retrieved passage, the quoted
text is exactly what that passage says at the recorded offsets, and the claim is
supported by the quote. Whatever fails is dropped and said in a warning; an answer is
never passed on with a citation the check could not confirm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from assistant.chunking import sentence_spans
from assistant.records import Citation, Passage

try:
    import Stemmer

    _stem = Stemmer.Stemmer("english").stemWord
except ImportError:  # pragma: no cover
    _stem = lambda w: w  # noqa: E731

STOPWORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below between both
but by can cannot could couldn't did didn't do does doesn't doing don't down during each few for from further had
hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off on
once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some
such than that that's the their theirs them themselves then there there's these they they'd they'll they're they've
this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when
when's where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're you've
your yours yourself yourselves also said says say tell told according just like many much one two will may might
does did done get got give given make made new way well
""".split())

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning (no stopwords, no 1-letter tokens)."""
    out = []
    for w in _TOKEN.findall(text.lower()):
        w = w.replace("’", "'")
        if w in STOPWORDS or len(w) < 2 and not w.isdigit():
            continue
        out.append(_stem(w))
    return out


def lexical_support(claim: str, quote: str) -> float:
    """Share of the claim's content words that the quote contains."""
    claim_terms = set(content_terms(MARKER.sub("", claim)))
    if not claim_terms:
        return 0.0
    return len(claim_terms & set(content_terms(quote))) / len(claim_terms)


@dataclass
class CheckResult:
    answer: str
    citations: list[Citation]
    warnings: list[str] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)  # {"claim", "reason"}, for Answer.dropped


def _protected(text: str, verbatim: Sequence[str]) -> list[tuple[int, int]]:
    """Where `text` holds one of the `verbatim` strings (our own quotes)."""
    out = []
    for v in verbatim:
        v = v.strip()
        v = v if v in text else v.rstrip(".!?")  # the answerer puts its marker before the full stop
        if len(v) < 2:
            continue
        i = text.find(v)
        while i >= 0:
            out.append((i, i + len(v)))
            i = text.find(v, i + 1)
    return out


# a sentence end that the segmenter misses: closing punctuation (and quote), its marker, a capital
# ("... the West.” [1] And in March ...")
_END_AT_MARKER = re.compile(r"[.!?][\"”’)]?\s*\[\d+(?:\s*[,;]\s*\d+)*\](?=\s+[\"“‘(]?[A-Z])")


def _after_markers(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """The span split after each marker that closes a sentence inside it."""
    out = []
    for m in _END_AT_MARKER.finditer(text, s, e):
        out.append((s, m.end()))
        s = m.end()
    return out + [(s, e)]


def _spans(text: str, verbatim: Sequence[str]) -> list[tuple[int, int]]:
    """Sentence spans, except that a verbatim quote is never cut: line breaks and bullets inside it
    are not sentence ends."""
    spans = [part for s, e in sentence_spans(text) for part in _after_markers(text, s, e)]
    guard = _protected(text, verbatim)
    if not guard:
        return spans
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and any(gs < s < ge and merged[-1][1] > gs for gs, ge in guard):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def split_claims(answer: str, verbatim: Sequence[str] = ()) -> list[str]:
    """Sentences of an answer, each keeping the markers that follow it; each of the `verbatim`
    strings (quotes taken from a passage) stays one claim."""
    text = answer.strip()
    if not text:
        return []
    claims: list[str] = []
    for s, e in _spans(text, verbatim):
        piece = text[s:e].strip()
        # a marker that the segmenter put at the start of the next sentence belongs to this one
        m = re.match(r"^((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)\s*(.*)$", piece, re.S)
        if m and claims:
            claims[-1] += " " + m.group(1).strip()
            piece = m.group(2)
        if piece and claims and not re.search(r"\w", MARKER.sub("", piece)):
            claims[-1] += piece  # stray punctuation after a marker, e.g. "U.S. [1]" + "."
        elif piece:
            claims.append(piece)
    return claims


def markers_of(claim: str) -> list[int]:
    return [int(n) for group in MARKER.findall(claim) for n in re.split(r"\s*[,;]\s*", group) if n]


def strip_markers(claim: str) -> str:
    return re.sub(r"\s+([.!?;:,])", r"\1", MARKER.sub("", claim)).strip()


def quote_is_exact(c: Citation, passages: Sequence[Passage]) -> bool:
    """The quote must be the passage's text at the recorded document offsets."""
    for p in passages:
        ch = p.chunk
        if ch.chunk_id == c.chunk_id and ch.start <= c.start <= c.end <= ch.end:
            return ch.text[c.start - ch.start:c.end - ch.start] == c.quote
    return False


def best_quote(claim: str, passage: Passage, score: Callable[[str, str], float]) -> tuple[int, int, float]:
    """The sentence (document offsets) of `passage` that best supports `claim`."""
    ch = passage.chunk
    best = (ch.start, ch.end, -1.0)
    for s, e in sentence_spans(ch.text):
        val = score(claim, ch.text[s:e])
        if val > best[2]:
            best = (ch.start + s, ch.start + e, val)
    return best


def _label(c: Citation, passages: Sequence[Passage]) -> str:
    """How the user knows the passage: its number among the retrieved passages."""
    for i, p in enumerate(passages, start=1):
        if p.chunk.chunk_id == c.chunk_id:
            return f"passage [{i}]"
    return "the passage"


def _where(reason: str, label: str) -> str:
    return reason.replace("the passage", label, 1) if "the passage" in reason else f"{reason} ({label})"


def check_answer(answer: str, citations: Sequence[Citation], passages: Sequence[Passage],
                 support: Callable[[str, str], float], threshold: float, *,
                 judge: Callable[[str, str, str], Any] | None = None) -> CheckResult:
    """Keep claims whose every marker is known, exact and supporting; renumber what is kept 1..n.

    `judge(claim, quote, passage_text)` returns a verdict with `ok` and `reason` (see
    `support.SupportChecker.judge`); without it, `support(claim, quote) >= threshold` decides.
    A quote copied verbatim from a passage is one claim however many lines it spans.
    """
    by_n = {c.n: c for c in citations}
    chunk_text = {p.chunk.chunk_id: p.chunk.text for p in passages}
    warnings: list[str] = []
    dropped: list[dict[str, str]] = []
    kept_claims: list[tuple[str, list[Citation]]] = []
    for claim in split_claims(answer, [c.quote for c in citations]):
        numbers = markers_of(claim)
        body = strip_markers(claim)
        if not body:
            continue
        if not numbers:
            dropped.append({"claim": body, "reason": "it cites no passage"})
            warnings.append(f"dropped a sentence with no citation: {body[:80]!r}")
            continue
        good: list[Citation] = []
        failed: list[str] = []
        for n in dict.fromkeys(numbers):
            c = by_n.get(n)
            if c is None:
                warnings.append(f"removed citation [{n}]: it refers to no retrieved passage")
                failed.append("its citation refers to no retrieved passage")
                continue
            if not quote_is_exact(c, passages):
                warnings.append(f"removed citation [{n}]: its quote is not the passage's text")
                failed.append("its quote is not the passage's text")
                continue
            if judge is not None:
                verdict = judge(body, c.quote, chunk_text.get(c.chunk_id, ""))
                ok, reason = bool(verdict.ok), str(verdict.reason or "the passage does not support it")
            else:
                ok, reason = support(body, c.quote) >= threshold, "the passage does not support it"
            if not ok:
                failed.append(_where(reason, _label(c, passages)))
                if len(numbers) > 1:
                    warnings.append(f"removed citation [{n}]: {failed[-1]}")
                continue
            good.append(c)
        if not good:
            reason = failed[0] if failed else "the passage does not support it"
            dropped.append({"claim": body, "reason": reason})
            warnings.append(f"dropped: {reason}")
            continue
        kept_claims.append((body, good))
    # renumber in order of first use; one number per distinct quoted span
    numbering: dict[tuple[str, int, int], int] = {}
    final: list[Citation] = []
    parts: list[str] = []
    for body, cites in kept_claims:
        nums = []
        for c in cites:
            key = (c.chunk_id, c.start, c.end)
            if key not in numbering:
                numbering[key] = len(final) + 1
                final.append(Citation(**{**c.__dict__, "n": numbering[key]}))
            nums.append(numbering[key])
        marks = "".join(f"[{n}]" for n in nums)
        if body[-1:] in ".!?":
            parts.append(f"{body[:-1]} {marks}{body[-1]}")
        else:
            parts.append(f"{body} {marks}")
    return CheckResult(answer=" ".join(parts), citations=final, warnings=warnings, dropped=dropped)


def citation_for(n: int, passage: Passage, start: int, end: int, score: float) -> Citation:
    ch = passage.chunk
    return Citation(n=n, doc_id=ch.doc_id, title=ch.title, authors=list(ch.authors), published=ch.published,
                    source=ch.source, chunk_id=ch.chunk_id, start=start, end=end,
                    quote=ch.text[start - ch.start:end - ch.start], score=score, page=ch.page)
