#!/usr/bin/env python3
"""Token ids of jseek and llama.cpp's llama-tokenize on the same model, every line of a corpus, in all four
modes (BOS added or not x special tokens parsed or not).

  scripts/tokenizer-vs-llama.py --llama-tokenize PATH/llama-tokenize --jseek ./jseek \
      --gguf VOCAB.gguf [--dir HF_DIR] scripts/tokenizer-corpus.jsonl

The corpus has one JSON string per line. With --dir, jseek also tokenizes through the directory's
tokenizer.json (which must give the GGUF's ids). Prints the differences and a summary; exit 1 if any.
"""
import argparse
import json
import subprocess
import sys
import tempfile

MODES = [(True, True), (True, False), (False, True), (False, False)]  # (add_bos, parse_special)


def llama_ids(exe, gguf, text, bos, special):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write(text)
    cmd = [exe, "-m", gguf, "-f", f.name, "--ids", "--log-disable", "--no-escape"]
    cmd += [] if bos else ["--no-bos"]
    cmd += [] if special else ["--no-parse-special"]  # llama-tokenize parses special tokens by default
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def jseek_ids(exe, model, texts, bos, special):
    cmd = [exe, "tokenize", "-m", model, "--jsonl"] + ([] if bos else ["--no-bos"]) + ([] if special else ["--no-special"])
    out = subprocess.run(cmd, input="".join(json.dumps(t) + "\n" for t in texts), capture_output=True, text=True,
                         check=True).stdout
    return [json.loads(l) for l in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--llama-tokenize", required=True)
    ap.add_argument("--jseek", default="./jseek")
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--dir")
    a = ap.parse_args()
    texts = [json.loads(l) for l in open(a.corpus, encoding="utf-8") if l.strip()]
    cases = differ = 0
    for bos, special in MODES:
        mine = jseek_ids(a.jseek, a.gguf, texts, bos, special)
        via_dir = jseek_ids(a.jseek, a.dir, texts, bos, special) if a.dir else mine
        for i, t in enumerate(texts):
            ref = llama_ids(a.llama_tokenize, a.gguf, t, bos, special)
            cases += 1
            if mine[i] != ref or via_dir[i] != ref:
                differ += 1
                print("bos=%d special=%d line %d %r\n  llama.cpp %s\n  jseek     %s%s" % (
                    bos, special, i + 1, t[:60], ref, mine[i], "" if via_dir[i] == mine[i] else "\n  jseek dir %s" % via_dir[i]))
    print("%d of %d cases identical" % (cases - differ, cases))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
