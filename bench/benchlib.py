"""Shared plumbing of the benchmark scripts: where a results file comes from
(commit, date, CPU model, core count, load, the exact command), running a
child process while measuring that child alone (its own peak RSS and CPU
seconds from wait4, never RUSAGE_CHILDREN, which keeps the largest peak of
every child waited for so far), and mean / standard deviation over seeds.

Every script under bench/ writes bench/results/NAME.json with write_results():
the "meta" object holds the provenance, the rest is what the script measured.
bench/render_tables.py turns those files into the README and docs tables.
"""
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# FEDC_BENCH_RESULTS sends results elsewhere (a reduced trial run that must not
# replace the published files).
RESULTS = os.environ.get("FEDC_BENCH_RESULTS") or os.path.join(ROOT, "bench", "results")


def cpu_model():
    """The CPU's model name as the kernel reports it ("unknown" if it does not)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


class Provenance:
    """Started when a script starts; meta() gives the provenance object of its results file."""

    def __init__(self, build=None):
        self.started = time.time()
        # The commit when the script started; the binary's own (fedc --version) when a build is given.
        self.commit = git("rev-parse", "HEAD")
        self.fedc_version = None
        if build and os.path.exists(os.path.join(build, "fedc")):
            self.fedc_version = subprocess.run([os.path.join(build, "fedc"), "--version"], stdout=subprocess.PIPE,
                                               text=True).stdout.strip()
        self.load_start = loadavg()
        self.argv = [sys.executable] + [os.path.relpath(sys.argv[0], ROOT)
                                                           if os.path.isabs(sys.argv[0]) else sys.argv[0]]
        self.argv += sys.argv[1:]
        self.nice = os.nice(0)

    def meta(self, **extra):
        # Whether the benchmark scripts themselves differed from that commit (the
        # binary's own state is in fedc_version: "-dirty" when built from changed sources).
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "bench")
        m = {
            "commit": self.commit,
            "bench_scripts_modified": bool(dirty) if dirty is not None else None,
            "fedc_version": self.fedc_version,
            "date": datetime.datetime.fromtimestamp(self.started, datetime.timezone.utc)
                                    .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration_s": round(time.time() - self.started, 1),
            "cpu_model": cpu_model(),
            "cores": os.cpu_count(),
            "machine": platform.machine(),
            "kernel": platform.release(),
            "command": shlex.join(self.argv),
            "nice": self.nice,
            # The machine may be shared: the load average when the script started
            # and when it finished (1, 5 and 15 minute means).
            "load_avg_start": self.load_start,
            "load_avg_end": loadavg(),
        }
        m.update(extra)
        return m


def write_results(name, prov, data, **meta_extra):
    """Writes bench/results/NAME.json: {"meta": provenance, ...data}."""
    os.makedirs(RESULTS, exist_ok=True)
    out = {"meta": prov.meta(**meta_extra)}
    out.update(data)
    path = os.path.join(RESULTS, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


class Measured:
    """What run_measured() returns: the child's output, exit status and its own resources."""

    def __init__(self, stdout, stderr, returncode, wall_s, cpu_s, peak_rss_mb):
        self.stdout, self.stderr, self.returncode = stdout, stderr, returncode
        self.wall_s, self.cpu_s, self.peak_rss_mb = wall_s, cpu_s, peak_rss_mb


def run_measured(cmd, env=None, check=True, cwd=None):
    """Runs cmd to completion and returns a Measured: wall seconds, user + system CPU
    seconds and peak resident memory (ru_maxrss, MB) of this child alone (and of the
    descendants it waited for), read from wait4() on its pid."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.time() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        m = Measured(out.read(), err.read(), p.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0)
    if check and m.returncode != 0:
        sys.stderr.write(m.stdout[-2000:] + m.stderr[-4000:])
        raise SystemExit(f"command failed ({m.returncode}): {shlex.join(cmd)}")
    return m


def mean_std(xs):
    """{"mean", "std", "n", "values"} of a list of numbers (std: sample standard deviation, 0 for one value)."""
    xs = [float(x) for x in xs]
    return {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else 0.0, "n": len(xs),
            "values": xs}
