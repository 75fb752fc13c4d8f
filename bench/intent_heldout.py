"""Score of the intent parser on the held-out request set and on the regression set.

tests/intent/heldout-2026-12.jsonl was written by someone who had never seen src/intent/,
from docs/task-spec.md and a description of the task alone, committed before any parser
change it might inspire, and is never edited (tests/intent/heldout-2026-12.sha256 pins it;
ctest checks it). tests/intent/regression.jsonl is the parser author's own set.

Runs `fedc intent eval --json` on both and records the three outcomes (exact, asked a
question or refused with a message, silently wrong), how many lines were not scored
because their expected task is not valid in this version (e.g. a dataset it does not know
yet), and whether src/intent/ (the evaluator aside) has changed since the held-out set was
committed. Measurements are kept under a label (--label), so the score before the parser
work and after it sit side by side in bench/results/intent_heldout.json.

usage: /usr/bin/python3 bench/intent_heldout.py [--build build] [--label current]
"""
import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HELDOUT = "tests/intent/heldout-2026-12.jsonl"
REGRESSION = "tests/intent/regression.jsonl"


def evaluate(fedc, rel):
    m = benchlib.run_measured([fedc, "intent", "eval", "--json", os.path.join(benchlib.ROOT, rel)])
    r = json.loads(m.stdout)
    r.pop("fields", None)
    r["file"] = rel
    r["lines"] = sum(1 for line in open(os.path.join(benchlib.ROOT, rel)) if line.strip())
    r["sha256"] = hashlib.sha256(open(os.path.join(benchlib.ROOT, rel), "rb").read()).hexdigest()
    n = r["examples"] or 1
    r["exact_share"] = r["exact"] / n
    r["silently_wrong_share"] = r["silently_wrong"] / n
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(benchlib.ROOT, "build"))
    ap.add_argument("--label", default="current",
                    help="name of this measurement (e.g. before-parser-changes); others in the file are kept")
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    fedc = os.path.join(a.build, "fedc")
    added = benchlib.git("log", "--diff-filter=A", "--format=%H", "--", HELDOUT).splitlines()
    added = added[-1] if added else None
    changed = None
    if added:
        diff = benchlib.git("diff", "--name-only", added, "--", "src/intent", ":!src/intent/eval.c")
        changed = bool(diff) if diff is not None else None
    entry = {"meta": prov.meta(), "heldout": evaluate(fedc, HELDOUT),
             "regression": evaluate(fedc, REGRESSION), "heldout_committed_in": added,
             "parser_changed_since_heldout_committed": changed}
    path = os.path.join(benchlib.RESULTS, "intent_heldout.json")
    old = json.load(open(path)) if os.path.exists(path) else {}
    measurements = old.get("measurements", {})
    measurements[a.label] = entry
    benchlib.write_results("intent_heldout", prov, {"measurements": measurements})
    h = entry["heldout"]
    print(f"{HELDOUT}: exact {h['exact']}/{h['examples']} ({100 * h['exact_share']:.1f}%), asked "
          f"{h['asked']}, silently wrong {h['silently_wrong']} ({100 * h['silently_wrong_share']:.1f}%), "
          f"not scored {h['invalid_expected']}")
    r = entry["regression"]
    print(f"{REGRESSION}: exact {r['exact']}/{r['examples']}")


if __name__ == "__main__":
    main()
