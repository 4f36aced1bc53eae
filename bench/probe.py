"""Is there an answerability signal inside the cross-encoder, beyond its one logit?

    pip install onnx                                     # only this script needs it
    python bench/probe.py --extra PATH/dev-v2.0.json     # + the shared SQuAD subset

The bundled cross-encoder (ms-marco MiniLM-L12, int8 ONNX) was trained for relevance, and its
logit alone tells SQuAD 2.0's unanswerable questions from answerable ones poorly (AUC about
0.6). This script exposes the model's last-layer [CLS] vector (384 numbers: the input of the
pooler that feeds the logit) as an extra ONNX output, reads each question against the
sentences of its gold paragraph (an oracle region: retrieval is left out, to isolate the
signal), keeps the top-scored sentence, and fits logistic regressions on whole articles
(every other title), reporting AUC on the articles kept aside:

- the logit and its margin over the runner-up;
- the same plus the [CLS] vector;
- the same plus the mean of the question's token vectors.

A linear probe on the frozen vectors costs no extra model call in production (the vector is
computed anyway), so if it carries signal, it is a candidate feature for the decision
(`assistant/answer/decide.py`). The sentences are split by a plain regex here, not by the
production splitter: this measures the model, not the pipeline.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.squad import SHARED_SQUAD  # noqa: E402

LAST_LAYER = "/bert/encoder/layer.11/output/LayerNorm/Add_1_output_0"  # (batch, tokens, 384)
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def session():  # noqa: ANN201 - (onnxruntime session, tokenizer)
    try:
        import onnx
    except ImportError:
        sys.exit("bench/probe.py needs the onnx package (pip install onnx) to expose the model's inner vectors")
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from assistant.crossencoder import bundled_files

    files = bundled_files()
    model = onnx.load(str(files["model.onnx"]))
    model.graph.output.append(onnx.helper.make_tensor_value_info(LAST_LAYER, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(files["tokenizer.json"]))
    tok.no_padding()
    tok.enable_truncation(256, strategy="only_second")
    return sess, tok


def norm(s: str) -> str:
    return re.sub(r"\W+", " ", s.lower()).strip()


def questions(path: Path, step: int) -> list[tuple]:
    out, n = [], 0
    for a in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for p in a["paragraphs"]:
            sents = [s for s in SPLIT.split(p["context"]) if len(s) > 20]
            for q in p["qas"]:
                n += 1
                if n % step == 0 and sents:
                    out.append((a["title"], q["question"], q["is_impossible"], [x["text"] for x in q["answers"]], sents))
    return out


def read(sess, tok, items: list[tuple]) -> list[dict]:  # noqa: ANN001
    rows = []
    for k, (title, question, impossible, answers, sents) in enumerate(items):
        enc = tok.encode_batch([(question, s) for s in sents])
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), width), np.int64)
        mask, types = np.zeros_like(ids), np.zeros_like(ids)
        for r, e in enumerate(enc):
            ids[r, :len(e.ids)], mask[r, :len(e.ids)], types[r, :len(e.ids)] = e.ids, e.attention_mask, e.type_ids
        logits, states = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        logits = logits[:, 0]
        best = int(np.argmax(logits))
        ranked = np.sort(logits)[::-1]
        q_tokens = [i for i, t in enumerate(enc[best].type_ids) if t == 0 and enc[best].attention_mask[i]]
        rows.append({"title": title, "answerable": not impossible,
                     "right": not impossible and any(norm(a) in norm(sents[best]) for a in answers),
                     "top": float(ranked[0]), "margin": float(ranked[0] - (ranked[1] if len(ranked) > 1 else ranked[0] - 5)),
                     "cls": states[best, 0].astype(np.float32), "question": states[best, q_tokens].mean(0)})
        if k % 1000 == 0:
            print(f"{k}/{len(items)}", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=SHARED_SQUAD)
    ap.add_argument("--extra", type=Path, help="more SQuAD 2.0-format data (e.g. the CS224n half of dev)")
    ap.add_argument("--step", type=int, default=2, help="read every step-th question")
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    sess, tok = session()
    items = [q for path in (args.extra, args.squad) if path for q in questions(path, args.step)]
    rows = read(sess, tok, items)
    titles = sorted({r["title"] for r in rows})
    held = set(titles[1::2])
    train = [r for r in rows if r["title"] not in held]
    test = [r for r in rows if r["title"] in held]
    print(f"{len(train)} questions to fit ({sum(not r['answerable'] for r in train)} unanswerable), "
          f"{len(test)} on {len(held)} held-out articles ({sum(not r['answerable'] for r in test)} unanswerable)")

    def x(rs: list[dict], parts: tuple[str, ...]) -> np.ndarray:
        cols = [np.array([[r["top"], r["margin"]] for r in rs])]
        cols += [np.array([r[p] for r in rs]) for p in parts]
        return np.hstack(cols)

    for label, parts in (("logit + margin", ()), ("+ [CLS] vector", ("cls",)), ("+ question tokens' mean", ("cls", "question"))):
        for target in ("answerable", "right"):
            scaler = StandardScaler().fit(x(train, parts))
            model = LogisticRegression(C=0.01, max_iter=3000).fit(scaler.transform(x(train, parts)),
                                                                   [r[target] for r in train])
            p = model.predict_proba(scaler.transform(x(test, parts)))[:, 1]
            print(f"{label:26s} fitted to {target:10s}  held-out AUC: answerable vs not "
                  f"{roc_auc_score([r['answerable'] for r in test], p):.3f}, top sentence holds gold "
                  f"{roc_auc_score([r['right'] for r in test], p):.3f}")


if __name__ == "__main__":
    main()
