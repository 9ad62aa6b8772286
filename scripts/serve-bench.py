#!/usr/bin/env python3
"""Throughput of a running jseek server (or any OpenAI-compatible one) under concurrent streaming clients.

Usage: scripts/serve-bench.py URL [--clients 1,8] [--tokens 64] [--eos ID]
Each round starts N clients at once; each streams one chat completion of exactly --tokens tokens (the
end-of-sequence token ID given with --eos is banned so that every answer has the same length) and the
round reports the aggregate generated tokens per second (all tokens / wall time of the round), the mean
time to first token and the mean per-client speed. Standard library only.
"""
import argparse
import json
import threading
import time
import urllib.request


def one(url, tokens, eos, seed, out):
    body = {"model": "bench", "messages": [{"role": "user", "content": "Write a long story about request %d." % seed}],
            "max_tokens": tokens, "stream": True, "stream_options": {"include_usage": True},
            "temperature": 0.7, "seed": seed}
    if eos is not None:
        body["logit_bias"] = {str(eos): -100}
    req = urllib.request.Request(url.rstrip("/") + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.time()
    first = None
    usage = None
    with urllib.request.urlopen(req) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            elif first is None and chunk.get("choices") and (chunk["choices"][0]["delta"].get("content")
                                                           or chunk["choices"][0]["delta"].get("reasoning_content")):
                first = time.time()
    out.append({"tokens": usage["completion_tokens"], "ttft": (first or time.time()) - t0, "end": time.time() - t0})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--eos", type=int)
    a = ap.parse_args()
    one(a.url, 8, a.eos, 0, [])  # warm-up
    print("| clients | tokens | wall s | aggregate t/s | mean TTFT s | mean per-client t/s |")
    print("|---|---|---|---|---|---|")
    base = None
    for n in [int(x) for x in a.clients.split(",")]:
        out = []
        threads = [threading.Thread(target=one, args=(a.url, a.tokens, a.eos, 100 + i, out)) for i in range(n)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        total = sum(o["tokens"] for o in out)
        agg = total / wall
        base = base or agg
        # A client that received no text before its last chunk (random weights often emit only partial
        # UTF-8, which servers hold back) has no decode span to divide by.
        spans = [o["tokens"] / (o["end"] - o["ttft"]) for o in out if o["end"] - o["ttft"] > 0.05]
        per = "%.1f" % (sum(spans) / len(spans)) if spans else "n/a"
        print("| %d | %d | %.1f | %.1f (%.2f×) | %.2f | %s |" % (n, total, wall, agg, agg / base,
                                                               sum(o["ttft"] for o in out) / len(out), per))


if __name__ == "__main__":
    main()
