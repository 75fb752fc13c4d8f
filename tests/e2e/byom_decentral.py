"""Nodes running their own model (the C node API's example, model "external")
in relayed decentralised runs: the server relays the gossip steps and the
nodes' own node loop answers them (fedc_relay_answer), whatever their model.

1. D-PSGD on the complete graph with uniform weights and one gossip step is
   FedAvg with full participation: every node mixes the same row, so all end
   each round with FedAvg's model. The same three nodes (same data, same
   seeds) run both; the training losses they report, round by round, and the
   final model agree. Nodes that did not answer their steps with the mix
   would train from other models from round 2 on. (The sums may add the
   nodes in another order when they join in another order, so the comparison
   allows float rounding.)
2. Variance-corrected gossip on a ring of 3: the pushes are relayed in waves;
   every round completes with the frames a relayed round sends."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byom_mixed import read_idx, write_idx  # noqa: E402
from byom_torch import safetensors_flat  # noqa: E402
from fedc_e2e import Cluster  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
N = 3
PARAMS = 7850  # the example's softmax regression: 784 x 10 + 10
ROUNDS = 3


def run(fedc, example, xs, ys, name, strategy, topology=None):
    with Cluster(fedc, tls=True, name=name) as c:
        c.start_server()
        task = {"name": name, "model": "external", "rounds": ROUNDS, "clients": N, "clients_per_round": N,
                "local": {"epochs": 1, "batch": 32, "lr": 0.05}, "strategy": strategy,
                "deploy": {"min_nodes": N, "min_updates": N, "round_timeout_s": 300, "connect_timeout_s": 300}}
        if topology:
            task["topology"] = topology
        run_id = c.create_run(task)
        for k in range(N):
            img, lbl = os.path.join(c.dir, f"train{k}-images"), os.path.join(c.dir, f"train{k}-labels")
            write_idx(img, xs[300 * k:300 * k + 300])
            write_idx(lbl, ys[300 * k:300 * k + 300])
            log = open(os.path.join(c.dir, f"ex{k}.log"), "w")
            c.nodes[f"ex{k}"] = subprocess.Popen([example, "--server", c.node_url(), "--credential",
                                                  c.issue(f"ex{k}"), "--seed", str(k + 1), "--train", f"{img},{lbl}"],
                                                 stdout=log, stderr=subprocess.STDOUT, env=c._env())
        r = c.wait_run_end(run_id, 600)
        assert r["status"] == "done" and r["rounds_done"] == ROUNDS, r
        rs = c.rounds(run_id)
        assert [x["round"] for x in rs] == list(range(1, ROUNDS + 1)), rs
        assert all(x["participants"] == N for x in rs), rs
        st, blob = c.api("GET", f"/api/runs/{run_id}/model", raw=True)
        assert st == 200, st
        return rs, safetensors_flat(blob)[1]


def main():
    fedc = sys.argv[1]
    example = os.path.join(os.path.dirname(os.path.abspath(fedc)), "c_node_example")
    assert os.path.exists(example), f"{example} is not built"
    xs = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
    ys = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    fa, fa_model = run(fedc, example, xs, ys, "byom-fedavg", {"name": "fedavg"})
    dp, dp_model = run(fedc, example, xs, ys, "byom-dpsgd", {"name": "dpsgd", "gossip_steps": 1},
                       {"kind": "complete", "mixing": "uniform"})
    for a, b in zip(fa, dp):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-5, (a, b)
        # One step on the complete graph: a node receives its TRAIN model and its
        # row (N models and N updates), and sends its update and its mix.
        model = PARAMS * 4
        assert N * model * (1 + 2 * N) < b["bytes_down"] < N * (model * (1 + 2 * N) + 8192), b
        assert N * model * 2 < b["bytes_up"] < N * (model * 2 + 4096), b
    worst = float(abs(fa_model - dp_model).max())
    assert fa_model.size == PARAMS and worst < 1e-5, worst
    print(f"dpsgd on the complete graph = fedavg: training losses {[x['train_loss'] for x in dp]}, "
          f"final models within {worst:.1e}")
    gv, _ = run(fedc, example, xs, ys, "byom-gossip-vc", {"name": "gossip-vc"}, {"kind": "ring"})
    for x in gv:
        # Up: every node's update, then one model per frame it answers (N
        # receivers, and the senders still holding their update).
        assert N * PARAMS * 4 * 2 < x["bytes_up"] < N * (PARAMS * 4 * 3 + 4096), x
    print(f"gossip-vc on a ring: {[x['bytes_up'] for x in gv]} bytes up, training losses "
          f"{[x['train_loss'] for x in gv]}")
    print("ok")


if __name__ == "__main__":
    main()
