"""Nodes running their own model (the C node API's example, model "external")
in relayed decentralised runs: the server relays the gossip steps and the
nodes' own node loop answers them (fedc_relay_answer), whatever their model.

1. D-PSGD on the complete graph with uniform weights and one gossip step: every
   node mixes the same row, so after every round all nodes hold the very same
   model (consensus distance exactly 0) -- which holds only if each node
   answered its step with the mix.
2. Variance-corrected gossip on a ring of 3: the pushes are relayed in waves;
   every round completes with the frames a relayed round sends (each node's
   update, then one model per frame it answers)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byom_mixed import read_idx, write_idx  # noqa: E402
from fedc_e2e import Cluster  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
N = 3
PARAMS = 7850  # the example's softmax regression: 784 x 10 + 10


def run(fedc, example, xs, ys, name, rounds, strategy, topology):
    with Cluster(fedc, tls=True, name=name) as c:
        c.start_server()
        task = {"name": name, "model": "external", "rounds": rounds, "clients": N, "clients_per_round": N,
                "local": {"epochs": 1, "batch": 32, "lr": 0.05}, "strategy": strategy, "topology": topology,
                "deploy": {"min_nodes": N, "min_updates": N, "round_timeout_s": 300, "connect_timeout_s": 300}}
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
        assert r["status"] == "done" and r["rounds_done"] == rounds, r
        rs = c.rounds(run_id)
        assert [x["round"] for x in rs] == list(range(1, rounds + 1)), rs
        for x in rs:
            assert x["participants"] == N, x
            # Up: N updates, then at least one answered model a node.
            assert x["bytes_up"] > N * PARAMS * 4 * 2, x
        return rs


def main():
    fedc = sys.argv[1]
    example = os.path.join(os.path.dirname(os.path.abspath(fedc)), "c_node_example")
    assert os.path.exists(example), f"{example} is not built"
    xs = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
    ys = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))
    rs = run(fedc, example, xs, ys, "byom-dpsgd", 3, {"name": "dpsgd", "gossip_steps": 1},
             {"kind": "complete", "mixing": "uniform"})
    for x in rs:
        assert x["consensus_distance"] == 0, x
        # One step on the complete graph: a node receives its TRAIN model and its
        # row (N models and N updates), and answers its update and its mix.
        assert N * PARAMS * 4 * (1 + 2 * N) < x["bytes_down"] < N * (PARAMS * 4 * (1 + 2 * N) + 8192), x
    print(f"dpsgd, complete graph: consensus distance {[x['consensus_distance'] for x in rs]}")
    rs = run(fedc, example, xs, ys, "byom-gossip-vc", 2, {"name": "gossip-vc"}, {"kind": "ring"})
    for x in rs:
        assert x["consensus_distance"] > 0, x
    print(f"gossip-vc, ring: consensus distance {[x['consensus_distance'] for x in rs]}, "
          f"{[x['bytes_up'] for x in rs]} bytes up")
    print("ok")


if __name__ == "__main__":
    main()
