"""A deterministic synthetic article corpus with a gold question set (no downloads).

Each article states unique facts (a made-up town, project, amount, official, year) amid
generic policy prose, so retrieval must find the one article that holds the answer.
Questions use both the article's words (BM25 helps) and paraphrases (dense helps).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SYL = ["ka", "lo", "mer", "dan", "vi", "sto", "rel", "ban", "tor", "mi", "sa", "gor", "len", "ful", "bri", "an",
       "del", "ros", "ven", "ha", "quil", "par", "nis", "ok", "tel"]
PROJECTS = [("desalination plant", "water"), ("tram line", "transport"), ("flood barrier", "climate"),
            ("hospital wing", "health"), ("school campus", "education"), ("solar farm", "energy"),
            ("bridge", "transport"), ("library", "culture"), ("fiber network", "digital"), ("harbor quay", "trade"),
            ("recycling plant", "waste"), ("bus depot", "transport"), ("housing estate", "housing"),
            ("wind farm", "energy"), ("water treatment works", "water"), ("sports arena", "culture")]
FIRST = ["Ana", "Jonas", "Mira", "Tomas", "Lena", "Omar", "Ines", "Karl", "Yara", "Pavel", "Sofia", "Rui", "Hana", "Leon"]
LAST = ["Varga", "Ode", "Kessler", "Moreau", "Dahl", "Brenner", "Rahman", "Okafor", "Vik", "Solberg", "Marsh", "Demir"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
FILLER = [
    "Council members debated the proposal for several hours before the vote.",
    "Residents had raised concerns at a series of public meetings last year.",
    "The regional government said it would monitor the budget closely.",
    "Critics argued that the money could have been spent on existing services.",
    "Supporters said the investment would create jobs and attract new businesses.",
    "An independent review of the plans is expected to be published next spring.",
    "The opposition called for a referendum, but the motion was defeated.",
    "Local newspapers had reported on the plan for months before the decision.",
    "Officials promised regular updates on the progress of construction.",
    "Environmental groups asked for stricter conditions on noise and dust.",
    "The contract will be awarded after an open tender later this year.",
    "Business associations welcomed the decision in a short statement.",
]


# for article-length documents: background paragraphs of varied, generated prose
SUBJECTS = ["The finance committee", "A spokesperson for the mayor", "Opposition councillors", "Local shop owners",
            "The regional auditor", "Engineers on the site", "A group of residents", "The national ministry",
            "Trade unions", "The chamber of commerce", "A university study", "The town's planning office",
            "Neighbouring municipalities", "Several families living nearby", "The project's lead contractor"]
VERBS = ["warned that", "argued that", "noted that", "said that", "confirmed that", "questioned whether",
         "estimated that", "pointed out that", "doubted that", "insisted that", "reported that"]
CLAUSES = ["the schedule could slip by {n} months", "costs had risen by {n} percent since the first estimate",
           "the {project} would ease pressure on the {topic} budget", "{n} households would be affected by the works",
           "the tender documents had been changed {n} times", "similar projects elsewhere took {n} years longer",
           "the council had ignored {n} written objections", "maintenance would cost about {n} thousand euros a year",
           "the {project} could be extended in a second phase", "the traffic plan for the works was incomplete",
           "the financing depended on a regional grant", "an environmental survey had found {n} protected species",
           "the decision had been rushed before the summer recess", "the site had been chosen {n} years ago",
           "public transport to the area would improve", "energy prices made the estimate uncertain"]
WHEN = ["Last week,", "In March,", "On Monday,", "Earlier this year,", "At a hearing in the spring,",
        "In a letter to the council,", "During the debate,", "In an interview,", ""]


def background(rnd: random.Random, project: str, topic: str, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        clause = rnd.choice(CLAUSES).format(n=rnd.randint(2, 90), project=project, topic=topic)
        when = rnd.choice(WHEN)
        subject = rnd.choice(SUBJECTS)
        out.append(f"{when} {subject[0].lower() + subject[1:] if when else subject} {rnd.choice(VERBS)} {clause}.".strip())
    return " ".join(out)


def town(rnd: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rnd.choice(SYL) for _ in range(rnd.randint(2, 3))).capitalize()
        if name not in used:
            used.add(name)
            return name


def make_corpus(folder: Path, n_docs: int, seed: int = 0, questions_every: int = 1,
                extra_paragraphs: int = 0) -> list[dict]:
    """Write n articles into `folder`; return gold items for every `questions_every`-th article.

    `extra_paragraphs` appends generated background (about 450 characters each), so the
    indexing benchmark sees article-length documents (8 give ~4,500 characters)."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    gold: list[dict] = []
    for i in range(n_docs):
        place = town(rnd, used)
        project, topic = rnd.choice(PROJECTS)
        amount = f"{rnd.randint(11, 980)} million"
        official = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        year = rnd.randint(2026, 2039)
        month = rnd.choice(MONTHS)
        workers = rnd.randint(40, 2400)
        reason = rnd.choice(["a growing population", "repeated floods", "an ageing network", "rising demand",
                             "new national targets", "a court ruling"])
        filler = rnd.sample(FILLER, 6)
        paragraphs = [
            f"The town council of {place} approved a new {project} on Tuesday, at a cost of {amount} euros. "
            f"{filler[0]}",
            f"Mayor {official} said the {project} was needed because of {reason}. {filler[1]} {filler[2]}",
            f"Construction is due to finish in {month} {year}, and about {workers} workers will be employed on the "
            f"site at its peak. {filler[3]}",
            f"{filler[4]} {filler[5]} The {topic} department of {place} will run the {project} once it opens.",
        ]
        paragraphs += [background(rnd, project, topic, 4) for _ in range(extra_paragraphs)]
        name = f"{i:05d}-{place.lower()}-{project.replace(' ', '-')}.txt"
        date = f"{rnd.choice(MONTHS)} {rnd.randint(1, 28)}, {rnd.randint(2019, 2025)}"
        title = f"{place} approves {project}"
        (folder / name).write_text(f"{date}\n\n{title}\n\nBy {rnd.choice(FIRST)} {rnd.choice(LAST)}\n\n"
                                   + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        if i % questions_every == 0:
            gold.append({"id": f"a{i}", "question": f"How much will the {project} in {place} cost?",
                         "answers": [amount], "sources": [name]})
            gold.append({"id": f"b{i}", "question": f"Why did {place} decide it needed a new {project}?",
                         "answers": [reason], "sources": [name]})
            gold.append({"id": f"c{i}", "question": f"When will work on {place}'s {project} be completed?",
                         "answers": [f"{month} {year}"], "sources": [name]})
    return gold


def write_gold(gold: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(g) + "\n" for g in gold), encoding="utf-8")
