"""Questions about the articles themselves, answered from the index's metadata.

"Who wrote it?", "When was the article about X published?", "Which articles are about X?",
"What has <author> written about Y?", "articles since <date>": the answer comes from what the
indexer read (title, authors, date), and its citation points into the article's cleaned text
with exact offsets, like every citation. The quote is the byline or date line as it stands in the
cleaned text (the cleaner keeps header lines there); when the value came from outside the text
(HTML meta tags, PDF properties) the citation quotes the title line (or, without one, the opening
sentence) and the answer says where the value came from.

Author and date constraints of an ordinary question ("What did Bartlett write about
Venezuela?") become retrieval filters (`question_filters`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from assistant.answer.citations import citation_for, content_terms
from assistant.chunking import sentence_spans
from assistant.conversation import conversation_docs, topic_terms
from assistant.ingest.metadata import is_header_line, parse_byline, parse_date
from assistant.lexical import fold_accents
from assistant.records import Answer, Chunk, Citation, Passage, SourceInfo, Turn
from assistant.retrieval import Filters

ANSWERER = "metadata"
LIST_LIMIT = 10  # articles named in one listing
HEADER_CHARS = 1500  # how far into the cleaned text a byline or date line is looked for
MIN_TOPIC_SIMILARITY = 0.45  # a listed article's best passage, when it shares no topic word
TARGET_CANDIDATES = 5  # passages "the article about X" is chosen from
TITLE_WEIGHT = 0.5  # added to a passage's fused score when its title names every topic word

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = (rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
         rf"|\d{{1,2}}\s+(?:{_MONTH_RE})\.?,?\s+\d{{4}}|(?:{_MONTH_RE})\.?,?\s+\d{{4}}|\d{{4}})")
_ARTICLE_WORDS = r"(?:articles?|stories|story|pieces?|reports?|analys[ie]s|commentar(?:y|ies)|texts?|documents?|sources?)"
_DATE_PHRASE = re.compile(
    rf"\b(?:{_ARTICLE_WORDS}|published|written|posted|dated)\b[^?]*?"
    rf"\b(?P<op>since|after|before|until|till|from|in|on|during)\s+(?P<date>{_DATE})\b", re.I)
_WHO = re.compile(r"\b(?:who\s+(?:wrote|authored|penned|writes|has written|had written|is|was|are|were)\b"
                  r"(?:\s+the\s+(?:authors?|writers?)\b)?|whose\s+" + _ARTICLE_WORDS + r"|by\s+whom|"
                  r"(?:name|names)\s+of\s+the\s+(?:authors?|writers?)|who'?s\s+the\s+(?:authors?|writers?)|"
                  r"(?:the\s+)?(?:authors?|writers?|byline)\s+of)\b", re.I)
_WHO_AUTHOR = re.compile(r"\b(?:wrote|authored|penned|writes|written|authors?|writers?|byline)\b", re.I)
_WHEN = re.compile(r"\b(?:when|what\s+(?:date|day|year|month)|how\s+old|how\s+recent|date\s+of|publication\s+date)\b", re.I)
_WHEN_PUBLISHED = re.compile(r"\b(?:published|written|wrote|posted|dated|released|come\s+out|came\s+out|"
                             r"publication|date\s+of)\b", re.I)
_LIST = re.compile(rf"\b(?:(?:which|what|any|list|show|find|all)\s+(?:(?:the|other|of\s+the|indexed)\s+)*{_ARTICLE_WORDS}|"
                   rf"{_ARTICLE_WORDS}\s+(?:are\s+there|do\s+you\s+have|have\s+you\s+got|mention|about|on|by|since|after|before|from)|"
                   rf"(?:what|which)\s+(?:has|have|did)\s+.+?\s+(?:written|published|write|publish)\b)", re.I)
_TOPIC = re.compile(r"\b(?:about|on|regarding|concerning|covering|mentioning|mention|discuss(?:ing)?)\s+(?P<topic>[^?]+)", re.I)
_IT = re.compile(r"\b(?:it|this|that|these|those|they|them|(?:the|this|that)\s+(?:same\s+)?" + _ARTICLE_WORDS + r")\b", re.I)
_WROTE_VERB = re.compile(r"\b(?:wrote|write|writes|written|authored|published|publish)\b", re.I)


@dataclass
class Library:
    """What the metadata answers read: the engine's sources, a document's chunks, retrieval."""

    sources: Callable[[], list[SourceInfo]]
    chunks: Callable[[str], list[Chunk]]  # a document's chunks in text order
    retrieve: Callable[[str, int, Filters | None], list[Passage]]


# --- constraints in a question -----------------------------------------------------------------

def _date_bounds(text: str) -> tuple[str, str] | None:
    """(first day, last day) a date phrase covers: "2024", "March 2024", "March 3, 2024"."""
    text = text.strip().rstrip(".,")
    exact = parse_date(text)
    if exact:
        return exact, exact
    m = re.fullmatch(rf"(?P<month>{_MONTH_RE})\.?,?\s+(?P<year>\d{{4}})", text, re.I)
    if m:
        year, month = int(m.group("year")), _MONTHS[m.group("month").lower()]
        last = calendar.monthrange(year, month)[1]
        return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}"
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-01-01", f"{text}-12-31"
    return None


def date_filter(question: str) -> Filters | None:
    """Publication-date bounds a question puts on the articles ("articles since March 2024")."""
    since = until = None
    for m in _DATE_PHRASE.finditer(question):
        bounds = _date_bounds(m.group("date"))
        if not bounds:
            continue
        op = m.group("op").lower()
        first, last = bounds
        if op in ("since", "from"):
            since = first
        elif op == "after":
            since = _next_day(last)
        elif op in ("before",):
            until = _previous_day(first)
        elif op in ("until", "till"):
            until = last
        else:  # in, on, during
            since, until = first, last
    return Filters(since=since, until=until) if since or until else None


def _next_day(iso: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(iso) + timedelta(days=1)).isoformat()


def _previous_day(iso: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()


@dataclass
class AuthorIndex:
    """Indexed authors by full name and by surname (lower case), so finding the author a question
    names costs a few dictionary look-ups, not a pass over every article."""

    forms: dict[str, str]  # "bartlett" / "jason bartlett" -> "Jason Bartlett"
    longest: int = 1  # words in the longest form

    @staticmethod
    def of(authors: Iterable[str]) -> "AuthorIndex":
        forms: dict[str, str] = {}
        for author in authors:
            parts = [p for p in author.split() if p and not p.endswith(".")]
            for form in dict.fromkeys([author] + ([parts[-1]] if parts else [])):
                if len(form) >= 3:
                    forms.setdefault(_name_key(form), author)
        return AuthorIndex(forms, max((len(f.split()) for f in forms), default=1))

    def find(self, question: str) -> str | None:
        """The author the question names (the longest matching form); names must be capitalised,
        accents may be left out ("Helene" names "Hélène")."""
        words = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w’'.-]+", question)]
        best: tuple[int, str] | None = None
        for n in range(min(self.longest, len(words)), 0, -1):
            for i in range(len(words) - n + 1):
                gram = words[i:i + n]
                if not gram[0][:1].isupper():
                    continue
                author = self.forms.get(_name_key(" ".join(gram).strip(".")))
                if author and (best is None or n > best[0]):
                    best = (n, author)
            if best:
                return best[1]
        return None


def _name_key(name: str) -> str:
    """A name as typed in any of its spellings: no case, accents or hyphens ("Olvera Brandt" is
    "Olvera-Brandt")."""
    return " ".join(fold_accents(name.lower()).replace("-", " ").split())


def _surname_pattern(author: str) -> str:
    """A regex for the author's surname in an accent-folded question, with or without its hyphens."""
    return re.escape(fold_accents(author.split()[-1])).replace(r"\-", r"[-\s]")


def _without_author(text: str, author: str) -> str:
    """The text without the words of the author's name, however it spells them ("Helene",
    "Moreau-Dubois's")."""
    words = author.split() + re.split(r"[\s-]+", author)
    parts = {_name_key(p) for p in words if len(p.strip(".")) > 1}

    def drop(m: re.Match[str]) -> str:
        return " " if _name_key(re.sub(r"['’]s$", "", m.group(0))) in parts else m.group(0)

    return re.sub(r"[\w][\w’'.-]*[\w]|\w", drop, text)


def question_filters(question: str, authors: AuthorIndex) -> Filters | None:
    """Author and date constraints that restrict retrieval: "What did Bartlett write about
    Venezuela?" searches Bartlett's articles only. An author counts when the question says so
    (wrote, written, "by X", "X's article"), not when a name merely appears."""
    author = authors.find(question)
    if author:
        surname, plain = _surname_pattern(author), fold_accents(question)
        said = (_WROTE_VERB.search(question) or re.search(rf"\bby\s+(?:[\w'’.-]+\s+){{0,3}}?{surname}\b", plain)
                or re.search(rf"{surname}['’]s\s+{_ARTICLE_WORDS}", plain, re.I))
        if not said:
            author = None
    dates = date_filter(question)
    if not author and not dates:
        return None
    return Filters(author=author, since=dates.since if dates else None, until=dates.until if dates else None)


def strip_constraints(question: str, found: Filters | None) -> str:
    """The question without the author and date constraints that became filters ("What did
    Bartlett write about Venezuela?" -> "What about Venezuela?"): the filter does their job, and
    their words would only pull retrieval and the answer check toward bylines no body text holds."""
    if found is None:
        return question
    text = question
    if found.author:
        surname = _surname_pattern(found.author)
        possessive = re.search(rf"{surname}['’]s\s+(?:(?:new|latest|last|recent|first)\s+)?{_ARTICLE_WORDS}\b",
                               fold_accents(text), re.I)
        if possessive and len(fold_accents(text)) == len(text):  # "What did Jin's article say" -> "What did say"
            text = text[:possessive.start()] + " " + text[possessive.end():]
        text = _without_author(text, found.author)
        text = re.sub(r"\b(?:did|does|do|has|have|had)?\s*\b(?:write|wrote|written|writes|publish|published|say|said)\b",
                      " ", text, flags=re.I)
        text = re.sub(r"\bby\s+(?=[?.!,]|$)", " ", text)
    if found.since or found.until:
        text = _DATE_PHRASE.sub(lambda m: m.group(0)[: m.start("op") - m.start()], text)
    text = " ".join(text.split()).replace(" ?", "?")
    return text if topic_terms(text) else question


def merge_filters(given: Filters | None, found: Filters | None) -> Filters | None:
    """The caller's filters win; the question's fill in what they leave open."""
    if found is None:
        return given
    if given is None:
        return found
    return Filters(doc_ids=given.doc_ids, author=given.author or found.author, since=given.since or found.since,
                   until=given.until or found.until)


# --- what kind of question ---------------------------------------------------------------------

def _title_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold_accents(text.lower())))


def titled(question: str, titles: Iterable[str]) -> str | None:
    """The indexed title the question quotes whole ("Who wrote Libraries lend more e-books than
    ever?"), if any: a title of two words or more, matched without case, accents or punctuation."""
    q = f" {_title_key(question)} "
    best = None
    for title in titles:
        key = _title_key(title)
        if len(key.split()) >= 2 and f" {key} " in q and (best is None or len(key) > len(_title_key(best))):
            best = title
    return best


def kind_of(question: str, titles: Iterable[str] = ()) -> str | None:
    """"author", "date", "list" or None (an ordinary question about the content). `titles` are the
    indexed articles' titles: a question that quotes one is about that article."""
    q = question.strip()
    names_title = titled(q, titles) is not None
    who = _WHO.search(q)
    if who and _WHO_AUTHOR.search(q):
        rest = re.sub(r"^(?:of\s+)?(?:the\s+|a\s+)?", "", q[who.end():].strip(" ?.!"), flags=re.I)
        if (not rest or _IT.match(rest) or re.match(rf"(?:{_ARTICLE_WORDS})\b", rest, re.I) or _TOPIC.match(rest)
                or re.search(rf"\b{_ARTICLE_WORDS}$", rest, re.I) or names_title):  # "the sorghum article"
            return "author"
    if _WHEN.search(q) and _WHEN_PUBLISHED.search(q) and (_IT.search(q) or re.search(_ARTICLE_WORDS, q, re.I)
                                                          or names_title):
        return "date"
    if re.match(r"\s*what\s+(?:did|does|do)\s+.+?\s+(?:write|publish|say)\b", q, re.I) and _TOPIC.search(q):
        return None  # "What did Bartlett write about Venezuela?": the content, from Bartlett's articles
    if _LIST.search(q):
        return "list"
    if re.match(rf"^\s*(?:{_ARTICLE_WORDS}|anything)\b.*\b(?:since|after|before|until|from|in)\s+{_DATE}", q, re.I):
        return "list"
    return None


def _topic_of(question: str, author: str | None) -> str:
    """The subject words of a metadata question ("the article about sorghum" -> "sorghum")."""
    m = _TOPIC.search(question)
    text = m.group("topic") if m else ""
    if not m:
        # "Who wrote the sorghum article?": whatever topic words remain
        text = re.sub(_WHO.pattern, " ", question, flags=re.I)
        text = re.sub(_IT.pattern, " ", text, flags=re.I)
    text = _DATE_PHRASE.sub(" ", text)
    text = re.sub(rf"\b(?:since|after|before|until|from|in|on)\s+{_DATE}\b", " ", text, flags=re.I)
    if author:
        text = _without_author(text, author)
    text = re.sub(rf"\b{_ARTICLE_WORDS}\b", " ", text, flags=re.I)
    text = re.sub(r"\b(?:was|were|is|are|been|be|first|originally|published|written|wrote|posted|dated|released|"
                  r"come\s+out|came\s+out|by\s+whom)\b", " ", text, flags=re.I)
    return " ".join(text.split()).strip(" ?.!,")


# --- citations into the cleaned text -----------------------------------------------------------

def _chunk_at(chunks: Sequence[Chunk], start: int, end: int) -> Chunk | None:
    for ch in chunks:
        if ch.start <= start and end <= ch.end:
            return ch
    return None


def _top_lines(chunks: Sequence[Chunk]) -> Iterable[tuple[Chunk, int, int, str]]:
    """The non-blank lines near the top of an article: (chunk, start, end, text) in document offsets."""
    for ch in chunks:
        if ch.start >= HEADER_CHARS:
            break
        pos = 0
        for line in ch.text.split("\n"):
            start = ch.start + pos
            pos += len(line) + 1
            stripped = line.strip()
            if stripped:
                s = start + line.index(stripped[0])
                yield ch, s, s + len(stripped), stripped


def header_line(chunks: Sequence[Chunk], want: str, source: SourceInfo) -> tuple[Chunk, int, int] | None:
    """The byline ("author") or date line ("date") as it stands in the cleaned text, if it is there."""
    for ch, s, e, text in _top_lines(chunks):
        by = parse_byline(text)
        if want == "author":
            if by and source.authors and {a.lower() for a in by[0]} & {a.lower() for a in source.authors}:
                return ch, s, e
        elif parse_date(text) == source.published or (by and by[1] and by[1] == source.published):
            if source.published:
                return ch, s, e
    return None


def title_line(chunks: Sequence[Chunk], title: str) -> tuple[Chunk, int, int] | None:
    """The article's title line as it stands in the cleaned text, if it is there."""
    for ch, s, e, text in _top_lines(chunks):
        if title and is_header_line(text, title) and not parse_date(text) and not parse_byline(text):
            return ch, s, e
    return None


def opening_sentence(chunks: Sequence[Chunk]) -> tuple[Chunk, int, int] | None:
    for ch in chunks:
        for s, e in sentence_spans(ch.text):
            return ch, ch.start + s, ch.start + e
    return None


def best_sentence(passage: Passage, topic: str) -> tuple[int, int]:
    """The sentence of `passage` that shares the most topic words (document offsets)."""
    ch = passage.chunk
    terms = set(content_terms(topic))
    best = (ch.start, ch.end, -1)
    for s, e in sentence_spans(ch.text):
        score = len(terms & set(content_terms(ch.text[s:e])))
        if score > best[2]:
            best = (ch.start + s, ch.start + e, score)
    return best[0], best[1]


def _where_from(fmt: str, what: str) -> str:
    """Where a value that is not in the article's text came from (header lines stay in the text)."""
    if fmt == "html":
        return "the page's HTML meta tags, not its text"
    if fmt == "pdf":
        return "the PDF's document properties, not its text"
    return f"the article's front matter, not a {what} line of its text"


def _names(authors: Sequence[str]) -> str:
    authors = list(authors)
    return authors[0] if len(authors) == 1 else ", ".join(authors[:-1]) + " and " + authors[-1]


# --- answering ---------------------------------------------------------------------------------

@dataclass
class _Target:
    source: SourceInfo
    passage: Passage | None = None  # the passage that picked it (a topic search), if any


def _resolve_target(question: str, history: Sequence[Turn], library: Library, sources: list[SourceInfo],
                    filters: Filters | None, author: str | None) -> _Target | None | str:
    """The one article a "who wrote / when was" question is about; a message when it is unclear."""
    by_id = {s.doc_id: s for s in sources}
    title = titled(question, (s.title for s in sources))
    if title:
        named = [s for s in sources if s.title == title and (not filters or not filters.active()
                                                             or s.doc_id in filters.allowed({s.doc_id: _Entry(s)}))]
        if len(named) == 1:
            return _Target(named[0])
    topic = _topic_of(question, author)
    terms = set(topic_terms(topic))
    if terms:
        # "the article about X": the best passage, with a say for the titles that name X
        best: tuple[float, Passage] | None = None
        for p in library.retrieve(topic, TARGET_CANDIDATES, filters):
            if p.chunk.doc_id not in by_id:
                continue
            in_title = len(terms & set(content_terms(p.chunk.title))) / len(terms)
            score = p.score + TITLE_WEIGHT * in_title
            if best is None or score > best[0]:
                best = (score, p)
        if best:
            return _Target(by_id[best[1].chunk.doc_id], best[1])
        return "No indexed article matches that description."
    docs = conversation_docs(history)
    if docs:
        doc_id = max(docs, key=lambda d: docs[d])
        if doc_id in by_id:
            return _Target(by_id[doc_id])
    if author:
        mine = [s for s in sources if author in s.authors]
        if len(mine) == 1:
            return _Target(mine[0])
    if len(sources) == 1:
        return _Target(sources[0])
    return ("Which article do you mean? Ask about one by its subject, e.g. “Who wrote the article about …?”, "
            "or ask a question about it first.")


def _metadata_answer(question: str, kind: str, target: _Target, library: Library) -> Answer:
    src = target.source
    chunks = library.chunks(src.doc_id)
    value_known = bool(src.authors) if kind == "author" else bool(src.published)
    found = header_line(chunks, kind, src) if value_known else None
    note = ""
    if found is None:  # the value is not in the text (HTML meta, PDF properties): cite the title line
        found = title_line(chunks, src.title) or opening_sentence(chunks)
        if value_known:
            note = f" (from {_where_from(src.format, 'byline' if kind == 'author' else 'date')})"
    if found is None:
        return Answer(question=question, answer="That article has no text left in the index.", answerer=ANSWERER,
                      answered=False)
    chunk, start, end = found
    passage = Passage(chunk=chunk, score=1.0)
    citation = citation_for(1, passage, start, end, 1.0)
    title = f"“{src.title}”" if src.title else src.doc_id
    if kind == "author":
        text = (f"{title} was written by {_names(src.authors)}{note} [1]." if src.authors
                else f"{title} does not name its author [1].")
    else:
        text = (f"{title} was published on {src.published}{note} [1]." if src.published
                else f"{title} carries no publication date [1].")
    return Answer(question=question, answer=text, citations=[citation], answerer=ANSWERER, answered=True,
                  passages=[passage])


def _list_answer(question: str, library: Library, sources: list[SourceInfo], filters: Filters | None,
                 author: str | None) -> Answer:
    topic = _topic_of(question, author)
    allowed = {s.doc_id for s in sources}
    if filters and filters.active():
        allowed &= set(filters.allowed({s.doc_id: _Entry(s) for s in sources}))  # type: ignore[arg-type]
    picked: list[tuple[SourceInfo, Passage, int, int]] = []
    by_id = {s.doc_id: s for s in sources}
    if topic_terms(topic):
        terms = set(topic_terms(topic))
        seen: set[str] = set()
        for p in library.retrieve(topic, max(LIST_LIMIT * 3, 10), filters):
            d = p.chunk.doc_id
            if d in seen or d not in allowed:
                continue
            shares = terms & set(content_terms(p.chunk.text))
            if not shares and (p.similarity or 0.0) < MIN_TOPIC_SIMILARITY:
                continue
            seen.add(d)
            s, e = best_sentence(p, topic)
            picked.append((by_id[d], p, s, e))
    else:
        for src in sorted((by_id[d] for d in allowed), key=lambda s: (s.published or "", s.title), reverse=True):
            first = opening_sentence(library.chunks(src.doc_id))
            if first:
                ch, s, e = first
                picked.append((src, Passage(chunk=ch, score=1.0), s, e))
    what = "about " + topic if topic_terms(topic) else ""
    by = f"by {author}" if author else ""
    when = _describe_dates(filters)
    scope = " ".join(x for x in (what, by, when) if x)
    if not picked:
        return Answer(question=question, answer=f"No indexed article{(' ' + scope) if scope else ''}.",
                      answerer=ANSWERER, answered=False)
    shown = picked[:LIST_LIMIT]
    citations: list[Citation] = []
    parts = []
    for n, (src, p, s, e) in enumerate(shown, start=1):
        citations.append(citation_for(n, p, s, e, round(p.score, 4)))
        meta = ", ".join(x for x in (_names(src.authors) if src.authors else "", src.published or "") if x)
        parts.append(f"“{src.title}”" + (f" ({meta})" if meta else "") + f" [{n}]")
    head = f"{len(picked)} article{'s' * (len(picked) != 1)}{(' ' + scope) if scope else ''}"
    more = f"; the first {LIST_LIMIT} are" if len(picked) > LIST_LIMIT else ""
    text = f"{head}{more}: " + "; ".join(parts) + "."
    return Answer(question=question, answer=text, citations=citations, answerer=ANSWERER, answered=True,
                  passages=[p for _, p, _, _ in shown])


@dataclass
class _Entry:
    """The fields `Filters.allowed` reads, from a SourceInfo."""

    source_info: SourceInfo

    @property
    def source(self) -> str:
        return self.source_info.source

    @property
    def authors(self) -> list[str]:
        return self.source_info.authors

    @property
    def published(self) -> str | None:
        return self.source_info.published


def _describe_dates(filters: Filters | None) -> str:
    if not filters or not (filters.since or filters.until):
        return ""
    if filters.since and filters.until:
        return f"published {filters.since} to {filters.until}"
    return f"published since {filters.since}" if filters.since else f"published until {filters.until}"


def answer_about(question: str, history: Sequence[Turn], library: Library,
                 filters: Filters | None = None) -> Answer | None:
    """The metadata answer to a question about the articles themselves; None for any other question."""
    sources = library.sources()
    if not sources:
        return None
    kind = kind_of(question, (s.title for s in sources))
    if kind is None:
        return None
    author = AuthorIndex.of(a for s in sources for a in s.authors).find(question)
    found = question_filters(question, AuthorIndex.of(a for s in sources for a in s.authors))
    filters = merge_filters(filters, found)
    if kind == "list":
        return _list_answer(question, library, sources, filters, author if found and found.author else None)
    target = _resolve_target(question, history, library, sources, filters, author)
    if target is None or isinstance(target, str):
        return Answer(question=question, answer=target or "No indexed article matches that description.",
                      answerer=ANSWERER, answered=False)
    return _metadata_answer(question, kind, target, library)
