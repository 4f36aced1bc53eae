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


def town(rnd: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rnd.choice(SYL) for _ in range(rnd.randint(2, 3))).capitalize()
        if name not in used:
            used.add(name)
            return name


def make_corpus(folder: Path, n_docs: int, seed: int = 0, questions_every: int = 1) -> list[dict]:
    """Write n articles into `folder`; return gold items for every `questions_every`-th article."""
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
