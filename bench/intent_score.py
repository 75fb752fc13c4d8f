"""Score of the embedded intent parser on request sets, in three outcomes, the way a user meets it.

Each line of a set is {"request", "task"} (the task asked for, read over the defaults) or
{"request", "ask": "field"} (the right answer is a question). Every request goes through
`fedc intent --json`, one process per request, as a person would run it. Outcomes:
  exact  the returned task equals defaults + the expected fields (the run name is ignored
         unless the line sets one), or no task for an "ask" line;
  asked  no task (a question or a refusal with a message) where a task was expected:
         acceptable, the person is told;
  wrong  a task that differs from the one asked for, or a task for an "ask" line: a silent
         misreading, the worst outcome.
The comparison does not go through fedc's validator, so a line naming a data set or value
that this version does not know is still scored (it cannot be exact).

tests/intent/heldout-2026-12.jsonl was written by someone who had never seen src/intent/, from
docs/task-spec.md alone, and committed before the parser work; it is never edited and never
used for development. Measurements are kept under a label (--label), so the parser before and
after the work sit side by side in bench/results/intent_score.json; --render rewrites the table
between the markers in docs/intent.md from that file.

usage: /usr/bin/python3 bench/intent_score.py [--build build] [--label after]
       [--set tests/intent/heldout-2026-12.jsonl ...] [--render]
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "intent_score.json")
DOC = os.path.join(ROOT, "docs", "intent.md")
HELDOUT = "tests/intent/heldout-2026-12.jsonl"
BEGIN, END = "<!-- intent-score:begin -->", "<!-- intent-score:end -->"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git(cwd, *args):
    try:
        return subprocess.run(["git", "-C", cwd] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(a.get(k, {}), v) if isinstance(v, dict) else v
    return out


def score(fedc, path):
    defaults = json.loads(subprocess.run([fedc, "validate", "-"], input="{}", capture_output=True,
                                         text=True, check=True).stdout)
    lines = [json.loads(l) for l in open(path) if l.strip()]
    res = {"lines": len(lines), "exact": 0, "asked": 0, "wrong": 0, "task_lines": 0, "ask_lines": 0,
           "ask_exact": 0, "ask_wrong": 0}
    for ex in lines:
        p = subprocess.run([fedc, "intent", "--json", ex["request"]], capture_output=True, text=True)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = {"status": "error"}
        got = out.get("task") if out.get("status") == "ok" else None
        if "ask" in ex:
            res["ask_lines"] += 1
            res["ask_exact" if got is None else "ask_wrong"] += 1
            res["exact" if got is None else "wrong"] += 1
            continue
        res["task_lines"] += 1
        if got is None:
            res["asked"] += 1
            continue
        want = merge(defaults, ex["task"])
        if "name" not in ex["task"]:
            want = dict(want)
            got = dict(got)
            want.pop("name", None)
            got.pop("name", None)
        res["exact" if got == want else "wrong"] += 1
    n = res["lines"] or 1
    res["exact_share"] = res["exact"] / n
    res["asked_share"] = res["asked"] / n
    res["wrong_share"] = res["wrong"] / n
    res["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return res


MARKERS = (BEGIN, END)


def render(results):
    """Writes the table between MARKERS in docs/intent.md."""
    block = render_text(results)
    doc = open(DOC).read()
    a, b = doc.find(BEGIN), doc.find(END)
    if a < 0 or b < a:
        raise SystemExit(f"{DOC}: the markers {BEGIN} ... {END} are missing")
    doc = doc[:a + len(BEGIN)] + "\n" + block + "\n" + doc[b:]
    open(DOC, "w").write(doc)


def render_text(results):
    """The Markdown between MARKERS (bench/render_tables.py --check compares it with the document)."""
    rows = ["| parser | set | lines | exact | asked | silently wrong |", "|---|---|---|---|---|---|"]
    for label, m in results["measurements"].items():
        for rel, r in m["sets"].items():
            rows.append(f"| {label} (`{m['meta']['parser_commit'][:7]}`) | `{rel}` | {r['lines']} | "
                        f"{r['exact']} ({100 * r['exact_share']:.1f}%) | {r['asked']} ({100 * r['asked_share']:.1f}%) | "
                        f"{r['wrong']} ({100 * r['wrong_share']:.1f}%) |")
    metas = [f"{label}: {m['meta']['date']}, {m['meta']['cpu_model']}, {m['meta']['cores']} cores, "
             f"`{m['meta']['command']}`" for label, m in results["measurements"].items()]
    return "\n".join(rows) + "\n\nMeasured (bench/results/intent_score.json): " + "; ".join(metas) + "."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--label", default="current")
    ap.add_argument("--set", action="append", dest="sets")
    ap.add_argument("--render", action="store_true", help="rewrite the table in docs/intent.md")
    a = ap.parse_args()
    started = time.time()
    fedc = os.path.abspath(os.path.join(a.build, "fedc"))
    # the parser measured is the one the binary was built from (its source tree's commit)
    src = os.path.dirname(os.path.abspath(a.build))
    parser_commit = git(src, "rev-parse", "HEAD")
    dirty = git(src, "status", "--porcelain", "--", "src", "include")
    meta = {"commit": git(ROOT, "rev-parse", "HEAD"), "parser_commit": parser_commit,
            "parser_tree_dirty": bool(dirty) if dirty is not None else None,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cpu_model": cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(),
            "command": " ".join(shlex.quote(x) for x in [sys.executable] + sys.argv)}
    sets = {}
    for rel in a.sets or [HELDOUT]:
        sets[rel] = score(fedc, os.path.join(ROOT, rel))
    meta["duration_s"] = round(time.time() - started, 1)
    old = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
    measurements = old.get("measurements", {})
    measurements[a.label] = {"meta": meta, "sets": sets}
    results = {"what": "embedded intent parser: exact / asked / silently wrong per request set",
               "measurements": measurements}
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    for rel, r in sets.items():
        print(f"{a.label}: {rel}: exact {r['exact']}/{r['lines']} ({100 * r['exact_share']:.1f}%), asked {r['asked']}, "
              f"silently wrong {r['wrong']} ({100 * r['wrong_share']:.1f}%)")
    if a.render:
        render(results)


if __name__ == "__main__":
    main()
