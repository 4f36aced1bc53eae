"""A follow-up question turned into the question that is searched for.

"what did it do instead?" names nothing to search for: its subject lives in the earlier
turns. Offline (the default) a follow-up is recognised by its form (a pronoun or
demonstrative with no name before it, "there", "that article", an opener such as
"what about …" or "and when?", or a question of one or two topic words) and searched for
with its own words plus the salient terms of the conversation: the names and topic words
of the earlier questions, and the names in the passages their answers cited. The
follow-up's own words weigh most (they are repeated in the keyword query), and the
articles the conversation cited win close calls (a soft boost, never a filter). A question
that is not a follow-up is searched for as it stands, so a new topic is not dragged back.

With a language model (`condense = "llm"`, or `"auto"` with the LLM answerer) the model
rewrites what the offline step recognised as a follow-up, through `prompts/condense.txt`; a rewrite that drops the follow-up's
own topic words is rejected, and any endpoint fault falls back to the offline rewrite.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from assistant.answer.citations import STOPWORDS, content_terms
from assistant.answer.constraints import extract
from assistant.records import Passage, Turn

if TYPE_CHECKING:
    from assistant.config import Settings

RULES_FILE = Path(__file__).with_name("conversation_rules.toml")
CONTEXT_TERMS = 5  # salient conversation terms added to a follow-up's search
OWN_WEIGHT = 2  # the follow-up's own words are repeated this often in the keyword query
TURN_DECAY = 0.5  # an older turn's terms count this fraction of the next newer one's
BOOST = 0.06  # added to the fused score of passages from articles the conversation cited

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*\.?", re.UNICODE)
_NUMBER = re.compile(r"\b\d[\d,.]*\b")


@dataclass(frozen=True)
class Rules:
    pronouns: frozenset[str]
    demonstratives: frozenset[str]
    that_after: frozenset[str]
    existential_after_there: frozenset[str]
    existential_before_there: frozenset[str]
    ellipsis: tuple[re.Pattern[str], ...]
    article_refs: tuple[re.Pattern[str], ...]
    max_short_terms: int
    generic: frozenset[str]
    light_verbs: frozenset[str]
    continuation: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=2)
def load_rules(path: Path = RULES_FILE) -> Rules:
    d = tomllib.loads(path.read_text(encoding="utf-8"))
    return Rules(frozenset(d["pronouns"]), frozenset(d["demonstratives"]), frozenset(d["that_after"]),
                 frozenset(d["existential_after_there"]), frozenset(d["existential_before_there"]), tuple(re.compile(p, re.I) for p in d["ellipsis"]),
                 tuple(re.compile(p, re.I) for p in d["article_refs"]), int(d["max_short_terms"]),
                 frozenset(d["generic"]), frozenset(d["light_verbs"]),
                 tuple(re.compile(p, re.I) for p in d["continuation"]))


@dataclass
class Condensed:
    """What a question becomes before retrieval."""

    question: str  # as asked
    standalone: str  # what is searched for and answered (shown as "searched for: …" when it differs)
    followup: bool = False
    reason: str = ""  # why it was taken as a follow-up ("pronoun 'it'", "opener 'what about'", …)
    lexical_query: str = ""  # the keyword query: own words weighted over the context terms
    context_terms: list[str] = field(default_factory=list)
    docs: dict[str, float] = field(default_factory=dict)  # doc_id -> weight: articles the conversation is about
    method: str = "none"  # none | offline | llm
    own: str = ""  # the follow-up's own words (a leading "and"/"but" dropped)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.standalone != self.question

    @property
    def own_subject(self) -> bool:
        """The follow-up names a subject of its own ("what about Iran?", "did Oslo agree?"): it may be
        answered from any article. "When will it open?" names none: only the conversation's articles."""
        return self.reason.startswith("opener") or bool(extract(self.own or self.question).entities)

    @property
    def answer_text(self) -> str:
        """What answer sentences are scored against: the follow-up's own words when it has topic
        words of its own (retrieval already brought the conversation in; on
        examples/conversations.jsonl 0.80 answer hits against 0.57 with the context terms), else
        the whole standalone question ("what did it do instead?" has nothing else to go on)."""
        return self.own if self.own and topic_terms(self.own) else self.standalone


# --- recognising a follow-up ----------------------------------------------------------------

def names(text: str, weak: bool = True) -> list[str]:
    """The names in `text` ("Russia", "North Korea", "U.S."), as `constraints.extract` finds them;
    `weak=False` leaves out a lone capitalised word that merely opens a sentence."""
    return list(dict.fromkeys(e.text.strip(" .'’") if not re.fullmatch(r"(?:[A-Z]\.)+", e.text) else e.text
                              for e in extract(text).entities if weak or not e.weak))


def _tokens(text: str) -> list[str]:
    return [w.lower().rstrip(".") for w in _WORD.findall(text)]


def followup_reason(question: str, history: Sequence[Turn]) -> str:
    """Why `question` leans on the conversation ("" when it stands on its own)."""
    if not history:
        return ""
    rules = load_rules()
    q = question.strip()
    for pattern in rules.ellipsis:
        m = pattern.search(q)
        if m:
            return f"opener {m.group(0).strip()!r}"
    for pattern in rules.article_refs:
        m = pattern.search(q)
        if m:
            return f"reference {m.group(0)!r}"
    toks = _tokens(q)
    own_names = names(q)
    first_name_at = min((q.find(n) for n in own_names), default=len(q))
    pos = 0
    for i, t in enumerate(toks):
        at = q.lower().find(t, pos)
        pos = at + len(t) if at >= 0 else pos
        if at >= 0 and at > first_name_at:
            break  # a name comes before: the question carries its own antecedent
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        prev = toks[i - 1] if i else ""
        if t in rules.pronouns or t in rules.demonstratives:
            return f"pronoun {t!r}"
        if t == "that" and (prev in rules.that_after or not nxt):
            return "demonstrative 'that'"
        if (t == "there" and i > 0 and nxt not in rules.existential_after_there
                and prev not in rules.existential_before_there):
            return "place 'there'"
    if not own_names and len(topic_terms(q)) <= rules.max_short_terms:
        return "short question"
    return ""


def topic_terms(text: str) -> list[str]:
    """Stemmed content words minus question words and the like."""
    generic = {t for g in load_rules().generic for t in content_terms(g)}
    return [t for t in dict.fromkeys(content_terms(text)) if t not in generic]


def _topic_words(text: str) -> list[str]:
    """The surface forms of `topic_terms` (what a person reads in "searched for: …")."""
    rules = load_rules()
    out = []
    for w in _WORD.findall(text):
        lw = w.lower().rstrip(".")
        if lw in STOPWORDS or lw in rules.generic or lw in rules.pronouns or len(lw) < 2 and not lw.isdigit():
            continue
        if not content_terms(lw):
            continue
        out.append(w.rstrip("."))
    return list(dict.fromkeys(out))


# --- the offline rewrite ----------------------------------------------------------------------

def current_topic(history: Sequence[Turn]) -> Sequence[Turn]:
    """The turns since the conversation last changed topic: from the newest question asked without
    a follow-up's context ("How much will the Velmar plant cost?" after a question on Russia) to the
    end. A follow-up is about these, not about the topics before them."""
    for i in range(len(history) - 1, -1, -1):
        asked = history[i].standalone_question or history[i].question
        if _strip_context(asked) == asked.strip():
            return history[i:]
    return history


def salient_terms(history: Sequence[Turn], exclude: Sequence[str] = ()) -> list[tuple[str, float]]:
    """Terms of the earlier turns by salience: names and topic words of their questions first,
    then names (and numbers) in the passages their answers quoted; newer turns count more."""
    scores: dict[str, float] = {}
    surface: dict[str, str] = {}
    excluded = {t for e in exclude for t in content_terms(e)}

    def add(word: str, weight: float) -> None:
        key = " ".join(content_terms(word))
        if not key or key in excluded or all(t in excluded for t in key.split()):
            return
        scores[key] = scores.get(key, 0.0) + weight
        surface.setdefault(key, word)

    weight = 1.0
    for turn in reversed(current_topic(history)):
        asked = turn.standalone_question or turn.question
        asked = _strip_context(asked)
        for n in names(asked):
            add(n, 3.0 * weight)
        for w in _topic_words(asked):
            add(w, 2.0 * weight)
        if turn.answered:
            for c in turn.citations:
                for n in names(c.quote, weak=False):
                    add(n, 0.7 * weight)
                for n in _NUMBER.findall(asked):
                    add(n, 0.5 * weight)
        weight *= TURN_DECAY
    # a name that contains another ("North Korea" / "Korea") keeps the longer form only
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[tuple[str, float]] = []
    for key, score in ranked:
        if any(key != other and key in other for other, _ in out):
            continue
        out.append((key, score))
    return [(surface[k], s) for k, s in out]


def asks_what_followed(question: str) -> bool:
    """A follow-up asking what came after, or instead of, what the last answer said ("what did it
    do instead?", "and then?"): its answer is likely the narrative's next step."""
    return any(p.search(question) for p in load_rules().continuation)


def _strip_context(standalone: str) -> str:
    """An earlier standalone question without the context it was given ("… (Russia, guarantees)")."""
    return re.sub(r"\s*\((?:about|context):[^()]*\)\s*$", "", standalone).strip()


def conversation_docs(history: Sequence[Turn]) -> dict[str, float]:
    """Articles the conversation cited, the newest turn's weighing most."""
    docs: dict[str, float] = {}
    weight = 1.0
    for turn in reversed(current_topic(history)):
        if turn.answered:
            for c in turn.citations:
                docs[c.doc_id] = max(docs.get(c.doc_id, 0.0), weight)
        weight *= TURN_DECAY
    return docs


def condense_offline(question: str, history: Sequence[Turn]) -> Condensed:
    """The follow-up's own words plus the conversation's salient terms (see the module doc)."""
    reason = followup_reason(question, history)
    if not reason:
        return Condensed(question, question, lexical_query=question)
    own = question.strip()
    own = re.sub(r"^(and|but|also|so|then|plus)\b[\s,]*", "", own, flags=re.I) or own
    context = [t for t, _ in salient_terms(history, exclude=[own])][:CONTEXT_TERMS]
    standalone = f"{own} (about: {', '.join(context)})" if context else own
    own_words = " ".join(dict.fromkeys(_topic_words(own) + names(own)))
    lexical = " ".join([own] + [own_words] * (OWN_WEIGHT - 1) + context)
    return Condensed(question, standalone, True, reason, lexical, context, conversation_docs(history), "offline",
                     own=own)


def prefer_conversation(passages: Sequence[Passage], docs: dict[str, float], k: int,
                        boost: float = BOOST) -> list[Passage]:
    """The top `k` after a small boost for articles the conversation is about: it decides close
    calls only, a clearly better passage from another article still wins."""
    if not docs:
        return list(passages[:k])
    rescored = sorted(passages, key=lambda p: p.score + boost * docs.get(p.chunk.doc_id, 0.0), reverse=True)
    return rescored[:k]


# --- the LLM rewrite --------------------------------------------------------------------------

class CondenseError(RuntimeError):
    """The model's rewrite could not be used; the message says why, in one line."""


def load_condense_prompt(settings: "Settings") -> str:
    from assistant.config import default_prompts_dir

    folder = settings.prompts_dir or default_prompts_dir()
    try:
        return (folder / "condense.txt").read_text(encoding="utf-8")
    except OSError as exc:
        raise CondenseError(f"cannot read {folder / 'condense.txt'}: {exc.strerror or exc}") from exc


def format_history(history: Sequence[Turn], answer_chars: int = 300) -> str:
    lines = []
    for t in history:
        lines.append(f"User: {t.question}")
        answer = re.sub(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]", "", t.answer or "").strip()
        if len(answer) > answer_chars:
            answer = answer[:answer_chars].rsplit(" ", 1)[0] + " …"
        lines.append(f"Assistant: {answer}")
    return "\n".join(lines)


def accept_rewrite(question: str, rewrite: str) -> str:
    """The model's rewrite, or CondenseError when it is no question or drops the follow-up's words."""
    text = rewrite.strip().strip('"“”').strip()
    text = re.sub(r"^(standalone question|rewritten question|question)\s*:\s*", "", text, flags=re.I).strip()
    text = text.splitlines()[0].strip() if text else ""
    if not text or len(text) > 400:
        raise CondenseError("the model's rewrite was empty or too long")
    kept = set(content_terms(text))
    missing = [w for w in _topic_words(question) if not set(content_terms(w)) <= kept]
    if missing:
        raise CondenseError(f"the model's rewrite dropped {', '.join(repr(w) for w in missing)}")
    return text


def condense_llm(question: str, history: Sequence[Turn], settings: "Settings", chat_model: Any = None) -> Condensed:
    """The model's standalone question; on any fault the offline rewrite with a one-line warning."""
    offline = condense_offline(question, history)
    if not offline.followup:
        return offline  # a new topic is searched as asked: no model call, nothing dragged back
    try:
        from assistant.answer.llm import make_chat_model

        template = load_condense_prompt(settings)
        model = chat_model if chat_model is not None else make_chat_model(settings)
        prompt = template.format(history=format_history(history), question=question)
        reply = model.invoke(prompt)
        content = reply.content if isinstance(reply.content, str) else "".join(
            p.get("text", "") if isinstance(p, dict) else str(p) for p in reply.content)
        standalone = accept_rewrite(question, content)
    except Exception as exc:  # endpoint down, timeout, garbage, a rewrite we cannot trust
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        offline.warnings.append(f"could not rewrite the follow-up with the model ({reason}); searched offline instead")
        return offline
    lexical = " ".join([standalone] + [question] * (OWN_WEIGHT - 1))
    return Condensed(question, standalone, standalone != question, "model rewrite", lexical,
                     offline.context_terms, conversation_docs(history), "llm")


def condense(question: str, history: Sequence[Turn] | None, settings: "Settings", answerer: str,
             chat_model: Any = None) -> Condensed:
    """Dispatch on `settings.condense`: offline | llm | auto (the model when the answerer is llm)."""
    history = list(history or [])[-settings.history_turns:] if settings.history_turns > 0 else []
    mode = settings.condense
    if mode not in ("auto", "offline", "llm"):
        raise ValueError(f"unknown condense {mode!r} (use auto, offline or llm)")
    if mode == "llm" or (mode == "auto" and answerer == "llm"):
        return condense_llm(question, history, settings, chat_model)
    return condense_offline(question, history)
