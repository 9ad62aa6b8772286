#!/usr/bin/env python3
"""jseek against llama.cpp on the same GGUF files and threads, run alternately, with the ratios.

Usage:
  scripts/bench-vs-llama.py --llama-bench PATH/TO/llama-bench MODEL.gguf [MODEL.gguf ...]
      [--threads 2,1] [--rounds 3] [--prompts 512,2048] [--gen 64] [--depth 4096] [--depth-gen 32]
      [--json-out FILE] [--jseek PATH/TO/jseek]

For every model and thread count, each round runs llama-bench and then `./jseek bench` (the order swaps
every round, so a slow drift of the machine does not favour one engine) with one repetition each:
  pp tests:    -p PROMPTS -n GEN            (pp512, pp2048, tg64)
  depth test:  -p 0 -n DEPTH_GEN -d DEPTH   (tg32 after a 4096-token context; --depth 0 skips it)
Both tools warm up before they time (llama-bench runs each test once untimed; jseek runs the first pp
test and each tg test once untimed). The table gives the median over rounds of each engine's tokens/s and
their ratio (jseek / llama.cpp), then every sample, so the noise is visible. Progress goes to stderr.
Both engines use an F16 KV cache (llama-bench's default and jseek's). Run on a quiet machine.
Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    print("  $ " + " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-4000:]))
    print("    %.0f s" % (time.time() - t0), file=sys.stderr, flush=True)
    return p.stdout


def test_name(n_prompt, n_gen, depth):
    name = "pp%d" % n_prompt if n_prompt > 0 else "tg%d" % n_gen
    return name + (" @ d%d" % depth if depth > 0 else "")


def llama(bench, model, threads, prompts, gen, depth):
    cmd = [bench, "-m", model, "-t", str(threads), "-p", ",".join(map(str, prompts)), "-n", str(gen),
           "-r", "1", "-o", "json"]
    if depth:
        cmd += ["-d", str(depth)]
    out = {}
    for r in json.loads(run(cmd)):
        out[test_name(r["n_prompt"], r["n_gen"], r.get("n_depth", 0))] = r["avg_ts"]
    return out


def jseek(launcher, model, threads, prompts, gen, depth):
    cmd = [launcher, "bench", "-m", model, "-t", str(threads), "-p",
           ",".join(map(str, prompts)), "-n", str(gen), "-r", "1", "--json"]
    if depth:
        cmd += ["-d", str(depth)]
    line = [l for l in run(cmd).splitlines() if l.startswith("{")][-1]
    out = {}
    for r in json.loads(line)["results"]:
        out[r["test"]] = r["tokens_per_second"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--llama-bench", default=os.environ.get("LLAMA_BENCH", "llama-bench"))
    ap.add_argument("--jseek", default=os.path.join(ROOT, "jseek"),
                    help="the jseek launcher (default: this checkout's; a separate clone keeps edits here from "
                         "triggering a rebuild mid-run)")
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prompts", default="512,2048")
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--depth", type=int, default=4096)
    ap.add_argument("--depth-gen", type=int, default=32)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    prompts = [int(p) for p in a.prompts.split(",") if p]
    runs = []  # (prompts, gen, depth) per invocation
    if prompts or a.gen:
        runs.append((prompts or [0], a.gen, 0))
    if a.depth:
        runs.append(([0], a.depth_gen, a.depth))
    samples = {}  # (model, threads, test) -> {"jseek": [...], "llama.cpp": [...]}
    for model in a.models:
        for threads in [int(t) for t in a.threads.split(",")]:
            for rnd in range(a.rounds):
                print("%s, %d threads, round %d of %d" % (os.path.basename(model), threads, rnd + 1, a.rounds),
                      file=sys.stderr, flush=True)
                for p, g, d in runs:
                    engines = [("llama.cpp", lambda: llama(a.llama_bench, model, threads, p, g, d)),
                               ("jseek", lambda: jseek(a.jseek, model, threads, p, g, d))]
                    if rnd % 2 == 1:
                        engines.reverse()
                    for name, fn in engines:
                        for test, ts in fn().items():
                            samples.setdefault((model, threads, test), {}).setdefault(name, []).append(ts)
    print("| model | threads | test | jseek t/s | llama.cpp t/s | ratio | jseek samples | llama.cpp samples |")
    print("|---|---:|---|---:|---:|---:|---|---|")
    rows = []
    for (model, threads, test), s in samples.items():
        j = statistics.median(s.get("jseek", [0]))
        l = statistics.median(s.get("llama.cpp", [0]))
        ratio = j / l if l else float("nan")
        print("| %s | %d | %s | %.2f | %.2f | %.2f | %s | %s |" % (
            os.path.basename(model), threads, test, j, l, ratio,
            ", ".join("%.2f" % x for x in s.get("jseek", [])), ", ".join("%.2f" % x for x in s.get("llama.cpp", []))))
        rows.append({"model": os.path.basename(model), "threads": threads, "test": test, "jseek": j, "llama.cpp": l,
                     "ratio": ratio, "samples": s})
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
