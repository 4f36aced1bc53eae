"""All benchmarks in one table: metric | ours | baseline | ratio | target.

    python bench/run.py [--quick]      (also: make bench)

Baselines are measured in the same run on the same data: the naive LangChain pipeline
(RecursiveCharacterTextSplitter + HuggingFaceEmbeddings + Chroma) and plain dense retrieval.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import answer, backends, ceiling, index, scale  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    args = ap.parse_args()
    rows = []
    sections = [lambda: index.cold(40 if args.quick else 150, index.BACKENDS[:1] if args.quick else index.BACKENDS,
                                   1 if args.quick else 3),
                lambda: backends.run(*((100, 60, 3) if args.quick else (300, 150, 5))),
                lambda: ceiling.run(1 if args.quick else 3),
                lambda: index.reindex(300 if args.quick else 1000),
                lambda: answer.run(200 if args.quick else 1000),
                lambda: scale.run(20_000 if args.quick else 100_000)]
    for section in sections:
        rows += section()
        index.print_rows(rows)  # the table so far, in case a later section fails
        print(flush=True)


if __name__ == "__main__":
    main()
