package io.jseek.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The DeepSeek architecture the engine runs (MLA without q-LoRA, as V2-Lite; DeepSeekMoE with a shared
 * expert, sigmoid gating and V3's aux-loss-free selection bias), as trainable parameters named exactly as
 * their GGUF tensors. The attention is MLA's naive form; W_UK and W_UV are trained as one
 * {@code attn_kv_b} matrix and split into {@code attn_k_b} / {@code attn_v_b} on export.
 */
public final class TrainableDeepSeek {
    /**
     * @param denseLead    layers before this one have a dense SwiGLU FFN of width {@code ff}; the rest are MoE
     * @param biasRate     step of the aux-loss-free bias update per training step (0: none)
     */
    public record Config(int vocab, int embd, int layers, int heads, int kvLora, int nope, int rot, int vHead,
                         int ff, int denseLead, int experts, int expertsUsed, int expertFf, int sharedExperts,
                         double ropeBase, double eps, int contextLength, double biasRate) {
        public Config {
            if (rot % 2 != 0 || experts < expertsUsed || embd < 1 || heads < 1) {
                throw new IllegalArgumentException("bad model config " + this);
            }
        }

        /** kq_scale of MLA without YaRN: 1/sqrt(nope + rot). */
        double kqScale() {
            return 1 / Math.sqrt(nope + rot);
        }
    }

    private final Config c;
    private final Map<String, Var> params = new LinkedHashMap<>();
    /** Per MoE layer: the selection bias (not a gradient parameter) and the last step's expert load. */
    private final Map<Integer, double[]> selectionBias = new LinkedHashMap<>();
    private final Map<Integer, int[]> load = new LinkedHashMap<>();

    public TrainableDeepSeek(Config c, long seed) {
        this.c = c;
        Random rnd = new Random(seed);
        int d = c.embd();
        int h = c.heads();
        matrix("token_embd.weight", c.vocab(), d, rnd, 1.0);
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            ones(p + "attn_norm.weight", d);
            matrix(p + "attn_q.weight", h * (c.nope() + c.rot()), d, rnd, 1 / Math.sqrt(d));
            matrix(p + "attn_kv_a_mqa.weight", c.kvLora() + c.rot(), d, rnd, 1 / Math.sqrt(d));
            ones(p + "attn_kv_a_norm.weight", c.kvLora());
            matrix(p + "attn_kv_b.weight", h * (c.nope() + c.vHead()), c.kvLora(), rnd, 1 / Math.sqrt(c.kvLora()));
            matrix(p + "attn_output.weight", d, h * c.vHead(), rnd, 1 / Math.sqrt(h * c.vHead() * 2.0 * c.layers()));
            ones(p + "ffn_norm.weight", d);
            if (l < c.denseLead()) {
                matrix(p + "ffn_gate.weight", c.ff(), d, rnd, 1 / Math.sqrt(d));
                matrix(p + "ffn_up.weight", c.ff(), d, rnd, 1 / Math.sqrt(d));
                matrix(p + "ffn_down.weight", d, c.ff(), rnd, 1 / Math.sqrt(c.ff() * 2.0 * c.layers()));
            } else {
                int x = c.experts();
                int f = c.expertFf();
                matrix(p + "ffn_gate_inp.weight", x, d, rnd, 1 / Math.sqrt(d));
                matrix(p + "ffn_gate_exps.weight", x * f, d, rnd, 1 / Math.sqrt(d));
                matrix(p + "ffn_up_exps.weight", x * f, d, rnd, 1 / Math.sqrt(d));
                matrix(p + "ffn_down_exps.weight", x * d, f, rnd, 1 / Math.sqrt(f * 2.0 * c.layers()));
                int fs = f * c.sharedExperts();
                if (fs > 0) {
                    matrix(p + "ffn_gate_shexp.weight", fs, d, rnd, 1 / Math.sqrt(d));
                    matrix(p + "ffn_up_shexp.weight", fs, d, rnd, 1 / Math.sqrt(d));
                    matrix(p + "ffn_down_shexp.weight", d, fs, rnd, 1 / Math.sqrt(fs * 2.0 * c.layers()));
                }
                selectionBias.put(l, new double[x]);
                load.put(l, new int[x]);
            }
        }
        ones("output_norm.weight", d);
        matrix("output.weight", c.vocab(), d, rnd, 1 / Math.sqrt(d));
    }

    private void matrix(String name, int rows, int cols, Random rnd, double std) {
        Var v = new Var(name, rows, cols);
        for (int i = 0; i < v.v.length; i++) {
            v.v[i] = rnd.nextGaussian() * std;
        }
        params.put(name, v);
    }

    private void ones(String name, int n) {
        Var v = new Var(name, 1, n);
        java.util.Arrays.fill(v.v, 1);
        params.put(name, v);
    }

    public Config config() {
        return c;
    }

    /** Every parameter, in GGUF order. */
    public List<Var> parameters() {
        return new ArrayList<>(params.values());
    }

    public Var parameter(String name) {
        Var v = params.get(name);
        if (v == null) {
            throw new IllegalArgumentException("no parameter " + name);
        }
        return v;
    }

    /** MoE layer l's selection bias (exported as blk.l.exp_probs_b.bias). */
    public double[] selectionBias(int l) {
        return selectionBias.get(l);
    }

    /** The MoE layers. */
    public java.util.Set<Integer> moeLayers() {
        return selectionBias.keySet();
    }

    /**
     * Logits after every token of every sequence ({@code Σ lengths × vocab}, sequences one after another;
     * each starts at position 0 and attends only to itself).
     */
    public Var forward(Tape t, int[][] sequences) {
        int rows = 0;
        for (int[] s : sequences) {
            rows += s.length;
        }
        int[] ids = new int[rows];
        int[] pos = new int[rows];
        int[] start = new int[rows];
        int r = 0;
        for (int[] s : sequences) {
            int s0 = r;
            for (int i = 0; i < s.length; i++, r++) {
                ids[r] = s[i];
                pos[r] = i;
                start[r] = s0;
            }
        }
        for (int[] l : load.values()) {
            java.util.Arrays.fill(l, 0);
        }
        int h = c.heads();
        Var x = t.embedding(parameter("token_embd.weight"), ids);
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            Var hn = t.rmsNorm(x, parameter(p + "attn_norm.weight"), c.eps());
            Var q = t.matmul(hn, parameter(p + "attn_q.weight"));
            q = t.rope(q, h, c.nope() + c.rot(), c.nope(), c.rot(), pos, c.ropeBase());
            Var kva = t.matmul(hn, parameter(p + "attn_kv_a_mqa.weight"));
            Var latent = t.rmsNorm(t.columns(kva, 0, c.kvLora()), parameter(p + "attn_kv_a_norm.weight"), c.eps());
            Var kRope = t.rope(t.columns(kva, c.kvLora(), c.kvLora() + c.rot()), 1, c.rot(), 0, c.rot(), pos, c.ropeBase());
            Var kv = t.matmul(latent, parameter(p + "attn_kv_b.weight"));
            Var att = t.mlaAttention(q, kv, kRope, h, c.nope(), c.rot(), c.vHead(), c.kqScale(), start);
            x = t.add(x, t.matmul(att, parameter(p + "attn_output.weight")));
            Var fn = t.rmsNorm(x, parameter(p + "ffn_norm.weight"), c.eps());
            Var ffn;
            if (l < c.denseLead()) {
                ffn = swiglu(t, fn, p + "ffn_gate.weight", p + "ffn_up.weight", p + "ffn_down.weight");
            } else {
                ffn = t.moe(fn, parameter(p + "ffn_gate_inp.weight"), selectionBias.get(l),
                        parameter(p + "ffn_gate_exps.weight"), parameter(p + "ffn_up_exps.weight"),
                        parameter(p + "ffn_down_exps.weight"), c.experts(), c.expertsUsed(), true, true, 1.0, load.get(l));
                if (c.sharedExperts() > 0) {
                    ffn = t.add(ffn, swiglu(t, fn, p + "ffn_gate_shexp.weight", p + "ffn_up_shexp.weight",
                            p + "ffn_down_shexp.weight"));
                }
            }
            x = t.add(x, ffn);
        }
        Var out = t.rmsNorm(x, parameter("output_norm.weight"), c.eps());
        return t.matmul(out, parameter("output.weight"));
    }

    private Var swiglu(Tape t, Var x, String gate, String up, String down) {
        Var g = t.silu(t.matmul(x, parameter(gate)));
        return t.matmul(t.mul(g, t.matmul(x, parameter(up))), parameter(down));
    }

    /**
     * DeepSeek-V3's auxiliary-loss-free balancing: after a step, each MoE layer's selection bias moves by
     * {@code biasRate} towards experts that got fewer tokens than the mean and away from busier ones.
     */
    public void updateSelectionBias() {
        if (c.biasRate() == 0) {
            return;
        }
        for (var e : load.entrySet()) {
            int[] n = e.getValue();
            double mean = java.util.Arrays.stream(n).average().orElse(0);
            double[] b = selectionBias.get(e.getKey());
            for (int i = 0; i < n.length; i++) {
                b[i] += c.biasRate() * Math.signum(mean - n[i]);
            }
        }
    }
}
