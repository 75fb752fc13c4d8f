"""The documented PyTorch example (examples/python/pytorch_node.py) runs as
docs/python.md shows: two nodes with their shares of Fashion-MNIST join a
fedc server over TLS, the first supplies the manifest (the module's
state_dict names) and the initial weights, two rounds of FedAvg run, and
every round carries both nodes' federated evaluation."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fedc_e2e import Cluster  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def main():
    fedc = sys.argv[1]
    with Cluster(fedc, name="byom-example") as c:
        c.start_server()
        task = {"name": "example", "model": "external", "rounds": 2, "clients": 2, "clients_per_round": 2,
                "local": {"epochs": 1, "batch": 32, "lr": 0.05}, "seed": 1,
                "deploy": {"min_nodes": 2, "min_updates": 2, "round_timeout_s": 300, "connect_timeout_s": 300}}
        run_id = c.create_run(task)
        env = dict(c._env(), PYTHONPATH=os.path.join(ROOT, "python"))
        for k in range(2):
            log = open(os.path.join(c.dir, f"ex{k}.log"), "w")
            c.nodes[f"ex{k}"] = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "examples", "python", "pytorch_node.py"), "--server",
                 c.node_url(), "--credential", c.issue(f"ex{k}"), "--part", f"{k}/2", "--limit", "300"],
                stdout=log, stderr=subprocess.STDOUT, env=env)
            log.close()
        run = c.wait_run_end(run_id, 600)
        assert run["status"] == "done", run
        rounds = c.rounds(run_id)
        assert [r["round"] for r in rounds] == [1, 2], rounds
        for r in rounds:
            print(f"round {r['round']}: participants {r['participants']}, fed_accuracy {r.get('fed_accuracy')}, "
                  f"fed_examples {r.get('fed_examples')}")
            assert r["participants"] == 2 and r["fed_reports"] == 2 and r["fed_examples"] == 150, r
            assert 0 <= r["fed_accuracy"] <= 1 and r["fed_loss"] > 0, r
        st, tk = c.api("GET", f"/api/runs/{run_id}/task")
        assert st == 200, st
        tk = tk if isinstance(tk.get("model"), dict) else tk["task"]
        names = [t["name"] for t in tk["model"]["manifest"]]
        assert names[:3] == ["conv1.weight", "conv1.bias", "bn1.weight"], names
        assert "bn1.running_mean" in names and "bn1.num_batches_tracked" not in names, names
        print("ok")


if __name__ == "__main__":
    main()
