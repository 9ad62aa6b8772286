package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * DeepSeek-V2 / V2-Lite / V3 / R1: Multi-head Latent Attention and DeepSeekMoE (docs/deepseek.md §2–3).
 *
 * <p>The cache holds, per token and layer, only the RMS-normalized latent {@code c} (kv_lora values) and
 * the rotated shared rope key (qk_rope values). Attention then runs in one of two equivalent forms:
 * <ul>
 * <li>NAIVE (§2.2): decompress every cached position into per-head keys {@code k_nope = W_UK c} and values
 * {@code v = W_UV c}, then ordinary attention;</li>
 * <li>ABSORBED (§2.3): fold W_UK into the query ({@code q_abs = W_UKᵀ q_nope}), attend over the latents
 * directly, and apply W_UV once to the weighted latent sum. Far cheaper per decoded token.</li>
 * </ul>
 * Both layouts of W_UK/W_UV are read: split {@code attn_k_b}/{@code attn_v_b} and legacy {@code attn_kv_b}.
 */
final class DeepSeek2Model implements Model {
    /** Which form of MLA attention to compute. */
    enum AttentionForm { NAIVE, ABSORBED }

    /** How an expert group is scored when routing with groups (docs/deepseek.md §3.2). */
    enum GroupScore { MAX, TOP2_SUM }

    private record Layer(float[] attnNorm, Tensor wq, Tensor wqA, float[] qANorm, Tensor wqB, Tensor wkvA,
                         float[] kvANorm, Tensor kB, Tensor vB, Tensor kvB, Tensor wo, float[] ffnNorm,
                         Tensor gate, Tensor up, Tensor down,
                         Tensor router, float[] selectionBias, Tensor gateExps, Tensor upExps, Tensor downExps,
                         Tensor gateShared, Tensor upShared, Tensor downShared) {
        boolean isMoe() {
            return router != null;
        }
    }

    private final ModelConfig c;
    private final ModelConfig.Mla mla;
    private final WorkerPool pool;
    private final AttentionForm form;
    private final Tensor tokenEmbd;
    private final float[] outputNorm;
    private final Tensor output;
    private final Layer[] layers;
    private final Rope rope;
    private final float kqScale;
    private final int vocab;

    DeepSeek2Model(ModelConfig c, Weights w, WorkerPool pool, AttentionForm form) {
        this.c = c;
        this.mla = c.mla();
        this.pool = pool;
        this.form = form;
        int e = c.embeddingLength();
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int rot = mla.qkRopeHeadDim();
        int kvr = mla.kvLoraRank();
        int vh = mla.vHeadDim();
        this.tokenEmbd = w.rows("token_embd.weight", e);
        this.vocab = Math.toIntExact(tokenEmbd.rowCount());
        this.outputNorm = w.vector("output_norm.weight", e);
        this.output = w.has("output.weight") ? w.tensor("output.weight", e, vocab) : tokenEmbd;
        ModelConfig.Moe moe = c.moe();
        this.layers = new Layer[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            int qLora = mla.qLoraRank();
            boolean moeLayer = moe != null && l >= moe.leadingDenseBlockCount();
            int ff = c.feedForwardLength();
            Tensor gate = null;
            Tensor up = null;
            Tensor down = null;
            Tensor router = null;
            float[] bias = null;
            Tensor ge = null;
            Tensor ue = null;
            Tensor de = null;
            Tensor gs = null;
            Tensor us = null;
            Tensor ds = null;
            if (moeLayer) {
                int x = moe.expertCount();
                int fe = moe.expertFeedForwardLength();
                router = w.tensor(p + "ffn_gate_inp.weight", e, x);
                bias = w.optionalVector(p + "exp_probs_b.bias", x);
                ge = w.tensor(p + "ffn_gate_exps.weight", e, fe, x);
                ue = w.tensor(p + "ffn_up_exps.weight", e, fe, x);
                de = w.tensor(p + "ffn_down_exps.weight", fe, e, x);
                if (moe.expertSharedCount() > 0) {
                    int fs = fe * moe.expertSharedCount();
                    gs = w.tensor(p + "ffn_gate_shexp.weight", e, fs);
                    us = w.tensor(p + "ffn_up_shexp.weight", e, fs);
                    ds = w.tensor(p + "ffn_down_shexp.weight", fs, e);
                }
            } else {
                gate = w.tensor(p + "ffn_gate.weight", e, ff);
                up = w.tensor(p + "ffn_up.weight", e, ff);
                down = w.tensor(p + "ffn_down.weight", ff, e);
            }
            layers[l] = new Layer(w.vector(p + "attn_norm.weight", e),
                    qLora == 0 ? w.tensor(p + "attn_q.weight", e, (long) h * (nope + rot)) : null,
                    qLora > 0 ? w.tensor(p + "attn_q_a.weight", e, qLora) : null,
                    qLora > 0 ? w.vector(p + "attn_q_a_norm.weight", qLora) : null,
                    qLora > 0 ? w.tensor(p + "attn_q_b.weight", qLora, (long) h * (nope + rot)) : null,
                    w.tensor(p + "attn_kv_a_mqa.weight", e, kvr + rot),
                    w.vector(p + "attn_kv_a_norm.weight", kvr),
                    mla.splitKvB() ? w.tensor(p + "attn_k_b.weight", nope, kvr, h) : null,
                    mla.splitKvB() ? w.tensor(p + "attn_v_b.weight", kvr, vh, h) : null,
                    mla.splitKvB() ? null : w.tensor(p + "attn_kv_b.weight", kvr, (long) h * (nope + vh)),
                    w.tensor(p + "attn_output.weight", (long) h * vh, e),
                    w.vector(p + "ffn_norm.weight", e), gate, up, down, router, bias, ge, ue, de, gs, us, ds);
        }
        double mscaleAllDim = c.ropeScaling().yarnLogMultiplier() / 0.1;
        this.rope = new Rope(rot, c.ropeFreqBase(), c.ropeScaling(), null, false, true, mscaleAllDim);
        // kq_scale = mscale² / sqrt(nope + rope), with the YaRN correction folded into mscale (§2.4).
        double attnFactorOrg = rope.attnFactor() * (1 + 0.1 * rope.logFactor());
        double mscale = attnFactorOrg * (1 + 0.1 * mscaleAllDim * rope.logFactor());
        this.kqScale = (float) (mscale * mscale / Math.sqrt(nope + rot));
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public Session newSession(int contextLength, CacheType cacheType) {
        return new Session(c.blockCount(), mla.kvLoraRank() + mla.qkRopeHeadDim(), contextLength, cacheType);
    }

    @Override
    public float[][] forward(Session s, int[] tokens, boolean allLogits) {
        Model.checkTokens(tokens, vocab);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens to feed");
        }
        s.reserve(tokens.length);
        int p0 = s.position();
        float[][] x = Blocks.embed(tokenEmbd, tokens);
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            float[][] hn = Blocks.rmsNorm(x, L.attnNorm, c.rmsNormEps());
            Blocks.addInto(x, attention(L, hn, s.layer(l), p0));
            float[][] fn = Blocks.rmsNorm(x, L.ffnNorm, c.rmsNormEps());
            Blocks.addInto(x, L.isMoe() ? moe(L, fn, s) : Blocks.swiglu(pool, L.gate, L.up, L.down, 0, c.feedForwardLength(), fn));
        }
        s.advance(tokens.length);
        return Blocks.logits(pool, x, outputNorm, c.rmsNormEps(), output, allLogits);
    }

    /** MLA for a batch at positions p0..: writes the new latents into the cache, returns W_O · heads. */
    private float[][] attention(Layer L, float[][] hn, KvLayer cache, int p0) {
        int t = hn.length;
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int rot = mla.qkRopeHeadDim();
        int qk = nope + rot;
        int kvr = mla.kvLoraRank();
        int vh = mla.vHeadDim();
        float[][] q;
        if (L.wq != null) {
            q = Blocks.matmul(pool, L.wq, hn);
        } else {
            q = Blocks.matmul(pool, L.wqB, Blocks.rmsNorm(Blocks.matmul(pool, L.wqA, hn), L.qANorm, c.rmsNormEps()));
        }
        float[][] kv = Blocks.matmul(pool, L.wkvA, hn);
        for (int i = 0; i < t; i++) {
            int pos = p0 + i;
            for (int head = 0; head < h; head++) {
                rope.apply(q[i], head * qk + nope, pos);
            }
            rope.apply(kv[i], kvr, pos);
            VectorMath.rmsNorm(kv[i], 0, kv[i], 0, L.kvANorm, kvr, c.rmsNormEps());
            cache.write(pos, 0, kv[i], 0, kvr + rot);
        }
        float[][] o = new float[t][h * vh];
        pool.forEach(t * h, job -> {
            int i = job / h;
            int head = job % h;
            int n = p0 + i + 1;
            float[] scores = new float[n];
            if (form == AttentionForm.ABSORBED) {
                float[] qAbs = new float[kvr];
                absorbQuery(L, head, q[i], head * qk, qAbs);
                for (int j = 0; j < n; j++) {
                    scores[j] = (cache.dot(j, 0, qAbs, 0, kvr) + cache.dot(j, kvr, q[i], head * qk + nope, rot)) * kqScale;
                }
                Blocks.softmaxScores(scores, n);
                float[] latent = new float[kvr];
                for (int j = 0; j < n; j++) {
                    cache.axpy(scores[j], j, 0, latent, 0, kvr);
                }
                valueUp(L, head, latent, o[i], head * vh);
            } else {
                float[] kNope = new float[nope];
                float[] latent = new float[kvr];
                float[][] values = new float[n][vh];
                for (int j = 0; j < n; j++) {
                    cache.read(j, 0, latent, 0, kvr);
                    keyUp(L, head, latent, kNope);
                    valueUp(L, head, latent, values[j], 0);
                    scores[j] = (VectorMath.dot(q[i], head * qk, kNope, 0, nope)
                            + cache.dot(j, kvr, q[i], head * qk + nope, rot)) * kqScale;
                }
                Blocks.softmaxScores(scores, n);
                for (int j = 0; j < n; j++) {
                    VectorMath.axpy(scores[j], values[j], 0, o[i], head * vh, vh);
                }
            }
        });
        return Blocks.matmul(pool, L.wo, o);
    }

    /** q_abs[c] = Σ_d W_UK[head][c][d] · q_nope[d]: the query moved into latent space (§2.3). */
    private void absorbQuery(Layer L, int head, float[] q, int qOff, float[] qAbs) {
        int nope = mla.qkNopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.kB != null) {
            MatMul.mulVector(L.kB, (long) head * kvr, kvr, q, qOff, qAbs, 0);
        } else {
            MatMul.mulTransposed(L.kvB, (long) head * (nope + mla.vHeadDim()), nope, q, qOff, qAbs, 0);
        }
    }

    /** k_nope[d] = Σ_c W_UK[head][c][d] · latent[c] (naive form). */
    private void keyUp(Layer L, int head, float[] latent, float[] kNope) {
        int nope = mla.qkNopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.kB != null) {
            MatMul.mulTransposed(L.kB, (long) head * kvr, kvr, latent, 0, kNope, 0);
        } else {
            MatMul.mulVector(L.kvB, (long) head * (nope + mla.vHeadDim()), nope, latent, 0, kNope, 0);
        }
    }

    /** v[d] = Σ_c W_UV[head][d][c] · latent[c]. */
    private void valueUp(Layer L, int head, float[] latent, float[] out, int outOff) {
        int vh = mla.vHeadDim();
        if (L.vB != null) {
            MatMul.mulVector(L.vB, (long) head * vh, vh, latent, 0, out, outOff);
        } else {
            int nope = mla.qkNopeHeadDim();
            MatMul.mulVector(L.kvB, (long) head * (nope + vh) + nope, vh, latent, 0, out, outOff);
        }
    }

    /** DeepSeekMoE: routed experts (tokens grouped by expert) plus the always-on shared experts. */
    private float[][] moe(Layer L, float[][] hn, Session s) {
        ModelConfig.Moe m = c.moe();
        int t = hn.length;
        int e = c.embeddingLength();
        float[][] logits = Blocks.matmul(pool, L.router, hn);
        int[][] chosen = new int[t][];
        float[][] weights = new float[t][];
        for (int i = 0; i < t; i++) {
            chosen[i] = route(logits[i], L.selectionBias, weights, i);
        }
        s.addRouting(chosen);
        float[][] out = L.gateShared != null
                ? Blocks.swiglu(pool, L.gateShared, L.upShared, L.downShared, 0, m.expertFeedForwardLength() * m.expertSharedCount(), hn)
                : new float[t][e];
        float[][] routed = new float[t][e];
        for (int expert = 0; expert < m.expertCount(); expert++) {
            List<Integer> rows = new ArrayList<>();
            List<Float> ws = new ArrayList<>();
            for (int i = 0; i < t; i++) {
                for (int k = 0; k < chosen[i].length; k++) {
                    if (chosen[i][k] == expert) {
                        rows.add(i);
                        ws.add(weights[i][k]);
                    }
                }
            }
            if (rows.isEmpty()) {
                continue;
            }
            float[][] batch = new float[rows.size()][];
            for (int r = 0; r < batch.length; r++) {
                batch[r] = hn[rows.get(r)];
            }
            float[][] y = Blocks.swiglu(pool, L.gateExps, L.upExps, L.downExps, expert, m.expertFeedForwardLength(), batch);
            for (int r = 0; r < batch.length; r++) {
                VectorMath.axpy(ws.get(r), y[r], 0, routed[rows.get(r)], 0, e);
            }
        }
        Blocks.addInto(out, routed);
        return out;
    }

    /**
     * Chooses experts for one token (docs/gguf.md §2.1, docs/deepseek.md §3.2) and writes their gate
     * weights to {@code weights[row]}. Returns the expert ids in selection order (best first; ties go to
     * the lower id).
     */
    private int[] route(float[] logits, float[] bias, float[][] weights, int row) {
        ModelConfig.Moe m = c.moe();
        int n = logits.length;
        float[] probs = new float[n];
        if (m.gating() == ModelConfig.Moe.Gating.SOFTMAX) {
            System.arraycopy(logits, 0, probs, 0, n);
            VectorMath.softmax(probs, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                probs[i] = VectorMath.sigmoid(logits[i]);
            }
        }
        float[] sel = probs.clone();
        if (bias != null) {
            for (int i = 0; i < n; i++) {
                sel[i] += bias[i];
            }
        }
        if (m.groupCount() > 1) {
            GroupScore rule = bias != null ? GroupScore.TOP2_SUM : GroupScore.MAX;
            int size = n / m.groupCount();
            float[] score = new float[m.groupCount()];
            for (int g = 0; g < m.groupCount(); g++) {
                int[] top = topK(Arrays.copyOfRange(sel, g * size, (g + 1) * size), rule == GroupScore.MAX ? 1 : 2);
                for (int k : top) {
                    score[g] += sel[g * size + k];
                }
            }
            boolean[] keep = new boolean[m.groupCount()];
            for (int g : topK(score, m.groupUsedCount())) {
                keep[g] = true;
            }
            for (int i = 0; i < n; i++) {
                if (!keep[i / size]) {
                    sel[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        int[] chosen = topK(sel, m.expertUsedCount());
        float[] w = new float[chosen.length];
        float sum = 0;
        for (int k = 0; k < chosen.length; k++) {
            w[k] = probs[chosen[k]];
            sum += w[k];
        }
        if (m.weightsNorm()) {
            float denom = Math.max(sum, 6.103515625e-5f);
            for (int k = 0; k < w.length; k++) {
                w[k] /= denom;
            }
        }
        if (m.weightsScale() != 0 && m.weightsScale() != 1) {
            for (int k = 0; k < w.length; k++) {
                w[k] *= m.weightsScale();
            }
        }
        weights[row] = w;
        return chosen;
    }

    /** Indexes of the k largest values, largest first; equal values by lower index. */
    static int[] topK(float[] v, int k) {
        int[] idx = new int[k];
        boolean[] taken = new boolean[v.length];
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < v.length; i++) {
                if (!taken[i] && (best < 0 || v[i] > v[best])) {
                    best = i;
                }
            }
            idx[j] = best;
            taken[best] = true;
        }
        return idx;
    }
}
