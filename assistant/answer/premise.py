"""A question's premise that the cited passage contradicts.

"Why did the U.S. demand guarantees from Russia?" presupposes that the U.S. demanded them; when
the passage says Russia demanded them of the U.S., quoting it as the answer would confirm a false
premise. A wh-question's clause is read as a claim and compared with the quote's role frames
(`support.py`): only a reversal of who did what to whom, named on both sides, counts, the one
finding that tells "the passage says otherwise" from "the passage says something else" (it flagged
none of 245 answerable SQuAD 2.0 dev wh-questions against their answer sentence). Yes/no questions
presuppose nothing and are left alone.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from assistant.answer.constraints import entity_key, extract, stem, tables
from assistant.answer.support import _frames, _same, _says

Parser = Callable[[str], Any]  # text -> spaCy Doc
# a wh-question with do-support presupposes its clause ("why did X demand Y from Z" -> X demanded Y
# from Z); other auxiliaries ("when was X destroyed") parse too poorly in the small model to rely on
_WH_PREMISE = re.compile(r"^\s*(?:why|how|when|where|for what reason|in what year|how come)\s+"
                         r"(?P<aux>did|does|do)\s+(?P<rest>.+)$", re.I | re.S)
MAX_CLAUSE = 400  # characters of the passage's clause the line repeats; a longer one is cut at a word, with "…"


def presupposes(question: str) -> bool:
    """Whether the question takes a clause for granted (a wh-question with do-support): only those
    are parsed, so other questions never wait for the parser."""
    return _WH_PREMISE.match(question.strip()) is not None


def premise_conflict(question: str, quote: str, parse: Parser) -> str | None:
    """The one line the answer should say when `quote` contradicts what `question` takes for
    granted, else None. `parse` is a spaCy pipeline (or a cached parse function)."""
    m = _WH_PREMISE.match(question.strip())
    if m is None or not quote.strip():
        return None
    quote_doc = parse(quote)
    clause = _declarative(m.group("aux"), m.group("rest"), quote_doc)
    if clause is None:
        return None
    swapped = _swapped(parse(clause), quote_doc)
    if swapped is None:
        return None
    return f"The question has it the other way round: the passage says {_clause_of(quote_doc, swapped)}."


def _swapped(claim_doc: Any, quote_doc: Any) -> str | None:
    """The quote's frame (as "subject verb object") when, for a verb both use, the question's
    named subject is a named object of the quote's and the quote's named subject one of the
    question's: both roles traded, the one reading that contradicts rather than differs."""
    quote_frames = _frames(quote_doc)
    for cf in _frames(claim_doc):
        for qf in quote_frames:
            if cf.verb != qf.verb or not (cf.subj and qf.subj and cf.subj.names and qf.subj.names):
                continue
            if _same(cf.subj, qf.subj):
                continue
            q_rest = [a for a in (qf.obj, *qf.others) if a and a.names]
            c_rest = [a for a in (cf.obj, *cf.others) if a and a.names]
            if any(_same(cf.subj, a) for a in q_rest) and any(_same(qf.subj, a) for a in c_rest):
                return _says(qf)
    return None


def _clause_of(doc: Any, says: str) -> str:
    """The quote's clause around the verb the frames compared, as written."""
    said = set(says.split())
    verb = next((t for t in doc if t.text in said and t.pos_ in ("VERB", "AUX")
                 and any(c.dep_ in ("nsubj", "nsubjpass") for c in t.children)), None)
    if verb is None:
        return says
    text = doc[verb.left_edge.i:verb.right_edge.i + 1].text.rstrip(" .;:,")
    return text if len(text) <= MAX_CLAUSE else text[:MAX_CLAUSE - 1].rsplit(" ", 1)[0] + "…"


def _declarative(aux: str, rest: str, quote_doc: Any) -> str | None:
    """The clause a question presupposes, its verb in the quote's form: "did the U.S. demand
    guarantees" against "Russia demanded ..." -> "the U.S. demanded guarantees." (the small parser
    misreads a bare "demand" as a noun). None when the question shares no verb with the quote."""
    verbs = {stem(t.lemma_): t.text for t in quote_doc if t.pos_ in ("VERB", "AUX") and t.is_alpha}
    words = rest.strip().rstrip("?").split()
    for i, w in enumerate(words):
        form = verbs.get(stem(w.strip(",;:")))
        if form is not None and i > 0:
            words[i] = form
            head = [] if aux.lower() in ("did", "does", "do") else [aux.lower()]
            return " ".join(head + words) + "."
    return None


_DATE_KINDS = ("year", "decade", "month")  # a weekday or a season is too loosely used to contradict


def date_conflict(question: str, evidence: str) -> str | None:
    """The warning to give when the question names a date (a year, a decade, a month) that the
    evidence does not, while the evidence names another of the same kind ("How many drones did Iran
    deliver in August?" answered with a sentence about July): a changed fact, or a different event.
    A warning, not a refusal: on real SQuAD 2.0 questions (3,093, dev and the shared subset) it fires
    on 1%, and 87% of those answers were not right (84% of those the decision answered), well short of
    the 98% a veto needs."""
    asked = [d for d in extract(question).dates if d.kind in _DATE_KINDS]
    if not asked:
        return None
    given = extract(evidence).dates
    said = {(d.kind, d.value) for d in given}
    for d in asked:
        if (d.kind, d.value) in said:
            continue
        other = next((g for g in given if g.kind == d.kind), None)
        if other is not None:
            return f"the question says {d.text}; the passage gives {other.text}: check which is meant"
    return None


# a capitalised word inside the question ("Skarvik", "NATO", "O'Neill"), its possessive dropped
_NAME = re.compile(r"\b[A-Z][A-Za-z'’-]*[A-Za-z]\b")
_NOT_NAMES = frozenset({"i"})


def _calendar_word(word: str) -> bool:
    """A month or weekday ("August", "Tuesday"): capitalised, but a date, which the date check weighs."""
    t = tables()
    return word.lower() in t.months or word.lower() in t.weekdays


def question_names(question: str) -> list[str]:
    """The question's names: its capitalised words after the first (the first is capitalised
    whatever it is), months and weekdays left out, in order, once each."""
    text = question.strip()
    first = re.match(r"\W*\w+", text)
    out: list[str] = []
    for m in _NAME.finditer(text, first.end() if first else 0):
        name = re.sub(r"['’]s$", "", m.group())
        if name.lower() not in _NOT_NAMES and not _calendar_word(name) and name not in out:
            out.append(name)
    return out


def _alias_held(name: str, holds: Callable[[str], bool]) -> bool:
    """Whether the collection holds another name of the same entity ("USA" where the articles say
    "United States" or "American"; aliases.toml). An alias of only stop words ("us") proves nothing."""
    for alias in tables().alias_groups.get(entity_key(name), ()):
        words = [w for w in alias.split() if len(w) > 2]
        if alias != entity_key(name) and words and all(holds(w) for w in words):
            return True
    return False


def unknown_names(question: str, holds: Callable[[str], bool]) -> str | None:
    """The warning to give when the question names something that no indexed article mentions
    (`holds`: the collection's word test, `LexicalIndex.holds`): the answer quoted is then about
    something else, or the name is misspelt. A warning, not a refusal: on real SQuAD 2.0 questions
    with their own article as the collection (the dev set's 6,078 and the shared training subset's
    4,719), such a name is in 2.8-3.2% of the answerable ones (mostly typos and spellings the article
    does not use) against 5.7-7.5% of the unanswerable ones: 69% of the dev questions it fires on
    are unanswerable, far from the 98% a refusal needs."""
    absent = [n for n in question_names(question) if not holds(n) and not _alias_held(n, holds)]
    if not absent:
        return None
    quoted = [f"'{n}'" for n in absent]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    verb = "appears" if len(absent) == 1 else "appear"
    return f"{listed} {verb} in no indexed article: the answer may be about something else"
