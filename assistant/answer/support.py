"""Does a quote support a claim? Every rule is evidence for one learned decision.

A claim that shares nearly every word with its quote can still swap a name, a number, a hedge or
who did what to whom; an averaged similarity cannot see that, and a word-list rule tuned on claims
written here does not carry over to other writers. So the check gathers evidence where a
fact-checker looks (`Signals`):

1. what the claim commits to and the quote does not (`constraints.findings`): names, numbers,
   dates, negation, antonyms, hedges, quantifiers, comparatives, the order of events, units;
2. roles, when a spaCy parse is at hand (LLM path): the claim's subject and objects of a verb the
   quote shares are the quote's, not swapped, and the subject is the quote's;
3. an unsupported remainder: a clause of the claim whose words and meaning the quote lacks;
4. soft signals: embedding cosine, stem and typo tolerant coverage by the quote and the passage;

and `claim_model.ClaimModel`, fitted on real claims written by others, turns them into one
probability (`bench/train_claims.py`). Optionally a local NLI / cross-encoder model gives a second
opinion on what the model keeps. Claim pinning (which sentence of a cited passage a claim stands
on) lives here too.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from assistant.answer.citations import citation_for, markers_of, split_claims, strip_markers
from assistant.answer.claim_model import ClaimModel, Signals, load_model
from assistant.answer.constraints import Finding, entity_key, entity_met, findings, stem, tables, terms
from assistant.chunking import sentence_spans
from assistant.records import Citation, Passage

log = logging.getLogger(__name__)

SUPPORT_CACHE_SIZE = 4096  # texts whose vectors (and parses) the check keeps
CLAUSE_MIN_COVERAGE = 0.5  # share of a clause's content words the quote must have ...
CLAUSE_MIN_COSINE = 0.6  # ... unless the clause means the same as the quote
PIN_CANDIDATES = 4  # sentences of a passage compared by meaning when pinning a claim ...
PIN_CLEAR_LEAD = (0.6, 0.25)  # ... or only the one whose word overlap is this high and this far ahead
PIN_TRIES = 3  # of those, the best-scored this many are judged; the one the model trusts most is quoted
NOVEL_SCALE = 4  # content words of a claim that its passage lacks, at which the `novel` signal saturates
SECOND_OPINION_MIN = 0.5  # entailment probability the optional model must give
_CLAUSE_SPLIT = re.compile(r"\s*[,;:()—–]\s*|\s+(?=(?:and|but|while|whereas|which|who|because|although|though|"
                           r"after|before|so|as well as|plus)\s)", re.I)
_PRONOUNS = frozenset({"it", "they", "he", "she", "we", "i", "you", "this", "that", "which", "who", "its", "their",
                       "them", "him", "her", "us"})
SPEECH_ROLES = ("nsubj", "nsubjpass", "dobj", "obj", "dative", "pobj", "agent", "attr")


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Verdict:
    """Whether a quote supports a claim; `reason` is shown to the user when it does not."""

    ok: bool
    score: float
    reason: str = ""


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


# --- the optional spaCy parse ----------------------------------------------------------------

class ParserError(RuntimeError):
    """The configured spaCy pipeline cannot be used; the message says why."""


def load_parser(name: str) -> Any:
    """Load the spaCy pipeline package `name` (an importable module with `load()`), checked to be
    an English pipeline with a tagger and a dependency parser, for spaCy 3.x. Its NER is left out
    (a third of the parse time); the tagger's PROPN tags serve the entity rules."""
    try:
        module = importlib.import_module(name)
        nlp = module.load(exclude=["ner"])  # the capitalised-span rules and PROPN tags find names; NER costs a third
    except Exception as exc:  # ImportError, a broken package, an incompatible spaCy
        raise ParserError(f"cannot load spaCy pipeline {name!r}: {type(exc).__name__}: {str(exc)[:120]}") from exc
    meta = getattr(nlp, "meta", {}) or {}
    missing = {"parser", "tagger"} - set(nlp.pipe_names)
    if meta.get("lang") != "en" or missing or not str(meta.get("spacy_version", ">=3")).lstrip("<>=~^ ").startswith("3"):
        raise ParserError(f"spaCy pipeline {name!r} is not an English pipeline with a tagger and a parser "
                          f"(lang={meta.get('lang')!r}, missing={sorted(missing)}, spacy={meta.get('spacy_version')!r})")
    return nlp


def load_second_opinion(settings: Any) -> Callable[[str, str], float] | None:
    """The `support_model` second opinion (a local NLI / cross-encoder path), or None when unset.

    Loading a model runtime is `embeddings.py`'s job (`make_support_model(settings)`, returning
    claim-entailment probabilities); this only wires it in, lazily on first use.
    """
    path = getattr(settings, "support_model", None)
    if not path:
        return None
    from assistant import embeddings

    make = getattr(embeddings, "make_support_model", None)
    if make is None:
        raise SupportModelError(f"support_model = {path!r} is set, but this build has no loader for it "
                          "(assistant.embeddings.make_support_model)")
    model: list[Callable[[str, str], float]] = []

    def entails(claim: str, quote: str) -> float:
        if not model:
            model.append(make(settings))
        return model[0](claim, quote)

    return entails


class SupportModelError(RuntimeError):
    """The configured second-opinion model cannot be used; the message says why."""


# --- roles -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Arg:
    text: str
    keys: frozenset[str]  # folded stems of the argument's words
    names: bool  # holds a proper noun
    name_keys: frozenset[str] = frozenset()  # stems of its proper nouns only


@dataclass(frozen=True)
class _Frame:
    verb: str  # folded stem of the verb
    verb_text: str
    subj: _Arg | None
    obj: _Arg | None
    others: tuple[_Arg, ...]  # prepositional objects, datives


def _arg(tok: Any) -> _Arg | None:
    if tok is None:
        return None
    # "most of the canals" -> the canals
    if tok.lower_ in ("most", "some", "part", "all", "half", "many", "much", "none", "one", "each", "any"):
        of = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        inner = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
        if inner is not None:
            tok = inner
    words = [tok] + [c for c in tok.subtree if c.i != tok.i and c.dep_ in ("compound", "amod", "poss", "flat", "nmod",
                                                                            "appos", "conj", "pobj", "prep")
                     and c.head.i in (tok.i,) + tuple(x.i for x in tok.children)]
    keys: set[str] = set()
    for w in words:
        if w.pos_ == "PRON":
            keys.add(w.lemma_.lower())
        else:
            keys.update(terms(w.text))
    text = " ".join(t.text for t in sorted(words, key=lambda t: t.i))
    name_keys = frozenset(k for w in words if w.pos_ == "PROPN" for k in terms(w.text))
    return _Arg(text, frozenset(keys), bool(name_keys), name_keys)


def _frames(doc: Any) -> list[_Frame]:
    out: list[_Frame] = []
    for tok in doc:
        if tok.pos_ != "VERB":
            continue
        subj = obj = None
        passive = False
        others: list[Any] = []
        for c in tok.children:
            if c.dep_ in ("nsubj", "csubj"):
                subj = c
            elif c.dep_ == "nsubjpass":
                obj, passive = c, True
            elif c.dep_ in ("dobj", "obj") and obj is None:
                obj = c
            elif c.dep_ == "agent":
                subj = next((g for g in c.children if g.dep_ == "pobj"), subj)
            elif c.dep_ == "dative":
                others.append(next((g for g in c.children if g.dep_ == "pobj"), c))
            elif c.dep_ == "prep":
                others.extend(g for g in c.children if g.dep_ == "pobj")
        if obj is not None:  # "demanded guarantees from the U.S.": the object's own prepositional objects
            others.extend(g for c in obj.children if c.dep_ == "prep" for g in c.children if g.dep_ == "pobj")
        if subj is not None and subj.tag_ in ("WDT", "WP") and tok.dep_ == "relcl":
            subj = tok.head  # "the river, which feeds the canals": the river feeds
        head = tok
        while subj is None and not passive and head.dep_ in ("xcomp", "conj", "advcl") and head.head is not head:
            head = head.head  # "the board agreed to pipe": the board pipes
            subj = next((c for c in head.children if c.dep_ in ("nsubj", "csubj")), None)
            if subj is None and head.dep_ == "relcl":
                subj = head.head
        folded = terms(tok.lemma_) or [stem(tok.lemma_)]
        out.append(_Frame(folded[-1], tok.text, _arg(subj), _arg(obj), tuple(a for a in map(_arg, others) if a)))
    return out


def _same(a: _Arg | None, b: _Arg | None) -> bool:
    if a is None or b is None:
        return False
    if a.names and b.names:  # "Union leader Marta Kowal" is not "chief executive Graham Pike"
        return bool(a.name_keys & b.name_keys) or entity_met(a.text, b.text) or entity_met(b.text, a.text)
    if a.keys & b.keys:
        return True
    return (a.names or b.names) and entity_met(a.text, b.text)


def _pronoun(a: _Arg | None) -> bool:
    return a is None or not a.names and bool(a.keys) and a.keys <= _PRONOUNS


def role_finding(claim_doc: Any, quote_doc: Any) -> Finding | None:
    """How the claim's roles differ from the quote's for a verb both use: the roles swapped
    (`roles_reversed`) or another named subject (`other_subject`: who said it, who did it)."""
    quote_frames = _frames(quote_doc)
    for cf in _frames(claim_doc):
        for qf in quote_frames:
            if cf.verb != qf.verb:
                continue
            q_nonsubj = [a for a in (qf.obj, *qf.others) if a]
            c_nonsubj = [a for a in (cf.obj, *cf.others) if a]
            reversed_ = f"the passage has the roles the other way round ('{_says(qf)}')"
            if cf.subj and qf.subj and not _pronoun(cf.subj) and not _same(cf.subj, qf.subj) and any(
                    _same(cf.subj, a) for a in q_nonsubj):  # "players trained" is "players were trained"
                return Finding("roles_reversed", reversed_)
            if qf.subj and not _pronoun(qf.subj) and not _pronoun(cf.subj) and any(
                    _same(a, qf.subj) and not any(_same(a, b) for b in q_nonsubj) for a in c_nonsubj) \
                    and not _same(cf.subj, qf.subj):
                return Finding("roles_reversed", reversed_)
            if (cf.subj and qf.subj and cf.subj.names and qf.subj.names and not _pronoun(qf.subj)
                    and not _same(cf.subj, qf.subj)):
                return Finding("other_subject", f"the passage says '{qf.subj.text}' {qf.verb_text}, not '{cf.subj.text}'")
    return None


def _says(f: _Frame) -> str:
    parts = [f.subj.text if f.subj else "", f.verb_text, f.obj.text if f.obj else ""]
    return " ".join(p for p in parts if p)


# --- the checker -----------------------------------------------------------------------------

class SupportChecker:
    """Judges claims against quotes; holds the embedder (lazily), a vector cache and the optional parser.

    `embedder` is an object with `encode(list[str])` or a zero-argument callable returning one (so
    the model loads on first use). `spacy_model` names the parser package ("" for none); it loads
    only when `use_parser()` is called (the LLM path). `model` is the claim decision (the packaged
    `claim_model.json` by default; `claim_threshold` moves its bar). `second_opinion(claim, quote)` returns the probability that the
    quote entails the claim. `threshold` is kept for the graded `score` callers only.
    """

    def __init__(self, embedder: Encoder | Callable[[], Encoder], threshold: float = 0.5, spacy_model: str = "",
                 second_opinion: Callable[[str, str], float] | None = None,
                 cache_size: int = SUPPORT_CACHE_SIZE, model: ClaimModel | None = None,
                 claim_threshold: float | None = None) -> None:
        self._embedder_src = embedder
        self.model = model or load_model()
        if claim_threshold is not None:  # a stricter or looser point on the fitted model's curve (bench/support.py)
            self.model = dataclasses.replace(self.model, threshold=claim_threshold)
        self._embedder: Encoder | None = None if callable(embedder) and not hasattr(embedder, "encode") else embedder  # type: ignore[assignment]
        self.threshold = threshold
        self.spacy_model = spacy_model
        self.second_opinion = second_opinion
        self.cache_size = cache_size
        self._vectors: dict[str, np.ndarray] = {}
        self._docs: OrderedDict[str, Any] = OrderedDict()
        self._nlp: Any = None
        self._parser_state = "off"  # off | loading | ready | failed
        self._parser_lock = threading.Lock()
        self._parser_ready = threading.Event()
        self._parse_lock = threading.Lock()  # one spaCy pipeline, maybe several asking threads (the chat's workers)

    # embeddings ---------------------------------------------------------------------------

    @property
    def embedder(self) -> Encoder:
        if self._embedder is None:
            self._embedder = self._embedder_src()  # type: ignore[operator]
        return self._embedder

    def vector(self, text: str) -> np.ndarray:
        """The text's embedding, cached: pinning compares a claim with every sentence of a passage."""
        vec = self._vectors.get(text)
        if vec is None:
            if len(self._vectors) >= self.cache_size:
                self._vectors.clear()
            vec = self._vectors[text] = self.embedder.encode([text])[0]
        return vec

    def prefetch(self, texts: Sequence[str]) -> None:
        """Embed the texts not cached yet in one model call."""
        need = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if need:
            if len(self._vectors) + len(need) > self.cache_size:
                self._vectors.clear()
            for t, v in zip(need, self.embedder.encode(need)):
                self._vectors[t] = v

    def cosine(self, a: str, b: str) -> float:
        return float(max(0.0, self.vector(a) @ self.vector(b)))

    # parser -------------------------------------------------------------------------------

    def use_parser(self, wait: bool = True) -> Any:
        """Start loading the spaCy pipeline (once; in the background when `wait` is False) and
        return it, or None when it is off, failed or still loading."""
        with self._parser_lock:
            if self._parser_state == "off" and self.spacy_model:
                self._parser_state = "loading"
                threading.Thread(target=self._load_parser, name="spacy-load", daemon=True).start()
        if self._parser_state == "loading" and wait:
            self._parser_ready.wait()
        return self._nlp if self._parser_state == "ready" else None

    def _load_parser(self) -> None:
        try:
            nlp = load_parser(self.spacy_model)
            self._nlp, self._parser_state = nlp, "ready"
        except ParserError as exc:
            log.warning("%s; the claim check runs without role checks", exc)
            self._parser_state = "failed"
        finally:
            self._parser_ready.set()

    def _parse_all(self, texts: Sequence[str]) -> None:
        """Parse the texts not cached yet in one pipeline call."""
        need = [t for t in dict.fromkeys(texts) if t not in self._docs]
        with self._parse_lock:
            docs = list(self._nlp.pipe(need)) if need else []
        for t, doc in zip(need, docs):
            self._docs[t] = doc
        while len(self._docs) > self.cache_size:
            self._docs.popitem(last=False)

    def _parse(self, text: str) -> Any:
        doc = self._docs.get(text)
        if doc is None:
            with self._parse_lock:
                doc = self._docs[text] = self._nlp(text)
            if len(self._docs) > self.cache_size:
                self._docs.popitem(last=False)
        else:
            self._docs.move_to_end(text)
        return doc

    # scoring ------------------------------------------------------------------------------

    def score(self, claim: str, quote: str) -> float:
        """Graded support, for ranking a passage's sentences: content overlap and meaning."""
        claim = strip_markers(claim)
        if _plain(claim) == _plain(quote):
            return 1.0
        return 0.5 * coverage(claim, quote) + 0.5 * self.cosine(claim, quote)

    def signals(self, claim: str, quote: str, passage: str = "", parse: bool = True) -> Signals:
        """The evidence on `claim` against `quote` (and the names of `passage`); `parse=False` skips
        the parse-based rules (pinning compares sentences with the cheap ones)."""
        claim = strip_markers(claim)
        nlp = self._nlp if parse and self._parser_state == "ready" else None
        if nlp is not None:
            self._parse_all([claim, quote])
            found = findings(claim, quote, passage=passage, nlp=self._parse)
            role = role_finding(self._parse(claim), self._parse(quote))
            if role is not None:
                found.append(role)
        else:
            found = findings(claim, quote, passage=passage)
        clause, clause_cov = self._weakest_clause(claim, quote)
        if clause:
            found.append(Finding("unsupported_clause", f"the passage does not say '{clause}'"))
        own = set(terms(claim))
        pool = _support_terms(passage or quote)
        novel = sum(1 for t in own if not _has(t, pool))
        soft = {"cosine": self.cosine(claim, quote), "coverage": coverage(claim, quote),
                "passage_coverage": coverage(claim, passage) if passage else coverage(claim, quote),
                "novel": min(1.0, novel / NOVEL_SCALE), "clause_coverage": clause_cov}
        return Signals(tuple(found), soft)

    def judge(self, claim: str, quote: str, passage: str = "", parse: bool = True) -> Verdict:
        """Whether `quote` supports `claim`, and the reason the user reads when it does not."""
        claim = strip_markers(claim)
        plain_claim, plain_quote = _plain(claim), _plain(quote)
        if plain_claim and plain_claim == plain_quote:
            return Verdict(True, 1.0)  # the quote itself (a piece of it may drop a "not" or a "critics say": judged)
        decision = self.model.decide(self.signals(claim, quote, passage, parse))
        if not decision.ok:
            return Verdict(False, decision.probability, decision.reason)
        if self.second_opinion is not None:
            p = float(self.second_opinion(claim, quote))
            if p < SECOND_OPINION_MIN:
                return Verdict(False, min(decision.probability, p),
                               f"the second-opinion model doubts it (entailment {p:.2f})")
        return Verdict(True, decision.probability)

    def unsupported_clause(self, claim: str, quote: str) -> str:
        """The first clause of `claim` whose content the quote lacks, or ""."""
        return self._weakest_clause(claim, quote)[0]

    def _weakest_clause(self, claim: str, quote: str) -> tuple[str, float]:
        """The first unsupported clause ("" if none) and the lowest share of a clause's content words
        the quote has."""
        quote_terms = _support_terms(quote)
        lowest = 1.0
        for clause in clauses(claim):
            own = [t for t in _support_terms(clause) if not _numeric(t)]
            if len(own) < 2:
                continue
            missing = [t for t in own if not _has(t, quote_terms)]
            lowest = min(lowest, 1 - len(missing) / len(own))
            if len(missing) < 2 or 1 - len(missing) / len(own) >= CLAUSE_MIN_COVERAGE:
                continue
            if self.cosine(clause, quote) >= CLAUSE_MIN_COSINE:
                continue
            return (clause if len(clause) <= 80 else clause[:77] + "..."), lowest
        return "", lowest

    def premise_conflict(self, question: str, quote: str, wait: bool = True) -> str | None:
        """The one line to say when `quote` contradicts the premise of `question` (`premise.py`), else
        None; None too without a parser (off, failed, or still loading when `wait` is False)."""
        from assistant.answer.premise import premise_conflict, presupposes

        if not presupposes(question) or self.use_parser(wait=wait) is None:
            return None
        return premise_conflict(question, quote, self._parse)

    # pinning ---

    def pin(self, claim: str, passage: Passage, tries: int = PIN_TRIES) -> tuple[int, int, float]:
        """(start, end, score) of the sentence of `passage` that supports `claim`: of the `tries`
        best scored, the one the claim model trusts most (the cheap, parse-free signals)."""
        ch = passage.chunk
        spans = sentence_spans(ch.text)
        prose = [(a, b) for a, b in spans if ch.text[a:b].rstrip()[-1:] in ".!?\"'”’)"]
        spans = prose or spans  # a headline, byline or dateline is no quote for a claim (the most lenient)
        # embed only the sentences sharing most words with the claim; one, when it clearly leads
        by_words = sorted(((coverage(claim, ch.text[s:e]), s, e) for s, e in spans), reverse=True)
        lead = len(by_words) == 1 or by_words[0][0] >= PIN_CLEAR_LEAD[0] and \
            by_words[0][0] - by_words[1][0] >= PIN_CLEAR_LEAD[1]
        spans = [(s, e) for _, s, e in by_words[:1 if lead else PIN_CANDIDATES]]
        self.prefetch([strip_markers(claim)] + [ch.text[s:e] for s, e in spans])
        ranked = sorted(((self.score(claim, ch.text[s:e]), s, e) for s, e in spans), reverse=True)
        if not ranked:
            return ch.start, ch.end, 0.0
        if len(ranked) == 1 or tries <= 1:
            score, s, e = ranked[0]
            return ch.start + s, ch.start + e, score
        trusted = [(self.model.probability(self.signals(claim, ch.text[s:e], ch.text, parse=False)), -i)
                   for i, (_, s, e) in enumerate(ranked[:tries])]
        _, i = max(trusted)
        score, s, e = ranked[-i]
        return ch.start + s, ch.start + e, score

    def pin_claims(self, raw: str, passages: Sequence[Passage], warnings: list[str]) -> tuple[str, list[Citation]]:
        """Give each claim of a model's answer, per passage number it cites, the sentence of that
        passage that best supports it; returns the answer with markers renumbered to those citations."""
        citations: list[Citation] = []
        claims_out: list[str] = []
        for claim in split_claims(raw):
            body = strip_markers(claim)
            numbers = []
            for n in dict.fromkeys(markers_of(claim)):
                if not 1 <= n <= len(passages):
                    warnings.append(f"removed citation [{n}]: it refers to no retrieved passage")
                    continue
                start, end, score = self.pin(body, passages[n - 1])
                citations.append(citation_for(len(citations) + 1, passages[n - 1], start, end, score))
                numbers.append(len(citations))
            claims_out.append((body + " " + "".join(f"[{n}]" for n in numbers)).strip())
        return " ".join(claims_out), citations


# --- words -----------------------------------------------------------------------------------

def clauses(claim: str) -> list[str]:
    """The claim cut at commas, semicolons, dashes and clause-joining words; tiny pieces join the one before."""
    out: list[str] = []
    for piece in _CLAUSE_SPLIT.split(strip_markers(claim).rstrip(".!?")):
        piece = piece.strip()
        if not piece:
            continue
        if out and len(terms(piece)) < 2:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _support_terms(text: str) -> set[str]:
    """Content stems plus the antonym-axis side of each ("climbed" and "rose" are both direction+)."""
    t = tables()
    out = set(terms(text))
    for term in list(out):
        for axis, sign in t.axes.get(term, []):
            out.add(f"{axis}{'+' if sign > 0 else '-'}")
    return out


def _has(term: str, pool: set[str]) -> bool:
    if term in pool:
        return True
    for axis, sign in tables().axes.get(term, []):
        if f"{axis}{'+' if sign > 0 else '-'}" in pool:
            return True
    if len(term) >= 5:  # kilometres / kilometers, organisation / organization
        return any(len(p) >= 5 and (p.startswith(term[:5]) and _prefix(term, p) >= 0.8) for p in pool)
    return False


def _prefix(a: str, b: str) -> float:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n / min(len(a), len(b))


_NUMBER_WORDS: frozenset[str] | None = None


def _numeric(term: str) -> bool:
    global _NUMBER_WORDS
    if _NUMBER_WORDS is None:
        t = tables()
        _NUMBER_WORDS = frozenset(stem(w) for w in [*t.numbers, *t.scales, *t.ordinals])
    return term[:1].isdigit() or term in _NUMBER_WORDS


def coverage(claim: str, quote: str) -> float:
    """Share of the claim's content words the quote has (stems, synonyms, same-side antonym-axis words)."""
    own = [t for t in set(terms(claim))]
    if not own:
        return 0.0
    pool = _support_terms(quote)
    return sum(1 for t in own if _has(t, pool)) / len(own)


__all__ = ["SupportChecker", "Verdict", "ParserError", "SupportModelError", "load_second_opinion", "load_parser",
           "role_finding", "clauses", "coverage", "entity_key", "sentence_spans"]
