"""Crash and fuzz figures: SIGKILL an index run many times, fuzz the loaders; print the counts.

    python bench/reliability.py [--trials 20] [--docs 300] [--fuzz 500]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def fuzz(cases: int, seed: int = 0) -> dict[str, int]:
    from assistant.ingest.clean import clean
    from assistant.ingest.loaders import LoadError, load

    rnd = random.Random(seed)
    crashes = refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(cases):
            suffix = rnd.choice([".txt", ".md", ".html", ".pdf"])
            path = Path(tmp) / f"f{i}{suffix}"
            data = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 3000)))
            if rnd.random() < 0.5:
                data = rnd.choice([b"<html><div>" * 50, b"%PDF-1.4\n", b"December 12, 2020\n\nBy A and B\n\n"]) + data
            path.write_bytes(data)
            try:
                clean(load(path), path.name)
            except LoadError:
                refused += 1
            except Exception as exc:  # noqa: BLE001 - a crash is what we count
                crashes += 1
                print(f"crash on case {i}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return {"fuzz cases": cases, "fuzz crashes": crashes, "fuzz files refused with a reason": refused}


def main() -> None:
    from tests.test_crash import kill_index_trials

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--fuzz", type=int, default=500)
    args = ap.parse_args()
    figures: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = kill_index_trials(Path(tmp), args.trials, args.docs, seed=11)
            figures.update({"kill -9 trials": result["trials"], "crashes survived": result["survived"],
                            "kills that landed mid-run": result["interrupted_mid_run"],
                            "documents lost": args.docs - result["docs"],
                            "trials with duplicate or orphaned chunks (checked after each kill)": 0})
        except AssertionError as exc:
            figures.update({"kill -9 trials": args.trials, "FAILED": 1})
            print(f"consistency check failed: {exc}", file=sys.stderr)
    figures.update(fuzz(args.fuzz))
    for k, v in figures.items():
        print(f"{k:<36} {v}")


if __name__ == "__main__":
    main()
