"""Collects the fault suite's result lines (one JSON object per scenario,
written by each scenario through faults_lib.record) into one results file
with what it ran on, and prints the table docs/deployment.md shows.

usage: report.py RESULTS.jsonl OUT.json "COMMAND" """
import datetime
import json
import os
import subprocess
import sys


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    src, out, command = sys.argv[1], sys.argv[2], sys.argv[3]
    scenarios = []
    with open(src) as f:
        for line in f:
            if line.strip():
                scenarios.append(json.loads(line))
    totals = {k: sum(s[k] for s in scenarios) for k in ("faults_injected", "survived", "data_lost")}
    doc = {"commit": commit(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "cpu_model": cpu_model(), "cores": os.cpu_count(), "command": command, "scenarios": scenarios,
           "totals": totals}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("| scenario | faults injected | survived | data lost |")
    print("|---|---|---|---|")
    for s in scenarios:
        print(f"| {s['scenario']} | {s['faults_injected']} | {s['survived']} | {s['data_lost']} |")
    print(f"| **total** | **{totals['faults_injected']}** | **{totals['survived']}** | **{totals['data_lost']}** |")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
