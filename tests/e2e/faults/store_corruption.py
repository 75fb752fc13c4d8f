"""Store page corruption: after a short run the server is stopped and its
run store (runs.db) is damaged as an audit did it, --trials times on fresh
copies: random bytes into the pages from offset 8192, or one flipped byte
(the first trial flips the byte at 4096, which made /api/runs an empty
list). Each time:
  - the server does not serve the damaged store: it refuses to start and
    says how to recover (or starts only if the damage touched nothing it
    checks, and then every answer equals the truth);
  - `fedc server --check-store` finds the damage (exit 1);
  - `fedc server --recover-store` keeps the damaged file and puts a
    recovered store in place; the server then starts, and whatever it
    serves equals what was stored before the damage (rows may be lost,
    never changed). Lost rows are counted as data lost."""
import glob
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, arg_int, record, small_task  # noqa: E402

FEDC = sys.argv[1]
TRIALS = arg_int("trials", 4)
N, ROUNDS = 2, 6


def snapshot(c, run_id):
    """What the API serves of the store: the run, its rounds, participation, nodes."""
    out = {}
    for path in ("/api/runs", "/api/nodes", f"/api/runs/{run_id}", f"/api/runs/{run_id}/rounds",
                 f"/api/runs/{run_id}/participation", f"/api/runs/{run_id}/nodes"):
        out[path] = c.api("GET", path)
    out["csv"] = c.api("GET", f"/api/runs/{run_id}/metrics.csv", raw=True)
    return out


def rows_of(snap, run_id):
    rounds = snap[f"/api/runs/{run_id}/rounds"][1]["rounds"]
    parts = snap[f"/api/runs/{run_id}/participation"][1]["participation"]
    return {("r", r["round"]): r for r in rounds}, {("p", p["round"], p["slot"]): p for p in parts}


def check_served(snap, truth, run_id):
    """Every 200 answer equals the truth, row by row (rows may be missing).
    Returns (wrong, missing) row counts."""
    wrong = missing = 0
    for path, (st, body) in snap.items():
        if path == "csv" or st != 200:
            if st not in (200, 404, 500, 503):
                wrong += 1
            continue
        if path.endswith("/rounds") or path.endswith("/participation"):
            continue
        if path in ("/api/runs", "/api/nodes"):
            key = path.split("/")[-1]
            # Nodes: what their rows hold (their totals follow participation, checked below).
            fields = ("rounds_done", "bytes_down", "bytes_up", "accuracy", "loss", "status") if key == "runs" else \
                ("name", "created_at", "flagged", "flag_reason")
            got = {r["id"]: r for r in body[key]}
            want = {r["id"]: r for r in truth[path][1][key]}
            for k, r in got.items():
                if k in want:
                    for f in fields:
                        wrong += r[f] != want[k][f]
                else:
                    wrong += 1
            missing += len(set(want) - set(got))
    want_r, want_p = rows_of(truth, run_id)
    if snap[f"/api/runs/{run_id}"][0] == 404:
        missing += len(want_r) + len(want_p)  # the run itself was lost, with its rounds
    if snap[f"/api/runs/{run_id}/rounds"][0] == 200 and snap[f"/api/runs/{run_id}/participation"][0] == 200:
        got_r, got_p = rows_of(snap, run_id)
        for k, v in list(got_r.items()) + list(got_p.items()):
            ref = want_r.get(k) or want_p.get(k)
            # node_name comes from the nodes table (a lost node row leaves it null).
            if ref is None or {f: x for f, x in v.items() if f != "node_name"} != \
                    {f: x for f, x in ref.items() if f != "node_name"}:
                wrong += 1
        missing += len(set(want_r) - set(got_r)) + len(set(want_p) - set(got_p))
    return wrong, missing


def damage(db, rng, trial):
    """The first trial flips byte 4096 (the runs table's page); the others
    hit a random page from offset 8192 on where its rows are (a page's
    rows fill it from the end; random bytes in its empty middle change
    nothing): random bytes, or one flipped bit."""
    pages = os.path.getsize(db) // 4096
    with open(db, "r+b") as f:
        if trial == 0:
            f.seek(4096)
            b = f.read(1)
            f.seek(4096)
            f.write(bytes([b[0] ^ 0xFF]))
            return "flipped byte 4096"
        page = rng.randrange(2, pages)
        if trial % 2 == 1:
            n = rng.randrange(16, 256)
            off = page * 4096 + 4096 - rng.randrange(n, 1024)
            f.seek(off)
            f.write(bytes(rng.randrange(256) for _ in range(n)))
            return f"{n} random bytes at {off} (page {page + 1})"
        off = page * 4096 + 4096 - rng.randrange(1, 512)
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ (1 << rng.randrange(8))]))
        return f"one bit at {off} (page {page + 1})"


rng = random.Random(int(os.environ.get("FEDC_FAULTS_SEED", "15")))
with Cluster(FEDC, tls=False, name="storecorrupt") as c:
    c.start_server()
    run_id = c.create_run(small_task(N, ROUNDS))
    for k in range(N):
        c.start_node(f"n{k}", f"fmnist:partition={k}/{N}")
    run = c.wait_run_end(run_id, 240)
    assert run["status"] == "done", run
    truth = snapshot(c, run_id)
    c.stop_all()
    pristine = os.path.join(c.dir, "pristine")
    shutil.copytree(c.state, pristine)
    injected = survived = refused = served_wrong = lost_total = 0
    for trial in range(TRIALS):
        shutil.rmtree(c.state)
        shutil.copytree(pristine, c.state)
        db = os.path.join(c.state, "runs.db")
        how = damage(db, rng, trial)
        injected += 1
        open(c.server_log, "w").close()
        # Started as the cluster does; a damaged store makes it exit at once.
        try:
            c.start_server(timeout=20)
            started = True
        except AssertionError as e:
            started = False
            msg = str(e)
            assert "damaged" in msg and "--recover-store" in msg, msg[-2000:]
            refused += 1
        if started:
            # Nothing it checks was touched: what it serves must be the truth,
            # all of it (a row silently missing is as wrong as a changed one).
            wrong, missing = check_served(snapshot(c, run_id), truth, run_id)
            wrong += missing
            served_wrong += wrong
            c.stop_all()
            print(f"trial {trial}: {how}: the server started (the damage touched nothing it reads); "
                  f"{wrong} wrong answers")
            survived += wrong == 0
            continue
        check = subprocess.run([FEDC, "server", "--state", c.state, "--check-store"], capture_output=True, text=True,
                               timeout=60)
        assert check.returncode == 1, (check.returncode, check.stdout, check.stderr)
        rec = subprocess.run([FEDC, "server", "--state", c.state, "--recover-store"], capture_output=True, text=True,
                             timeout=60)
        if rec.returncode != 0:
            print(f"trial {trial}: {how}: recovery failed: {rec.stdout}\n{rec.stderr}")
            lost_total += len(rows_of(truth, run_id)[0]) + len(rows_of(truth, run_id)[1])
            continue
        assert glob.glob(os.path.join(c.state, "runs.db.damaged-*")), os.listdir(c.state)
        c.start_server(timeout=20)
        wrong, missing = check_served(snapshot(c, run_id), truth, run_id)
        c.stop_all()
        served_wrong += wrong
        lost_total += missing
        survived += wrong == 0
        print(f"trial {trial}: {how}: refused to serve, recovered; {missing} rows lost, {wrong} wrong")
    record("store page corruption", injected, survived, lost_total, refused_to_serve=refused,
           wrong_answers=served_wrong)
    assert served_wrong == 0, f"{served_wrong} answers differed from what was stored"
    assert survived == injected
print("ok")
