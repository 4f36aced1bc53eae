"""What a question asks for, and whether a sentence holds that kind of thing.

"How much will the tunnel cost?" wants a quantity, "when" a date, "who" a person or an
organisation, "where" a place, "why" a cause or a purpose. A sentence that names the subject
but holds nothing of the asked-for kind is not the answer; its neighbour that holds it may be.
The kinds come from the question's wh-phrase (a closed class of words, the standard question
typology) and, in a sentence, from numbers and dates (`constraints.extract`) and spaCy's
named entities when a parser is at hand. These are evidence for the decision (`decide.py`),
never a veto on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from assistant.answer.constraints import extract

KINDS = ("number", "date", "person", "place", "reason")

# (kind, question pattern), first match wins; matched against the lower-cased question
_QUESTION_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p)) for k, p in (
    ("date", r"\b(when|since when|what (year|years|date|day|month|decade|century|time|period|era|season)|"
             r"which (year|years|date|day|month|decade|century|period|era)|in what (year|decade|century|month)|"
             r"how long ago|what age|at what age)\b"),
    ("number", r"\b(how (many|much|long|tall|high|far|big|large|old|deep|wide|fast|often|heavy|low|small|short)|"
               r"what (percentage|percent|proportion|share|fraction|number|amount|size|population|price|cost|"
               r"rate|speed|temperature|length|height|depth|distance|weight|ratio|score)|"
               r"by how (much|many))\b"),
    ("reason", r"(^|\b)(why|for what reason|what (caused|causes|led to|leads to|prompted|drove|motivated)|"
               r"how come|what was the (reason|cause|motive|purpose)|what is the (reason|cause|motive|purpose)|"
               r"what were the (reasons|causes|motives))\b"),
    ("place", r"(^|\b)(where|from where|what (country|countries|city|cities|state|states|region|town|continent|"
              r"place|location|province|county|island|river|port|nation)|which (country|countries|city|cities|"
              r"state|states|region|town|continent|place|location|province|county|island|river|port|nation))\b"),
    ("person", r"(^|\b)(who|whom|whose|which (person|man|woman|people|leader|official|minister|president|king|"
               r"queen|artist|author|writer|company|organi[sz]ation|group|party|agency|team)|what (person|company|"
               r"organi[sz]ation|group|party|agency|team)|what was the name|what is the name)\b"),
))

_REASON_CUES = re.compile(
    r"\b(because|due to|owing to|thanks to|as a result|in order to|so that|so as to|reason|reasons|caused|"
    r"causes|cause|led to|leading to|prompted|aimed at|aims? to|in an effort to|in a bid to|to avoid|to prevent|"
    r"to ensure|to protect|to secure|to counter|to offset|to soften|to reduce|to limit|to curb|to boost|"
    r"motivated|driven by|for fear|amid|after|since|blamed|response to|in response|purpose|intended to|"
    r"designed to|seeking to|sought to|wanted to|hoped to)\b", re.I)
PERSON_LABELS = frozenset({"PERSON", "ORG", "NORP"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
NUMBER_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
DATE_LABELS = frozenset({"DATE", "TIME"})
_CAPITALISED_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
Ner = Callable[[str], Any]  # text -> spaCy Doc (with .ents)


@lru_cache(maxsize=4096)
def asked_for(question: str) -> str | None:
    """The kind of thing the question asks for, or None (a "what" question about anything)."""
    q = " ".join(question.lower().split())
    for kind, pattern in _QUESTION_KINDS:
        if pattern.search(q):
            return kind
    return None


# "Tell me about the strike", "What did the articles say about the strike?", "What about the strike?"
# (after an author filter is taken out of "What did Sam Lee write about the strike?"): a request for
# what the articles say on a topic, not for a fact (a named speaker, "What did Ri Yong Ho say about
# the talks?", stays a question). The cross-encoder and the decision read such a
# request as its topic, the way a search query is read; a wh-question inside ("tell me why ...") is
# kept as asked.
_TOPIC_REQUEST = re.compile(
    r"^(?:(?:please|can you|could you)\s+)*(?:"
    r"(?:tell|remind)\s+(?:me|us)\s+(?:more\s+)?(?:about|of|on)|"
    r"what\s+about|how\s+about|anything\s+(?:about|on)|"
    r"what\s+(?:do|does|did|have|has|had)\s+(?:the\s+|this\s+|that\s+|these\s+|those\s+|our\s+|my\s+)?"
    r"(?:articles?|stor(?:y|ies)|reports?|pieces?|coverage|sources?|collection|texts?|documents?|papers?|press|"
    r"news|reporting|they|it|you|we)\s+(?:say|said|write|written|wrote|report|reported|tell|told|mention|mentioned|"
    r"claim|claimed|note|noted|cover|covered)"
    r"(?:\s+us)?\s+(?:about|on|regarding|concerning|of)|"
    r"what\s+(?:is|was|are|were|has\s+been|have\s+been)\s+(?:said|written|reported|known)\s+(?:about|on|regarding|of)|"
    r"summari[sz]e|describe|give\s+(?:me\s+)?(?:an?\s+)?(?:overview|summary)\s+of"
    r")\s+(?P<topic>.+?)\s*[?.!]*$", re.I | re.S)
_WH_START = re.compile(r"^(?:why|how|when|where|who|whom|whose|what|which|whether|if)\b", re.I)


def topic_request(question: str) -> str | None:
    """The topic of a request for what the articles say about it, or None for any other question."""
    m = _TOPIC_REQUEST.match(" ".join(question.split()))
    if not m or _WH_START.match(m["topic"]):
        return None
    return m["topic"]


@dataclass(frozen=True)
class Holds:
    """The kinds of thing a text holds."""

    kinds: frozenset[str]

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds


def kinds_in(text: str, ner: Ner | None = None) -> Holds:
    """Numbers, dates, causes from the text itself; people and places from the NER when given,
    else any capitalised name (not at a sentence start) counts for both."""
    c = extract(text)
    kinds: set[str] = set()
    if c.dates or re.search(r"\b(1\d{3}|20\d{2})s?\b|\bcentur(y|ies)\b", text):
        kinds.add("date")
    if c.quantities:  # a year or a day of the month is a date, not the number a "how many" asks for
        kinds.add("number")
    if _REASON_CUES.search(text):
        kinds.add("reason")
    if ner is not None:
        labels = {e.label_ for e in ner(text).ents}
        if labels & PERSON_LABELS:
            kinds.add("person")
        if labels & PLACE_LABELS:
            kinds.add("place")
        if labels & NUMBER_LABELS:
            kinds.add("number")
        if labels & DATE_LABELS:
            kinds.add("date")
    elif c.entities or _CAPITALISED_NAME.search(text):
        kinds.update(("person", "place"))
    return Holds(frozenset(kinds))
