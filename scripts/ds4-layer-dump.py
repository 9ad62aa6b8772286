#!/usr/bin/env python3
"""Dumps the intermediate values of ../shared/tools/ref_forward.py's float64 DeepSeek-V4 forward (which matches
llama.cpp b10573's logits on the ds4 test models to 2e-6) for one test sequence, so that each V4 mechanism can be
tested on its own: per layer and sub-block the streams going in, the mixed input, post and comb, the sub-block's
output, the experts chosen; then the logits. Writes NAME.layers.f32 (float32 little-endian) and NAME.layers.json
(name -> [offset in floats, shape]).

  scripts/ds4-layer-dump.py testdata/ds4-f32.gguf testdata/ds4-f32.json long testdata/ds4/ds4-f32
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools"))
import ref_forward as R  # noqa: E402


def main():
    model, case, seq, out = sys.argv[1:5]
    m = R.Model(model)
    c = json.load(open(case))
    s = next(x for x in c["sequences"] if x["name"] == seq)
    tokens = np.asarray(s["tokens"] + s["greedy"]["tokens"])
    T = len(tokens)
    pos = np.arange(T, dtype=np.float64)
    arrays = {"tokens": tokens.astype(np.float64)}
    X = np.repeat(m.w("token_embd.weight")[tokens][:, None, :], m.hc, axis=1)
    for il in range(m.n_layer):
        p = "blk.%d." % il
        arrays["%d.attn.streams" % il] = X
        cur, post, comb = m.ds4_hc_pre(X, p + "hc_attn")
        arrays["%d.attn.input" % il], arrays["%d.attn.post" % il], arrays["%d.attn.comb" % il] = cur, post, comb
        a = m.ds4_attention(m.rmsnorm(cur, m.w(p + "attn_norm.weight")), il, pos)
        arrays["%d.attn.output" % il] = a
        X = m.ds4_hc_post(a, X, post, comb)
        arrays["%d.ffn.streams" % il] = X
        cur, post, comb = m.ds4_hc_pre(X, p + "hc_ffn")
        arrays["%d.ffn.input" % il], arrays["%d.ffn.post" % il], arrays["%d.ffn.comb" % il] = cur, post, comb
        f, chosen = m.ds4_moe(m.rmsnorm(cur, m.w(p + "ffn_norm.weight")), il, tokens)
        arrays["%d.ffn.output" % il], arrays["%d.ffn.experts" % il] = f, chosen.astype(np.float64)
        X = m.ds4_hc_post(f, X, post, comb)
    arrays["final.streams"] = X
    logits, _ = m.forward_ds4(tokens)
    arrays["logits"] = logits
    index = {}
    at = 0
    with open(out + ".layers.f32", "wb") as f:
        for name, a in arrays.items():
            a = np.asarray(a, dtype="<f4")
            index[name] = [at, list(a.shape)]
            f.write(a.tobytes())
            at += a.size
    with open(out + ".layers.json", "w") as f:
        json.dump({"model": os.path.basename(model), "sequence": seq, "arrays": index}, f, indent=0)


if __name__ == "__main__":
    main()
