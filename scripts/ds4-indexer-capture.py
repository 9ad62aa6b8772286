#!/usr/bin/env python3
"""Records llama.cpp's lightning-indexer choices for every sequence of a deepseek4 test model (issue 19).

  scripts/ds4-indexer-capture.py CAPTURE_BINARY testdata/ds4-q8_0

CAPTURE_BINARY is scripts/ds4-indexer-capture.cpp compiled against a llama.cpp build. Each sequence (its tokens,
then its greedy tokens) is run as one batch, as the test data's routing was recorded; writes MODEL.indexer.json:
for every CSA layer, per position, the compressed blocks chosen (ascending), null where the position sees at most
top-k blocks (then it attends to all of them).
"""
import json
import os
import subprocess
import sys
import tempfile

RATIO = 4  # CSA layers compress 4 positions to a block


def main():
    binary, stem = sys.argv[1], sys.argv[2]
    case = json.load(open(stem + ".json"))
    top_k = case["generator"]["resolved_config"]["index_topk"]
    sequences = {}
    for seq in case["sequences"]:
        tokens = seq["tokens"] + seq["greedy"]["tokens"]
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "lid.txt")
            subprocess.run([binary, stem + ".gguf", out] + [str(t) for t in tokens], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            lines = open(out).read().splitlines()
        layers = {}
        i = 0
        while i < len(lines):
            _, layer, _, k = lines[i].split()
            rows = [sorted(int(x) for x in lines[i + 1 + p].split()) for p in range(len(tokens))]
            layers[layer] = [rows[p] if (p + 1) // RATIO > top_k else None for p in range(len(tokens))]
            assert all(r is None or len(r) == top_k for r in layers[layer])
            i += 1 + len(tokens)
        sequences[seq["name"]] = {"layers": layers}
    json.dump({"note": "llama.cpp's lightning-indexer choices (compressed block indices, ascending) per CSA layer and "
                       "position; positions 0..n-1 = tokens, then the greedy tokens; evaluated as one batch; null where "
                       "a position sees at most top-k blocks",
               "recorded_with": "scripts/ds4-indexer-capture.cpp against llama.cpp b10472, whose logits on this model "
                                "are b10573's recorded ones bit for bit",
               "sequences": sequences}, open(stem + ".indexer.json", "w"), separators=(",", ":"))


if __name__ == "__main__":
    main()
