"""Encode / decode speed and size of the compression pipelines on one core
(build/codec_speed): a 1,663,370-float Gaussian vector (the CNN's size), best
of 5 runs in thread CPU time. Writes bench/results/codec_speed.json.

usage: /usr/bin/python3 bench/bench_codec.py [--build build] [--reps 5]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import yardstick  # noqa: E402

PIPELINES = ["fp16", "q8", "q4", "q2", "q2|zstd", "sign", "topk:0.01", "topk:0.01|q8|zstd", "topk:0.1|q4|zstd",
             "randk:0.01"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(benchlib.ROOT, "build"))
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    prov = benchlib.Provenance(a.build)
    m = benchlib.run_measured([os.path.join(a.build, "codec_speed"), str(a.reps)] + PIPELINES,
                              env=yardstick.unpinned_env())
    res = json.loads(m.stdout)
    benchlib.write_results("codec_speed", prov, res)
    for name, r in res["pipelines"].items():
        print(f"{name:>20}: {100 * r['share_of_float32']:6.2f}% of float32, encode {r['encode_ms']:7.2f} ms, "
              f"decode {r['decode_ms']:6.2f} ms")


if __name__ == "__main__":
    main()
