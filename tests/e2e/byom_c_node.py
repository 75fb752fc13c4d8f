"""The C node API's example (examples/c-node: its own softmax-regression
model behind fedc_node_serve) federates through a fedc server over TLS: two
example processes, model "external" (the manifest comes from the first
node's HELLO, the initial weights from its get_parameters), federated
evaluation on each node's own test files, 4 rounds."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byom_mixed import read_idx, write_idx  # noqa: E402
from byom_torch import safetensors_flat  # noqa: E402
from fedc_e2e import Cluster  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def main():
    fedc = sys.argv[1]
    example = os.path.join(os.path.dirname(os.path.abspath(fedc)), "c_node_example")
    assert os.path.exists(example), f"{example} is not built"
    xs = {s: read_idx(os.path.join(DATA, f"{p}-images-idx3-ubyte.gz")) for s, p in (("train", "train"), ("test", "t10k"))}
    ys = {s: read_idx(os.path.join(DATA, f"{p}-labels-idx1-ubyte.gz")) for s, p in (("train", "train"), ("test", "t10k"))}
    with Cluster(fedc, name="byom-c") as c:
        c.start_server()
        task = {"name": "c-node-example", "model": "external", "rounds": 4, "clients": 2, "clients_per_round": 2,
                "local": {"epochs": 1, "batch": 32, "lr": 0.05},
                "deploy": {"min_nodes": 2, "min_updates": 2, "round_timeout_s": 300, "connect_timeout_s": 300}}
        run_id = c.create_run(task)
        for k in range(2):
            args = []
            for split, lo, hi in (("train", 600 * k, 600 * k + 600), ("test", 300 * k, 300 * k + 300)):
                img, lbl = os.path.join(c.dir, f"{split}{k}-images"), os.path.join(c.dir, f"{split}{k}-labels")
                write_idx(img, xs[split][lo:hi])
                write_idx(lbl, ys[split][lo:hi])
                args += [f"--{split}", f"{img},{lbl}"]
            log = open(os.path.join(c.dir, f"ex{k}.log"), "w")
            c.nodes[f"ex{k}"] = subprocess.Popen([example, "--server", c.node_url(), "--credential",
                                                  c.issue(f"ex{k}"), "--seed", str(k + 1)] + args,
                                                 stdout=log, stderr=subprocess.STDOUT, env=c._env())
        run = c.wait_run_end(run_id, 600)
        assert run["status"] == "done", run
        rs = c.rounds(run_id)
        for r in rs:
            print(f"round {r['round']}: participants {r['participants']}, fed_accuracy {r['fed_accuracy']:.4f}, "
                  f"fed_loss {r['fed_loss']:.4f}, train_loss {r['train_loss']:.4f}")
            assert r["participants"] == 2 and r["fed_reports"] == 2 and r["fed_examples"] == 600, r
        assert rs[-1]["fed_accuracy"] > 0.6 and rs[-1]["fed_loss"] < rs[0]["fed_loss"], rs
        st, blob = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
        header, flat = safetensors_flat(blob)
        assert [k for k in header if k != "__metadata__"] == ["linear.weight", "linear.bias"], header
        assert flat.size == 7850
        assert run["best_accuracy"] == max(r["fed_accuracy"] for r in rs), run
        print("ok")


if __name__ == "__main__":
    main()
