"""Command-line options: a bad numeric value is refused with exit status 2 and a
message naming the option (never read as 0, as atoi would), and `fedc demo
TASK.json --rounds N` runs N rounds (the task file's rounds otherwise)."""
import json
import os
import subprocess
import sys
import tempfile

FEDC = sys.argv[1]
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MLP = os.path.join(SRC, "examples", "fmnist-mlp.json")


def run(*args, timeout=120):
    return subprocess.run([FEDC] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


BAD = [
    (["sim", MLP, "--threads", "abc"], "--threads"),
    (["sim", MLP, "--threads", "-1"], "--threads"),
    (["demo", "--nodes", "abc"], "--nodes"),
    (["demo", "--nodes", "0"], "--nodes"),
    (["demo", "--rounds", "3x"], "--rounds"),
    (["demo", "--alpha", "zero"], "--alpha"),
    (["server", "--state", "unused", "--threads", "two"], "--threads"),
    (["server", "--state", "unused", "--checkpoint-every", ""], "--checkpoint-every"),
    (["server", "--state", "unused", "--hello-timeout", "nan"], "--hello-timeout"),
    (["server", "--state", "unused", "--max-active-runs", "65"], "--max-active-runs"),
    (["node", "--server", "ws://127.0.0.1:1", "--credential", "x", "--echo", "--max-attempts", "1.5"],
     "--max-attempts"),
    (["node", "--server", "ws://127.0.0.1:1", "--credential", "x", "--echo", "--connect-timeout", "0"],
     "--connect-timeout"),
    (["arch", "mlp", "--classes", "ten"], "--classes"),
    (["arch", "mlp", "--input", "1,28"], "--input"),
    (["arch", "mlp", "--input", "1,28,28,3"], "--input"),
    (["partition", MLP, "--rows", "many"], "--rows"),
    (["intent", "dataset", "--n", "10", "--seed", "-1"], "--seed"),
    (["intent", "dataset", "--n", "1e3", "--seed", "1"], "--n"),
    (["intent", "--backend", "llm", "--url", "http://127.0.0.1:1", "--model", "m", "--timeout", "soon", "x"],
     "--timeout"),
    (["tune", MLP, "--budget", "abc"], "--budget"),
    (["audit", MLP, "--iters", "many"], "--iters"),
    (["audit", MLP, "--lr", "-0.1"], "--lr"),
]

for args, opt in BAD:
    p = run(*args)
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert opt in p.stderr, (args, p.stderr)
    print(f"refused: fedc {' '.join(os.path.basename(a) for a in args)}: {p.stderr.strip().splitlines()[-1]}")

with tempfile.TemporaryDirectory() as tmp:
    task = os.path.join(tmp, "task.json")
    with open(task, "w") as f:
        json.dump({"name": "demo-rounds", "rounds": 7, "eval_every": 1}, f)
    common = ["--nodes", "2", "--exit-when-done", "--listen", "127.0.0.1:0", "--insecure",
              "--state", os.path.join(tmp, "state")]
    p = run("demo", task, "--rounds", "2", *common, timeout=170)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 rounds" in p.stdout and ": 2/2 rounds" in p.stdout, p.stdout
    print("fedc demo TASK.json --rounds 2: ran 2 rounds (the task file says 7)")
print("ok")
