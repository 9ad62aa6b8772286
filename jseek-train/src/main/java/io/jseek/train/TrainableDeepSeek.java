package io.jseek.train;

import io.jseek.core.JseekException;
import io.jseek.model.Architecture;
import io.jseek.model.ModelConfig;
import io.jseek.model.Rope;
import io.jseek.model.Router;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The DeepSeek architecture the engine runs, built from the engine's {@link ModelConfig} (MLA without q-LoRA,
 * as V2-Lite; DeepSeekMoE with shared experts, the config's gating, groups, weight normalization and scale,
 * and V3's aux-loss-free selection bias), as trainable parameters named exactly as their GGUF tensors. The
 * attention is MLA's naive form; W_UK and W_UV are trained as one {@code attn_kv_b} matrix and split into
 * {@code attn_k_b} / {@code attn_v_b} on export. RoPE, MLA's softmax scale and expert choice are the engine's
 * ({@link Rope}, {@link Router}), so export writes what the config says and the engine computes what was
 * trained.
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

        /**
         * The engine's config of this shape: deepseek2 with the split W_UK/W_UV layout, no q-LoRA, no rope
         * scaling; MoE with sigmoid gating, normalized weights, scale 1 and one expert group.
         */
        public ModelConfig toModelConfig() {
            return new ModelConfig(Architecture.DEEPSEEK2, "", layers, contextLength, embd, ff, heads, 1, nope + rot,
                    vHead, (float) eps, (float) ropeBase, rot,
                    new ModelConfig.RopeScaling(ModelConfig.RopeScaling.Type.NONE, 1, 0, 0), vocab,
                    new ModelConfig.Mla(0, kvLora, nope, rot, vHead, true),
                    new ModelConfig.Moe(denseLead, experts, expertsUsed, sharedExperts, expertFf, 1, 1, 1f, true,
                            ModelConfig.Moe.Gating.SIGMOID), null);
        }
    }

    private final ModelConfig c;
    private final ModelConfig.Mla mla;
    private final double biasRate;
    private final Map<String, Var> params = new LinkedHashMap<>();
    /** Per MoE layer: the selection bias (not a gradient parameter) and the last step's expert load. */
    private final Map<Integer, double[]> selectionBias = new LinkedHashMap<>();
    private final Map<Integer, int[]> load = new LinkedHashMap<>();

    public TrainableDeepSeek(Config c, long seed) {
        this(c.toModelConfig(), c.biasRate(), seed);
    }

    /**
     * A model of config {@code c} with weights drawn from {@code seed}; {@code biasRate}: the step of the
     * aux-loss-free bias update per training step (0: none).
     */
    public TrainableDeepSeek(ModelConfig c, double biasRate, long seed) {
        if (c.architecture() != Architecture.DEEPSEEK2 || c.mla() == null || c.mla().qLoraRank() != 0
                || !c.mla().splitKvB()) {
            throw new JseekException("the trainer builds deepseek2 models with MLA, no q-LoRA and split attn_k_b/attn_v_b,"
                    + " not " + c);
        }
        this.c = c;
        this.mla = c.mla();
        this.biasRate = biasRate;
        Random rnd = new Random(seed);
        for (Param p : layout(c)) {
            Var v = new Var(p.name(), Math.toIntExact(p.rows()), Math.toIntExact(p.cols()));
            for (int i = 0; i < v.v.length; i++) {
                v.v[i] = p.std() < 0 ? 1 : rnd.nextGaussian() * p.std();
            }
            params.put(p.name(), v);
        }
        for (int l = 0; l < c.blockCount() + c.nextnLayers(); l++) {
            if (isMoe(l)) {
                selectionBias.put(l, new double[c.moe().expertCount()]);
                load.put(l, new int[c.moe().expertCount()]);
            }
        }
    }

    /** One parameter of the model: its name, shape and initial values (all ones when {@code std} < 0, else N(0, std²)). */
    record Param(String name, long rows, long cols, double std) {
        long size() {
            return rows * cols;
        }
    }

    /**
     * The parameters a model of config {@code c} has, in order (the order checkpoints store them in), with shapes in
     * longs so a checkpoint can check what a config would allocate before allocating it.
     */
    static List<Param> layout(ModelConfig c) {
        long d = c.embeddingLength();
        int layers = c.blockCount();
        List<Param> out = new ArrayList<>();
        out.add(new Param("token_embd.weight", c.vocabSize(), d, 1.0));
        for (int l = 0; l < layers; l++) {
            blockLayout(c, l, out);
        }
        out.add(new Param("output_norm.weight", 1, d, -1));
        out.add(new Param("output.weight", c.vocabSize(), d, 1 / Math.sqrt(d)));
        if (c.nextnLayers() > 0) {
            // The MTP block (docs/deepseek.md §5): a block of the model's kind, eh_proj and its norms; the embedding
            // and the output head are the main model's (llama.cpp falls back to them, as jseek does).
            int l = layers;
            String p = "blk." + l + ".nextn.";
            out.add(new Param(p + "enorm.weight", 1, d, -1));
            out.add(new Param(p + "hnorm.weight", 1, d, -1));
            out.add(new Param(p + "eh_proj.weight", d, 2 * d, 1 / Math.sqrt(2.0 * d)));
            blockLayout(c, l, out);
            out.add(new Param(p + "shared_head_norm.weight", 1, d, -1));
        }
        return out;
    }

    /** Block l's parameters: MLA, its norms, and a dense or MoE FFN. */
    private static void blockLayout(ModelConfig c, int l, List<Param> out) {
        ModelConfig.Mla mla = c.mla();
        long d = c.embeddingLength();
        long h = c.headCount();
        int layers = c.blockCount();
        long nope = mla.qkNopeHeadDim();
        long rot = mla.qkRopeHeadDim();
        long kvr = mla.kvLoraRank();
        long vh = mla.vHeadDim();
        long ff = c.feedForwardLength();
        ModelConfig.Moe moe = c.moe();
        String p = "blk." + l + ".";
        out.add(new Param(p + "attn_norm.weight", 1, d, -1));
        out.add(new Param(p + "attn_q.weight", h * (nope + rot), d, 1 / Math.sqrt(d)));
        out.add(new Param(p + "attn_kv_a_mqa.weight", kvr + rot, d, 1 / Math.sqrt(d)));
        out.add(new Param(p + "attn_kv_a_norm.weight", 1, kvr, -1));
        out.add(new Param(p + "attn_kv_b.weight", h * (nope + vh), kvr, 1 / Math.sqrt(kvr)));
        out.add(new Param(p + "attn_output.weight", d, h * vh, 1 / Math.sqrt(h * vh * 2.0 * layers)));
        out.add(new Param(p + "ffn_norm.weight", 1, d, -1));
        if (moe == null || l < moe.leadingDenseBlockCount()) {
            out.add(new Param(p + "ffn_gate.weight", ff, d, 1 / Math.sqrt(d)));
            out.add(new Param(p + "ffn_up.weight", ff, d, 1 / Math.sqrt(d)));
            out.add(new Param(p + "ffn_down.weight", d, ff, 1 / Math.sqrt(ff * 2.0 * layers)));
        } else {
            long x = moe.expertCount();
            long f = moe.expertFeedForwardLength();
            out.add(new Param(p + "ffn_gate_inp.weight", x, d, 1 / Math.sqrt(d)));
            out.add(new Param(p + "ffn_gate_exps.weight", x * f, d, 1 / Math.sqrt(d)));
            out.add(new Param(p + "ffn_up_exps.weight", x * f, d, 1 / Math.sqrt(d)));
            out.add(new Param(p + "ffn_down_exps.weight", x * d, f, 1 / Math.sqrt(f * 2.0 * layers)));
            long fs = f * moe.expertSharedCount();
            if (fs > 0) {
                out.add(new Param(p + "ffn_gate_shexp.weight", fs, d, 1 / Math.sqrt(d)));
                out.add(new Param(p + "ffn_up_shexp.weight", fs, d, 1 / Math.sqrt(d)));
                out.add(new Param(p + "ffn_down_shexp.weight", d, fs, 1 / Math.sqrt(fs * 2.0 * layers)));
            }
        }
    }

    private boolean isMoe(int l) {
        return c.moe() != null && l >= c.moe().leadingDenseBlockCount();
    }

    /** The engine's config of this model: what export writes. */
    public ModelConfig config() {
        return c;
    }

    /** The aux-loss-free bias update's step (0: none). */
    public double biasRate() {
        return biasRate;
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

    /** MoE layer l's expert load in the last forward pass: tokens per expert. */
    int[] expertLoad(int l) {
        return load.get(l);
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
        return forward(t, sequences, false).logits();
    }

    /**
     * The main logits and, with {@code mtp} (the model must have the block), the MTP block's: row i of a sequence
     * (i ≤ its length − 2) predicts token i + 2 from the main model's final hidden state at i (after the output norm)
     * and token i + 1 (docs/deepseek.md §5), at position i; the rows are each sequence's rows 0 … length − 2 in turn ({@link #mtpTargets}).
     */
    public Outputs forward(Tape t, int[][] sequences, boolean mtp) {
        if (mtp && c.nextnLayers() == 0) {
            throw new IllegalStateException("the model has no MTP block");
        }
        Rows main = Rows.of(sequences, 0);
        for (int[] l : load.values()) {
            java.util.Arrays.fill(l, 0);
        }
        double eps = c.rmsNormEps();
        Var x = t.embedding(parameter("token_embd.weight"), main.ids);
        for (int l = 0; l < c.blockCount(); l++) {
            x = block(t, x, l, main);
        }
        Var out = t.rmsNorm(x, parameter("output_norm.weight"), eps);
        Var logits = t.matmul(out, parameter("output.weight"));
        if (!mtp) {
            return new Outputs(logits, null);
        }
        // MTP rows: (h_i, t_{i+1}) for i < length − 1, each sequence its own causal run from position 0.
        Rows m = Rows.of(sequences, 1);
        int[] from = new int[m.ids.length];
        for (int s = 0, r = 0, base = 0; s < sequences.length; base += sequences[s].length, s++) {
            for (int i = 0; i + 1 < sequences[s].length; i++, r++) {
                from[r] = base + i;
                m.ids[r] = sequences[s][i + 1];
            }
        }
        int l = c.blockCount();
        String p = "blk." + l + ".nextn.";
        Var e = t.rmsNorm(t.embedding(parameter("token_embd.weight"), m.ids), parameter(p + "enorm.weight"), eps);
        Var h = t.rmsNorm(t.embedding(out, from), parameter(p + "hnorm.weight"), eps);
        Var y = block(t, t.matmul(t.concat(e, h), parameter(p + "eh_proj.weight")), l, m);
        Var mtpLogits = t.matmul(t.rmsNorm(y, parameter(p + "shared_head_norm.weight"), eps), parameter("output.weight"));
        return new Outputs(logits, mtpLogits);
    }

    /** Main logits (every row) and the MTP block's (null when not computed). */
    public record Outputs(Var logits, Var mtp) {
    }

    /**
     * The MTP rows' targets: for each sequence, rows i ≤ length − 2 predict token i + 2, or −1 where {@code counts}
     * (the main rows' targets, −1 for rows that do not count) says row i + 1's prediction does not count.
     */
    public static int[] mtpTargets(int[][] sequences, int[] mainTargets) {
        int rows = 0;
        for (int[] s : sequences) {
            rows += Math.max(0, s.length - 1);
        }
        int[] out = new int[rows];
        for (int s = 0, r = 0, base = 0; s < sequences.length; base += sequences[s].length, s++) {
            for (int i = 0; i + 1 < sequences[s].length; i++, r++) {
                out[r] = mainTargets[base + i + 1];
            }
        }
        return out;
    }

    /** The rows of a packed batch: token ids, positions, and each row's sequence start. */
    private record Rows(int[] ids, int[] pos, int[] start) {
        /** Every sequence less its last {@code drop} rows. */
        static Rows of(int[][] sequences, int drop) {
            int rows = 0;
            for (int[] s : sequences) {
                rows += Math.max(0, s.length - drop);
            }
            Rows r = new Rows(new int[rows], new int[rows], new int[rows]);
            int k = 0;
            for (int[] s : sequences) {
                int s0 = k;
                for (int i = 0; i < s.length - drop; i++, k++) {
                    r.ids[k] = s[i];
                    r.pos[k] = i;
                    r.start[k] = s0;
                }
            }
            return r;
        }
    }

    /** Block l over the rows: {@code x += attention(norm(x)); x += ffn(norm(x))}. */
    private Var block(Tape t, Var x, int l, Rows rows) {
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int rot = mla.qkRopeHeadDim();
        int kvr = mla.kvLoraRank();
        double eps = c.rmsNormEps();
        Rope rope = Rope.of(c);
        double kqScale = Rope.mlaSoftmaxScale(c);
        String p = "blk." + l + ".";
        Var hn = t.rmsNorm(x, parameter(p + "attn_norm.weight"), eps);
        Var q = t.rope(t.matmul(hn, parameter(p + "attn_q.weight")), h, nope + rot, nope, rows.pos, rope);
        Var kva = t.matmul(hn, parameter(p + "attn_kv_a_mqa.weight"));
        Var cKv = t.rmsNorm(t.columns(kva, 0, kvr), parameter(p + "attn_kv_a_norm.weight"), eps);
        Var kRope = t.rope(t.columns(kva, kvr, kvr + rot), 1, rot, 0, rows.pos, rope);
        Var kv = t.matmul(cKv, parameter(p + "attn_kv_b.weight"));
        Var att = DeepSeekOps.mlaAttention(t, q, kv, kRope, h, nope, rot, mla.vHeadDim(), kqScale, rows.start);
        x = t.add(x, t.matmul(att, parameter(p + "attn_output.weight")));
        Var fn = t.rmsNorm(x, parameter(p + "ffn_norm.weight"), eps);
        Var ffn;
        if (!isMoe(l)) {
            ffn = swiglu(t, fn, p + "ffn_gate.weight", p + "ffn_up.weight", p + "ffn_down.weight");
        } else {
            ffn = DeepSeekOps.moe(t, fn, parameter(p + "ffn_gate_inp.weight"), c.moe(),
                    new Router(c.moe(), toFloat(selectionBias.get(l))), parameter(p + "ffn_gate_exps.weight"),
                    parameter(p + "ffn_up_exps.weight"), parameter(p + "ffn_down_exps.weight"), load.get(l));
            if (c.moe().expertSharedCount() > 0) {
                ffn = t.add(ffn, swiglu(t, fn, p + "ffn_gate_shexp.weight", p + "ffn_up_shexp.weight",
                        p + "ffn_down_shexp.weight"));
            }
        }
        return t.add(x, ffn);
    }

    /** The selection bias as the engine holds it (exported as F32). */
    static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
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
        if (biasRate == 0) {
            return;
        }
        for (var e : load.entrySet()) {
            int[] n = e.getValue();
            double mean = java.util.Arrays.stream(n).average().orElse(0);
            double[] b = selectionBias.get(e.getKey());
            for (int i = 0; i < n.length; i++) {
                b[i] += biasRate * Math.signum(mean - n[i]);
            }
        }
    }
}
