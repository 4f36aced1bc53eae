"""The facts a sentence commits to, and the ways another text departs from them.

`extract` reads what a text commits to: names, numbers and quantity words, dates, negations,
direction words. `findings` compares a claim with the quote it cites and names each departure
by its rule (a changed number, a name the passage lacks, a hedge made certain, a quantifier moved
along its scale, a flipped comparative, another order of events, another unit...): each is one
feature of the learned claim decision (`claim_model.py`), not a verdict. The word lists (aliases,
antonym axes, quantity words, synonyms, the closed classes of `claim_words.toml`) are TOML files
beside it. Whether evidence answers a question is not judged here: that is the calibrated
decision's (`decide.py`), which reads `extract`'s names, numbers and dates as features.

Works without spaCy; given a parsed `Doc` (see `support.py`) it also uses the named-entity
tags and the dependency parse for entities and the scope of a negation.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from assistant.answer.citations import STOPWORDS

try:
    import Stemmer

    _stem_word = Stemmer.Stemmer("english").stemWord
except ImportError:  # pragma: no cover
    _stem_word = lambda w: w  # noqa: E731

HERE = Path(__file__).resolve().parent
Parser = Callable[[str], Any]  # text -> spaCy Doc

_MONTH_ABBREVIATIONS = frozenset({"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"})
# spaCy entity labels that name something a claim must not swap
ENTITY_LABELS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})
NEGATION_CUES = frozenset({"not", "no", "never", "none", "neither", "nor", "without", "cannot", "nobody", "nothing",
                           "nowhere"})
# words skipped between a negation and the word it negates ("did not yet fully recover")
_NEG_SKIP = frozenset({"yet", "also", "even", "ever", "fully", "longer", "always", "entirely", "be", "been", "being",
                       "currently", "immediately", "necessarily", "really", "quite", "a", "an", "the", "any", "to",
                       "have", "has", "had", "was", "were", "is", "are", "do", "does", "did", "will", "would", "could",
                       "should", "can", "may", "might", "must", "one", "single", "so", "much", "more", "as", "of"})

_AUX = frozenset({"do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "will", "would", "could",
                  "should", "can", "may", "might", "must"})
_TOKEN = re.compile(r"""
    (?P<acr>(?:[A-Za-z]\.){2,}                                    # U.S., U.K.
      |[A-Z][A-Za-z]*-?\d+(?:[+/-][A-Za-z\d]+)*\+?(?!\w))          # P5+1, G7, COVID-19, F-35: one name
  | (?P<num>\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)               # 300,000  1.2  2027
  | (?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*)          # words, hyphenated compounds, didn't
  | (?P<pct>%)
  | (?P<stop>[.!?;:•\n"“”()\[\]])
""", re.X)


# --- data tables -----------------------------------------------------------------------------

def _load(name: str) -> dict[str, Any]:
    with (HERE / name).open("rb") as f:
        return tomllib.load(f)


def stem(word: str) -> str:
    return _stem_word(word.lower().replace("’", "'"))


@dataclass(frozen=True)
class Tables:
    """Every word list, loaded and stemmed once."""

    alias_groups: dict[str, frozenset[str]]  # entity key -> keys of every alias (itself included)
    case_sensitive: frozenset[str]
    not_entities: frozenset[str]
    titles: tuple[str, ...]
    connectors: frozenset[str]
    axes: dict[str, list[tuple[str, int]]]  # stem -> [(axis, +1|-1)]
    axis_phrases: dict[tuple[str, ...], list[tuple[str, int]]]  # multi-word entries, stemmed
    synonyms: dict[str, str]  # stem -> canonical stem
    prefixes: dict[str, str]
    fractions: dict[tuple[str, ...], float]
    vague: dict[tuple[str, ...], tuple[float, float]]
    share_words: frozenset[tuple[str, ...]]
    numbers: dict[str, int]
    scales: dict[str, int]
    ordinals: dict[str, int]
    approximate: frozenset[tuple[str, ...]]
    percent: frozenset[tuple[str, ...]]
    months: dict[str, int]
    weekdays: dict[str, int]
    seasons: dict[str, int]
    negating_prefixes: tuple[str, ...]


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(text.lower().split())


@lru_cache(maxsize=1)
def tables() -> Tables:
    al, an, qu, sy = _load("aliases.toml"), _load("antonyms.toml"), _load("quantities.toml"), _load("synonyms.toml")
    groups: dict[str, set[str]] = {}
    for names in al["groups"].values():
        keys = {entity_key(n) for n in names}
        for k in keys:
            groups.setdefault(k, set()).update(keys)
    axes: dict[str, list[tuple[str, int]]] = {}
    phrases: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    for axis in an["axis"]:
        for sign, words in ((1, axis["plus"]), (-1, axis["minus"])):
            for w in words:
                parts = tuple(stem(p) for p in re.split(r"[\s-]+", w) if p)
                target = axes.setdefault(parts[0], []) if len(parts) == 1 else phrases.setdefault(parts, [])
                if (axis["name"], sign) not in target:
                    target.append((axis["name"], sign))
    synonyms: dict[str, str] = {}
    for group in sy["group"]:
        head = stem(group["words"][0])
        for w in group["words"]:
            synonyms.setdefault(stem(w), head)
    return Tables(
        alias_groups={k: frozenset(v) for k, v in groups.items()},
        case_sensitive=frozenset(al["case_sensitive"]),
        not_entities=frozenset(al["not_entities"]),
        titles=tuple(sorted((t.lower() for t in al["titles"]), key=len, reverse=True)),
        connectors=frozenset(al["connectors"]),
        axes=axes, axis_phrases=phrases, synonyms=synonyms, prefixes=dict(sy["prefixes"]),
        fractions={_phrase(k): float(v) for k, v in qu["fractions"].items()},
        vague={_phrase(k): (float(v[0]), float(v[1])) for k, v in qu["vague"].items()},
        share_words=frozenset(_phrase(w) for w in qu["share_words"]),
        numbers=dict(qu["numbers"]), scales=dict(qu["scales"]), ordinals=dict(qu["ordinals"]),
        approximate=frozenset(_phrase(w) for w in qu["approximate"]),
        percent=frozenset(_phrase(w) for w in qu["percent"]),
        months=dict(qu["months"]), weekdays=dict(qu["weekdays"]), seasons=dict(qu["seasons"]),
        negating_prefixes=tuple(an["negating_prefixes"]),
    )


# --- records ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entity:
    text: str  # as written
    key: str  # normalised: lower case, no punctuation, no leading "the", no possessive
    weak: bool = False  # one capitalised word opening a sentence: maybe just a capitalised word


@dataclass(frozen=True)
class Quantity:
    text: str
    low: float
    high: float
    kind: Literal["count", "share", "ordinal"] = "count"  # share: a fraction of a whole, 0..1
    approx: bool = False
    raw: float | None = None  # the number as written, before a percent became a share
    unit: float = 0.0  # rounding step of the written number (1.2 -> 0.1)
    noun: str = ""  # stem of the content word it counts ("312 million euros" -> euro), when one follows


@dataclass(frozen=True)
class DateRef:
    text: str
    kind: Literal["year", "decade", "month", "weekday", "day", "season"]
    value: int
    month: int = 0  # for kind == "day"


@dataclass(frozen=True)
class Negation:
    text: str  # the cue as written: "not", "didn't", "never", "no"
    target: str | None  # stem of the word it negates
    target_text: str = ""
    phrase: str = ""  # the cue through the negated word, as written: "did not approve"
    also: tuple[str, ...] = ()  # another reading of the target (the parse's head)

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(([self.target] if self.target else []) + list(self.also))


@dataclass(frozen=True)
class Polar:
    text: str
    axis: str
    sign: int  # +1 / -1 as in antonyms.toml
    negated: bool
    context: frozenset[str]  # content stems around it, to pair it with the evidence's term
    left: frozenset[str] = frozenset()  # content stems just before it (its subject, usually)
    stem: str = ""

    @property
    def effective(self) -> int:
        return -self.sign if self.negated else self.sign


@dataclass
class Constraints:
    """What a text commits to."""

    entities: list[Entity] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    dates: list[DateRef] = field(default_factory=list)
    negations: list[Negation] = field(default_factory=list)
    polar: list[Polar] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # content stems, synonyms folded

    @property
    def negated(self) -> bool:
        return bool(self.negations)

    @property
    def numbers(self) -> list[Quantity]:  # the brief's name for quantities
        return self.quantities


# --- tokens ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    text: str
    kind: str
    start: int
    end: int
    initial: bool  # opens a sentence

    @property
    def low(self) -> str:
        return self.text.lower().replace("’", "'")


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    initial = True
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or ""
        if kind == "stop":
            if m.group() not in '"“”()':
                initial = True
            continue
        out.append(_Tok(m.group(), kind, m.start(), m.end(), initial))
        initial = False
    return out


def entity_key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: "the U.S.'s" -> "us"."""
    s = unicodedata.normalize("NFKD", text)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower().replace("’", "'")
    s = re.sub(r"\b((?:[a-z]\.){2,})", lambda m: m.group(1).replace(".", ""), s)
    s = re.sub(r"'s\b|'", "", s)
    s = " ".join(re.sub(r"[^\w&]+", " ", s).split())
    return s[4:] if s.startswith("the ") else s


def _fold(word: str) -> list[str]:
    """Stems a word contributes: hyphenated parts split, prefixes read as words, synonyms folded."""
    t = tables()
    parts = [p for p in word.lower().replace("’", "'").split("-") if p]
    if len(parts) > 1 and parts[0] in t.prefixes:
        parts[0] = t.prefixes[parts[0]]
    out = []
    for p in parts:
        if p in STOPWORDS or (len(p) < 2 and not p.isdigit()):
            continue
        s = stem(p)
        out.append(t.synonyms.get(s, s))
    return out


def terms(text: str) -> list[str]:
    """Content stems of a text with hyphenated compounds split and synonyms folded ("pre-war" -> before, war)."""
    return list(_terms(text))


@lru_cache(maxsize=8192)
def _terms(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for tok in _tokens(text):
        if tok.kind == "word":
            out.extend(_fold(tok.text))
        elif tok.kind in ("num", "acr"):
            out.append(tok.low.replace(",", "").replace(".", "") if tok.kind == "acr" else tok.low.replace(",", ""))
    return tuple(out)


# --- extraction ------------------------------------------------------------------------------

def _is_capital(tok: _Tok) -> bool:
    return tok.kind == "acr" or (tok.kind == "word" and tok.text[0].isupper())


def _entities(toks: list[_Tok], text: str, doc: Any = None) -> list[Entity]:
    t = tables()
    spans: list[list[int]] = []
    cur: list[int] = []

    def flush() -> None:
        while cur and toks[cur[-1]].low in t.connectors:
            cur.pop()
        if cur:
            spans.append(list(cur))
        cur.clear()

    for i, tok in enumerate(toks):
        low = tok.low
        name_like = (_is_capital(tok) and tok.text not in t.not_entities and low not in t.months
                     and low not in t.weekdays and not (tok.initial and low in STOPWORDS))
        if name_like and (not cur or text[toks[cur[-1]].end:tok.start] in (" ", "")) and not (
                cur and re.search(r"['’]s$", toks[cur[-1]].text)):  # "Iran, North Korea": two names
            cur.append(i)
        elif name_like:
            flush()
            cur.append(i)
        elif cur and low in t.connectors and i + 1 < len(toks) and _is_capital(toks[i + 1]):
            cur.append(i)
        else:
            flush()
    flush()
    propn: set[int] = set()
    if doc is not None:
        propn = {tok.idx for tok in doc if tok.pos_ == "PROPN" or tok.ent_type_ in ENTITY_LABELS}
    out: list[Entity] = []
    seen: set[str] = set()
    for span in spans:
        first, last = toks[span[0]], toks[span[-1]]
        surface = text[first.start:last.end]
        key = entity_key(surface)
        weak = len(span) == 1 and first.initial and first.start not in propn and key not in t.alias_groups
        if key and key not in seen:
            seen.add(key)
            out.append(Entity(surface, key, weak))
    if doc is not None:
        for ent in doc.ents:
            key = entity_key(ent.text)
            if ent.label_ in ENTITY_LABELS and key and not any(key in e.key or e.key in key for e in out):
                seen.add(key)
                out.append(Entity(ent.text, key))
    return out


def _parse_number(s: str) -> tuple[float, float]:
    """Value and rounding step of a written number: "1.25" -> (1.25, 0.01)."""
    s = s.replace(",", "")
    decimals = len(s.split(".")[1]) if "." in s else 0
    return float(s), 10.0 ** -decimals


def _quantities_and_dates(toks: list[_Tok], text: str) -> tuple[list[Quantity], list[DateRef]]:
    t = tables()
    lows = [tok.low for tok in toks]
    used = [False] * len(toks)
    qs: list[Quantity] = []
    dates: list[DateRef] = []

    def approx_before(i: int) -> bool:
        for n in (2, 1, 3):
            if i - n >= 0 and tuple(lows[i - n:i]) in t.approximate:
                return True
        return False

    def percent_after(j: int) -> int:
        """Tokens a percent sign or word takes right after position j (0 if none)."""
        for n in (3, 2, 1):
            if j + n <= len(lows) and tuple(lows[j:j + n]) in t.percent:
                return n
        return 0

    def month_at(j: int) -> int:
        if 0 <= j < len(toks) and toks[j].kind == "word" and lows[j] in t.months:
            if toks[j].text[0].isupper() and (len(lows[j]) > 3 or lows[j] != "may"):
                if lows[j] in _MONTH_ABBREVIATIONS and not beside_a_number(j):
                    return 0  # "Mar Azul", "Jan Novak": a name, not a month
                return t.months[lows[j]]
        return 0

    def beside_a_number(j: int) -> bool:
        """"Mar 3", "3 Mar 2024", "Sept. 2023": an abbreviated month stands next to a number."""
        after = j + 1
        if after < len(toks) and toks[after].text == ".":
            after += 1
        return (after < len(toks) and toks[after].kind == "num") or (j > 0 and toks[j - 1].kind == "num")

    # months, weekdays, days of the month
    for i, tok in enumerate(toks):
        m = month_at(i)
        if m and (tok.text not in ("March", "May") or not tok.initial or i + 1 < len(toks) and toks[i + 1].kind == "num"):
            used[i] = True
            dates.append(DateRef(tok.text, "month", m))
            for j in (i + 1, i - 1):
                if 0 <= j < len(toks) and toks[j].kind == "num" and not used[j] and "." not in toks[j].text \
                        and "," not in toks[j].text and 1 <= int(toks[j].text) <= 31:
                    used[j] = True
                    dates.append(DateRef(f"{tok.text} {toks[j].text}", "day", int(toks[j].text), m))
                    break
        elif tok.kind == "word" and lows[i] in t.weekdays and tok.text[0].isupper():
            used[i] = True
            dates.append(DateRef(tok.text, "weekday", t.weekdays[lows[i]]))
        elif tok.kind == "word" and lows[i] in t.seasons:
            used[i] = True
            dates.append(DateRef(tok.text, "season", t.seasons[lows[i]]))

    i = 0
    while i < len(toks):
        if used[i]:
            i += 1
            continue
        tok = toks[i]
        # quantity phrases from the table, longest first
        hit = None
        for n in (4, 3, 2, 1):
            ph = tuple(lows[i:i + n])
            if len(ph) == n and (ph in t.fractions or ph in t.vague) and not any(used[i:i + n]) \
                    and not (i and lows[i - 1] == "at"):  # "at most": a bound, not "most" of something
                hit = (n, ph)
                break
        if hit:
            n, ph = hit
            surface = text[tok.start:toks[i + n - 1].end]
            if ph in t.fractions:
                v = t.fractions[ph]
                qs.append(Quantity(surface, v, v, "share", approx_before(i)))
            else:
                lo, hi = t.vague[ph]
                qs.append(Quantity(surface, lo, hi, "share" if ph in t.share_words else "count", True))
            for k in range(i, i + n):
                used[k] = True
            i += n
            continue
        if tok.kind == "num":
            value, step = _parse_number(tok.text)
            j = i + 1
            scale = 1
            # "312m", "312 million", "2.5bn"
            if j < len(toks) and toks[j].kind == "word" and lows[j] in t.scales and (
                    lows[j] in ("hundred", "thousand", "million", "billion", "trillion") or toks[j].start == tok.end):
                scale = t.scales[lows[j]]
                j += 1
            pct = percent_after(j)
            is_plain_int = "," not in tok.text and "." not in tok.text
            decade = j < len(toks) and toks[j].start == tok.end and lows[j] == "s"
            if decade and is_plain_int:
                dates.append(DateRef(tok.text + "s", "decade", int(value)))
                used[i] = used[j] = True
                i = j + 1
                continue
            if is_plain_int and scale == 1 and not pct and 1500 <= value <= 2100:
                dates.append(DateRef(tok.text, "year", int(value)))
                used[i] = True
                i += 1
                continue
            end = toks[j + pct - 1].end if pct else toks[j - 1].end
            surface = text[tok.start:end]
            ap = approx_before(i)
            if pct:
                qs.append(Quantity(surface, value / 100, value / 100, "share", ap, raw=value, unit=step / 100))
            else:
                v = value * scale
                qs.append(Quantity(surface, v, v, "count", ap, raw=v, unit=step * scale))
            for k in range(i, j + pct):
                used[k] = True
            i = j + pct
            continue
        if tok.kind == "word" and (lows[i].split("-")[0] in t.numbers or lows[i] in ("a", "an") and i + 1 < len(toks)
                                   and lows[i + 1] in t.scales and lows[i + 1] in ("hundred", "thousand", "million", "billion")):
            j, total, current = i, 0, 0
            while j < len(toks) and toks[j].kind == "word":
                parts = lows[j].split("-")
                if all(p in t.numbers for p in parts):
                    current += sum(t.numbers[p] for p in parts)
                elif parts[0] in t.numbers and j == i:  # "four-year", "nine-day": the number, then stop
                    for p in parts:
                        if p not in t.numbers:
                            break
                        current += t.numbers[p]
                    j += 1
                    break
                elif lows[j] in ("a", "an") and j == i:
                    current = 1
                elif lows[j] in t.scales and len(lows[j]) > 2 and j > i:
                    scale = t.scales[lows[j]]
                    if scale == 100:
                        current = (current or 1) * 100
                    else:
                        total += (current or 1) * scale
                        current = 0
                elif lows[j] == "and" and j > i and j + 1 < len(toks) and lows[j + 1].split("-")[0] in t.numbers:
                    pass
                else:
                    break
                j += 1
            if j == i:  # "a" / "an" not followed by a number after all
                i += 1
                continue
            value = float(total + current)
            pct = percent_after(j)
            end = toks[j + pct - 1].end
            surface = text[tok.start:end]
            if pct:
                qs.append(Quantity(surface, value / 100, value / 100, "share", approx_before(i), raw=value))
            else:
                qs.append(Quantity(surface, value, value, "count", approx_before(i), raw=value))
            for k in range(i, j + pct):
                used[k] = True
            i = j + pct
            continue
        if tok.kind == "word" and lows[i] in t.ordinals:
            v = t.ordinals[lows[i]]
            qs.append(Quantity(tok.text, v, v, "ordinal"))
            used[i] = True
        i += 1
    return qs, dates


def _with_nouns(qs: list[Quantity], toks: list[_Tok], text: str) -> list[Quantity]:
    """Each quantity with the content word after it, so "4 billion euros" is not compared with "eleven years"."""
    out, cursor = [], 0
    for q in qs:
        at = text.find(q.text, cursor)
        if at < 0:
            out.append(q)
            continue
        cursor = at + len(q.text)
        following = [t for t in toks if t.start >= cursor][:3]
        noun = next((f[-1] for t in following if t.kind == "word" and t.low not in ("of", "the", "a", "an")
                     for f in [_fold(t.text)] if f), "")
        out.append(replace(q, noun=noun))
    return out


def _negation_target(toks: list[_Tok], i: int) -> tuple[str | None, str, int]:
    for j in range(i + 1, min(len(toks), i + 6)):
        low = toks[j].low
        if low in _NEG_SKIP or low in NEGATION_CUES:
            continue
        folded = _fold(toks[j].text)
        if folded:
            return folded[-1], toks[j].text, toks[j].end
    return None, "", toks[i].end


def _negations(toks: list[_Tok], text: str, doc: Any = None) -> list[Negation]:
    out: list[Negation] = []
    by_start = {tok.idx: tok for tok in doc} if doc is not None else {}
    for i, tok in enumerate(toks):
        low = tok.low
        cue = low in NEGATION_CUES or low.endswith("n't")
        if not cue or (low == "not" and i + 1 < len(toks) and toks[i + 1].low in ("only", "just")):
            continue
        if low in ("no", "not") and i + 2 < len(toks) and toks[i + 1].low in ("more", "less", "fewer", "later", "earlier") \
                and toks[i + 2].low == "than":
            continue  # "no more than 739,000": a bound, not a negation
        if low == "no" and i + 1 < len(toks) and toks[i + 1].low == "one":
            low = "nobody"
        target, target_text, end = _negation_target(toks, i)
        if target and low.endswith("n't") and text.rstrip().endswith("?") and (i == 0 or toks[i - 1].initial):
            # "Why didn't the board approve ...?": the subject comes first, the negated verb after it
            target, target_text, end = _negation_target(toks, next(
                (j for j in range(i + 1, len(toks)) if toks[j].text == target_text), i))
        also: list[str] = []
        st = by_start.get(tok.start) if not low.endswith("n't") else (
            next((x for x in doc if tok.start < x.idx < tok.end and x.dep_ == "neg"), None) if doc is not None else None)
        if st is not None:
            head = st.head if st.dep_ in ("neg", "det", "advmod", "preconj") and st.head is not st else None
            if st.lower_ == "without":
                head = next((c for c in st.children if c.dep_ in ("pobj", "pcomp")), None)
            if head is not None and head.is_alpha:
                also = [x for x in _fold(head.text) if x != target][-1:]
        begin = toks[i - 1].start if i and toks[i - 1].low in _AUX and not low.endswith("n't") else tok.start
        phrase = " ".join(text[begin:end].split()) if end - begin < 60 else tok.text
        out.append(Negation(tok.text, target, target_text, phrase, tuple(also)))
    return out


def _polar(toks: list[_Tok], text: str, negations: list[Negation]) -> list[Polar]:
    t = tables()
    stems = [(_fold(tok.text) if tok.kind == "word" else []) for tok in toks]
    raw_stems = [stem(tok.text) if tok.kind == "word" else "" for tok in toks]
    negated_targets = {n.target for n in negations if n.target}
    out: list[Polar] = []

    def context(i: int, n: int = 1) -> frozenset[str]:
        ctx: set[str] = set()
        for j in list(range(max(0, i - 5), i)) + list(range(i + n, min(len(toks), i + n + 5))):
            ctx.update(stems[j])
        return frozenset(ctx)

    def left(i: int) -> frozenset[str]:
        return frozenset(x for j in range(max(0, i - 3), i) for x in stems[j])

    i = 0
    while i < len(toks):
        matched = False
        for n in (3, 2):
            key = tuple(raw_stems[i:i + n])
            if len(key) == n and key in t.axis_phrases:
                for axis, sign in t.axis_phrases[key]:
                    out.append(Polar(" ".join(tk.text for tk in toks[i:i + n]), axis, sign, _negated_near(toks, i, text),
                                     context(i, n), left(i), " ".join(key)))
                i += n
                matched = True
                break
        if matched:
            continue
        tok = toks[i]
        if tok.kind == "word":
            parts = tok.low.split("-")
            for p in parts:
                s = stem(p)
                for axis, sign in t.axes.get(s, []):
                    neg = _negated_near(toks, i, text) or (bool(_fold(p)) and _fold(p)[-1] in negated_targets)
                    out.append(Polar(tok.text, axis, sign, neg, context(i), left(i), s))
        i += 1
    return out


_CLAUSE = frozenset({"and", "but", "while", "whereas", "which", "that", "who", "because", "although", "though"})


def _negated_near(toks: list[_Tok], i: int, text: str) -> bool:
    """A negation cue in the four words before token i, within its clause."""
    for j in range(i - 1, max(-1, i - 5), -1):
        low = toks[j].low
        if low in NEGATION_CUES or low.endswith("n't"):
            return not (low == "not" and toks[j + 1].low in ("only", "just"))
        if low in _CLAUSE or re.search(r"[,;:]", text[toks[j].end:toks[j + 1].start]):
            return False
    return False


def extract(text: str, doc: Any = None) -> Constraints:
    """The constraints of `text`; `doc` (a spaCy parse of the same text) sharpens entities and negation scope."""
    return _extract_plain(text) if doc is None else _extract(text, doc)


@lru_cache(maxsize=2048)
def _extract_plain(text: str) -> Constraints:  # pinning asks about the same sentences again and again
    return _extract(text, None)


def _extract(text: str, doc: Any) -> Constraints:
    toks = _tokens(text)
    entities = _entities(toks, text, doc)
    quantities, dates = _quantities_and_dates(toks, text)
    quantities = _with_nouns(quantities, toks, text)
    negations = _negations(toks, text, doc)
    return Constraints(entities=entities, quantities=quantities, dates=dates, negations=negations,
                       polar=_polar(toks, text, negations), terms=terms(text))


# --- matching --------------------------------------------------------------------------------

@dataclass
class _Evidence:
    text: str
    c: Constraints
    keys: str  # " key key key " for entity lookup
    dotless: str  # original case, acronym dots removed
    stems: frozenset[str]
    neg_targets: frozenset[str]


def _evidence(text: str, doc: Any = None) -> _Evidence:
    return _evidence_plain(text) if doc is None else _make_evidence(text, doc)


@lru_cache(maxsize=2048)
def _evidence_plain(text: str) -> _Evidence:
    return _make_evidence(text, None)


def _make_evidence(text: str, doc: Any) -> _Evidence:
    c = extract(text, doc)
    dotless = re.sub(r"\b((?:[A-Za-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)
    return _Evidence(text, c, f" {entity_key(text)} ", dotless, frozenset(c.terms),
                     frozenset(t for n in c.negations for t in n.targets))


def _present(key: str, ev: _Evidence) -> bool:
    t = tables()
    plain = key.replace(" ", "")
    if plain.upper() in t.case_sensitive or (len(plain) <= 3 and key == plain):
        # "US" must not match the pronoun "us"
        return re.search(rf"\b{re.escape(plain.upper())}\b", ev.dotless) is not None or (
            len(plain) > 3 and f" {key} " in ev.keys)
    return f" {key} " in ev.keys


def _strip_title(key: str) -> str:
    for title in tables().titles:
        if key.startswith(title + " "):
            return key[len(title) + 1:]
    return key


def entity_met(entity: Entity | str, evidence: str) -> bool:
    """Whether `evidence` names the entity: as written, without a title, or by an alias."""
    ent = entity if isinstance(entity, Entity) else Entity(entity, entity_key(entity))
    return _entity_met(ent, _evidence(evidence))


def _entity_met(ent: Entity, ev: _Evidence) -> bool:
    t = tables()
    key = ent.key
    if ent.text.isupper() and len(key.replace(" ", "")) <= 3:
        if re.search(rf"\b{re.escape(key.replace(' ', '').upper())}\b", ev.dotless):
            return True
    elif f" {key} " in ev.keys:
        return True
    candidates = {key, _strip_title(key)}
    for k in list(candidates):
        candidates |= t.alias_groups.get(k, frozenset())
    if any(_present(k, ev) for k in candidates if k):
        return True
    words = _strip_title(key).split()
    if len(words) == 1 and not ent.text.isupper():
        s = stem(words[0])  # "Velmar's" / "Velmarian" stems; plural names
        if s in ev.stems or any(tok.startswith(s) for tok in ev.keys.split() if len(s) >= 5):
            return True
    return _demonym_met(words, ev.keys.split())


DEMONYM_STEM = 4  # letters a name and its demonym share at least ("Chin-a" / "Chin-ese", "Iran" / "Iran-ian") ...
DEMONYM_TAIL = 3  # ... with at most this many letters after them on either side ("Austr-alia" is not "Austr-ia")


def _demonym_word(a: str, b: str) -> bool:
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= DEMONYM_STEM and len(a) - n <= DEMONYM_TAIL and len(b) - n <= DEMONYM_TAIL


def _demonym_met(words: list[str], pool: list[str]) -> bool:
    """"North Korean" for "North Korea", "Russian" for "Russia": the name with a demonym ending."""
    if not words or not any(len(w) >= DEMONYM_STEM for w in words):
        return False
    k = len(words)
    return any(all(_demonym_word(w, p) for w, p in zip(words, pool[i:i + k])) for i in range(len(pool) - k + 1))


def _quantity_met(q: Quantity, e: Quantity) -> bool:
    if "ordinal" in (q.kind, e.kind):
        return q.kind == e.kind and q.low == e.low
    if q.kind != e.kind:
        return q.raw is not None and e.raw is not None and abs(q.raw - e.raw) <= 1e-9 * max(1.0, abs(q.raw))
    words = q.raw is None or e.raw is None  # a fraction or vague word on either side
    if q.low < q.high or e.low < e.high:  # a vague range ("most", "dozens") is its own tolerance
        return q.low <= e.high and e.low <= q.high
    if q.kind == "share":
        tol = 0.04 if (words or q.approx or e.approx) else max(q.unit, e.unit) / 2 + 1e-9
    else:
        tol = 0.1 * max(abs(q.low), abs(e.low)) if (q.approx or e.approx) and not words else \
            max(q.unit, e.unit) / 2 + 1e-9 * max(1.0, abs(q.high))
    return q.low - tol <= e.high and e.low - tol <= q.high


def _closest(q: Quantity, pool: Iterable[Quantity], stems: frozenset[str] = frozenset()) -> Quantity | None:
    """The evidence's quantity a wrong one stands in for: same kind, counting the same thing when
    the claim says what it counts; None when the evidence never mentions that thing."""
    same = [e for e in pool if e.kind == q.kind]
    if q.noun and same:
        same = [e for e in same if e.noun == q.noun] or (same if q.noun in stems else [])
    if not same:
        return None
    return min(same, key=lambda e: abs((e.low + e.high) / 2 - (q.low + q.high) / 2))


def _date_met(d: DateRef, ev: _Evidence) -> bool:
    for e in ev.c.dates:
        if d.kind == "day" and e.kind == "day" and (e.value, e.month) == (d.value, d.month):
            return True
        if d.kind == e.kind and d.kind != "day" and d.value == e.value:
            return True
        if d.kind == "month" and e.kind == "day" and e.month == d.value:
            return True
        if d.kind == "decade" and e.kind == "year" and d.value <= e.value < d.value + 10:
            return True
    if d.kind == "year":
        return any(q.raw == d.value for q in ev.c.quantities)
    return False


def _date_reason(d: DateRef, ev: _Evidence) -> str:
    kinds = {"day": ("day", "month"), "month": ("month", "day"), "year": ("year",), "decade": ("decade", "year"),
             "weekday": ("weekday",), "season": ("season",)}[d.kind]
    other = next((e for e in ev.c.dates if e.kind in kinds), None)
    return f"the passage says '{other.text}', not '{d.text}'" if other else f"'{d.text}' is not in the passage"


def _pair(p: Polar, candidates: list[Polar]) -> Polar:
    """The evidence term about the same thing: shared context, the same subject, the same word."""
    return max(candidates, key=lambda e: len(p.context & e.context) + 2 * len(p.left & e.left) + 2 * (p.stem == e.stem))


@dataclass(frozen=True)
class Finding:
    """One way a claim departs from its quote: `rule` names the evidence (a feature of the claim
    decision, `claim_model.py`), `reason` says it to the user."""

    rule: str
    reason: str


def findings(claim: str, evidence: str, *, passage: str = "", nlp: Parser | None = None) -> list[Finding]:
    """Every way `claim` departs from `evidence` (its quote): names, numbers, dates, negation,
    antonyms, hedges, quantifiers, comparatives, the order of events, units.

    Names may also be met by `passage` (the whole passage the quote comes from), but a name the
    quote lacks while the quote names another is reported (`entity_elsewhere`: maybe one name of
    the article put for another); the rest must be met by the quote itself. `nlp`, a spaCy
    pipeline, adds NER and the dependency parse."""
    c = extract(claim, nlp(claim) if nlp else None)
    ev = _evidence(evidence, nlp(evidence) if nlp else None)
    wide = _evidence(passage) if passage else None
    out: list[Finding] = []

    def add(rule: str, reason: str) -> None:
        if all(f.reason != reason for f in out):
            out.append(Finding(rule, reason))

    claim_keys = {e.key for e in c.entities}
    quote_only = [e for e in ev.c.entities if not e.weak and e.key not in claim_keys
                  and not any(_entity_met(e, _evidence(x.text)) or _entity_met(x, _evidence(e.text)) for x in c.entities)]
    for ent in c.entities:
        if _entity_met(ent, ev):
            continue
        if wide is not None and _entity_met(ent, wide):
            if quote_only:
                add("entity_elsewhere", f"the passage names '{quote_only[0].text}' here, not '{ent.text}'")
            continue
        rule = "entity_weak" if ent.weak else "entity_swapped" if quote_only else "entity_absent"
        add(rule, f"'{ent.text}' is not in the passage")  # swapped: the quote names another in its place
    for q in c.quantities:
        if not any(_quantity_met(q, e) for e in ev.c.quantities):
            other = _closest(q, ev.c.quantities, ev.stems)
            if wide is not None and any(_quantity_met(q, e) for e in wide.c.quantities):
                add("number_elsewhere", f"'{q.text}' is in another sentence of the passage")
            elif other:
                add("number_changed", f"the passage says '{other.text}', not '{q.text}'")
            else:
                add("number_absent", f"'{q.text}' is not in the passage")
    for d in c.dates:
        if not _date_met(d, ev):
            reason = _date_reason(d, ev)
            if wide is not None and _date_met(d, wide):
                add("date_elsewhere", f"'{d.text}' is in another sentence of the passage")
                continue
            add("date_changed" if reason.startswith("the passage says") else "date_absent", reason)
    polar_targets = {t for p in c.polar for t in _fold(p.text.split()[-1])}
    claim_stems = set(c.terms)
    for n in c.negations:
        if n.targets & ev.neg_targets or any(m.targets & claim_stems for m in ev.c.negations):
            continue
        if bool(n.targets & ev.stems) or (not ev.c.negations and not (n.targets & polar_targets)):
            add("negation_added", f"the passage does not say '{n.text}'")
    claim_neg_targets = {t for n in c.negations for t in n.targets}
    for n in ev.c.negations:
        if n.target and n.target in claim_stems and not (n.targets & claim_neg_targets) and not c.negations:
            add("negation_dropped", f"the passage says '{n.phrase}'")
    _prefix_negations(c, ev, lambda reason: add("negation_prefix", reason))
    for p in c.polar:
        pool = [e for e in ev.c.polar if e.axis == p.axis]
        opposite = [e for e in pool if e.effective != p.effective]
        if opposite and (len(opposite) == len(pool) or _pair(p, pool).effective != p.effective):
            add("opposite", f"the passage says the opposite ('{_pair(p, opposite).text}')")
    for rule, reason in _closed_class(claim, evidence):
        add(rule, reason)
    return out


# --- closed classes: hedges, quantifier scales, comparatives, order, units ---------------------

@dataclass(frozen=True)
class _Words:
    hedges: frozenset[str]
    certainty: frozenset[str]
    strong: frozenset[str]
    approximators: tuple[tuple[str, ...], ...]
    scales: dict[str, dict[tuple[str, ...], int]]  # scale -> phrase -> rank
    comparatives: dict[str, str]  # word -> "more" | "less"
    order: dict[str, str]  # word -> "before" | "after"
    units: dict[str, str]  # stem -> dimension
    unit_adverbs: dict[str, str]  # "daily" -> "day"


@lru_cache(maxsize=1)
def words() -> _Words:
    w = _load("claim_words.toml")
    return _Words(
        hedges=frozenset(w["hedges"]), certainty=frozenset(w["certainty"]), strong=frozenset(w["certainty_strong"]),
        approximators=tuple(_phrase(a) for a in w["approximators"]),
        scales={name: {_phrase(x): rank for rank, group in enumerate(groups) for x in group}
                for name, groups in w["scales"].items()},
        comparatives={x: side for side, xs in w["comparatives"].items() for x in xs},
        order={x: side for side, xs in w["order"].items() for x in xs},
        units={stem(x): dim for dim, xs in w["units"].items() for x in xs},
        unit_adverbs=dict(w["unit_adverbs"]),
    )


def _lower_words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower().replace("’", "'"))


def scale_ranks(ws: list[str]) -> dict[str, set[float]]:
    """Ranks on each ordered scale the words reach; an approximator before a word is half a step down."""
    t = words()
    out: dict[str, set[float]] = {}
    for name, table in t.scales.items():
        for i in range(len(ws)):
            for n in (2, 1):
                ph = tuple(ws[i:i + n])
                if len(ph) == n and ph in table:
                    approx = any(tuple(ws[max(0, i - len(a)):i]) == a for a in t.approximators)
                    out.setdefault(name, set()).add(table[ph] - (0.5 if approx else 0.0))
    return out


def _closed_class(claim: str, evidence: str) -> list[tuple[str, str]]:
    t = words()
    cw, ew = _lower_words(claim), _lower_words(evidence)
    cs, es = set(cw), set(ew)
    out: list[tuple[str, str]] = []
    quote_hedges = es & t.hedges
    if quote_hedges and not cs & t.hedges:
        out.append(("hedge_dropped", f"the passage hedges it ('{sorted(quote_hedges)[0]}')"))
    sure = (cs - es) & (t.certainty if quote_hedges else t.strong)
    if sure:
        out.append(("certainty_added", f"the passage does not say '{sorted(sure)[0]}'"))
    c_ranks, e_ranks = scale_ranks(cw), scale_ranks(ew)
    for name, ranks in c_ranks.items():
        theirs = e_ranks.get(name, set())
        if theirs and all(abs(r - x) > 0.5 for r in ranks for x in theirs):
            out.append(("quantifier_changed", f"the passage says '{_scale_word(ew, name, theirs)}', "
                                              f"not '{_scale_word(cw, name, ranks)}'"))
        elif not theirs and max(ranks) >= len(t.scales[name]) - 1 - 1e-9 and name == "frequency":
            out.append(("quantifier_changed", f"the passage does not say '{_scale_word(cw, name, ranks)}'"))
    for table, rule in ((t.comparatives, "comparative_flipped"), (t.order, "order_changed")):
        c_sides = {table[x] for x in cw if x in table}
        e_sides = {table[x] for x in ew if x in table}
        if c_sides and e_sides and not c_sides & e_sides:
            mine = next(x for x in cw if x in table)
            theirs_w = next(x for x in ew if x in table)
            out.append((rule, f"the passage says '{theirs_w}', not '{mine}'"))
    c_units = {stem(x): x for x in _unit_words(claim)}
    e_written = _unit_words(evidence)
    e_units = {stem(x) for x in e_written}
    for u, written in c_units.items():
        dim = t.units[u]
        if u not in e_units and any(t.units[x] == dim for x in e_units):
            other = next(x for x in e_written if t.units[stem(x)] == dim)
            out.append(("unit_changed", f"the passage says '{other}', not '{written}'"))
            break
    return out


_UNIT_LEAD = frozenset({"per", "a", "an", "each", "every", "one", "several", "few", "many"})


def _unit_words(text: str) -> list[str]:
    """Unit words used as units: after a number or a "per"/"a"/"each" (within two words), or a unit
    adverb ("daily", read as "day")."""
    toks = re.findall(r"\d[\d,.]*|[a-z]+", text.lower())
    t = words()
    out = []
    for i, w in enumerate(toks):
        if w in t.unit_adverbs:
            out.append(t.unit_adverbs[w])
            continue
        if stem(w) not in t.units:
            continue
        lead = toks[max(0, i - 2):i]
        if any(x[0].isdigit() or x in _UNIT_LEAD or x in tables().numbers for x in lead):
            out.append(w)
    return out


def _scale_word(ws: list[str], name: str, ranks: set[float]) -> str:
    table = words().scales[name]
    for i in range(len(ws)):
        for n in (2, 1):
            ph = tuple(ws[i:i + n])
            if ph in table:
                return " ".join(ph)
    return ""


def unmet(claim: str, evidence: str, *, passage: str = "", nlp: Parser | None = None,
          strict_entities: bool = False) -> list[str]:
    """One readable reason per way `evidence` departs from `claim` (the reasons of `findings`).
    `strict_entities` also counts a capitalised word opening the claim as a name."""
    return [f.reason for f in findings(claim, evidence, passage=passage, nlp=nlp)
            if f.rule != "entity_weak" or strict_entities]


def _prefix_negations(c: Constraints, ev: _Evidence, add: Callable[[str], None]) -> None:
    """"vaccinated" where the evidence says "unvaccinated", and the reverse (prefixes in antonyms.toml)."""
    written = {stem(w): w for w in re.findall(r"[^\W\d_]+", ev.text)}
    for term in set(c.terms):
        for pre in tables().negating_prefixes:
            if term.startswith(pre) and term[len(pre):] in ev.stems and term not in ev.stems:
                add(f"the passage says '{written.get(term[len(pre):], term[len(pre):])}'")
            elif pre + term in ev.stems and term not in ev.stems:
                add(f"the passage says '{written.get(pre + term, pre + term)}'")
