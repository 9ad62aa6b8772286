package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;
import java.util.Arrays;

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

    private record Layer(float[] attnNorm, Matrix wq, Matrix wqA, float[] qANorm, Matrix wqB, Matrix wkvA,
                         float[] kvANorm, Tensor kB, Tensor vB, Tensor kvB, Matrix wo, float[] ffnNorm,
                         Matrix gate, Matrix up, Matrix down,
                         Matrix router, float[] selectionBias, Matrix gateExps, Matrix upExps, Matrix downExps,
                         Matrix gateShared, Matrix upShared, Matrix downShared) {
        boolean isMoe() {
            return router != null;
        }
    }

    /** Per-call buffers for a batch of {@code t} tokens. */
    private final class Buffers {
        final float[][] q;
        final float[][] qa;
        final float[][] kv;
        final float[][] o;
        final float[][] g;
        final float[][] u;
        final float[][] routerLogits;
        /** Per token: the score each expert was selected by (kept for recording routing). */
        final float[][] scores;
        final int[][] chosen;
        final float[][] weights;
        final float[][] routed;
        final float[][] expertIn;
        final float[][] expertOut;
        final int[] expertRows;
        final float[] expertWeights;
        final float[] probs;
        final float[] selection;
        final float[] groupScores;
        final int[] top;
        final boolean[] taken;
        final MatMul.Products products = new MatMul.Products(2);
        final Attention attention = new Attention();

        Buffers(int t) {
            int h = c.headCount();
            int e = c.embeddingLength();
            q = new float[t][h * (mla.qkNopeHeadDim() + mla.qkRopeHeadDim())];
            qa = new float[t][Math.max(1, mla.qLoraRank())];
            kv = new float[t][mla.kvLoraRank() + mla.qkRopeHeadDim()];
            o = new float[t][h * mla.vHeadDim()];
            ModelConfig.Moe m = c.moe();
            int width = c.feedForwardLength();
            int x = 1;
            int k = 1;
            int groups = 1;
            if (m != null) {
                width = Math.max(width, m.expertFeedForwardLength() * Math.max(1, m.expertSharedCount()));
                x = m.expertCount();
                k = m.expertUsedCount();
                groups = Math.max(1, m.groupCount());
            }
            g = new float[t][width];
            u = new float[t][width];
            routerLogits = new float[t][x];
            scores = new float[t][x];
            chosen = new int[t][k];
            weights = new float[t][k];
            routed = new float[t][e];
            expertIn = new float[t][];
            expertOut = new float[t][e];
            expertRows = new int[t];
            expertWeights = new float[t];
            probs = new float[x];
            selection = new float[x];
            groupScores = new float[groups];
            top = new int[Math.max(k, groups)];
            taken = new boolean[Math.max(x, groups)];
        }
    }

    /** Attention of every (token, head) pair of the batch over the cache; a reusable task. */
    private final class Attention implements WorkerPool.RangeBody {
        Buffers b;
        Layer layer;
        Batch batch;
        int l;
        /** ABSORBED: heads are handled in this many groups per token, each group reading the cache once. */
        int groups;

        @Override
        public void run(int from, int to) {
            // NAIVE (tests only): one (token, head) job at a time, decompressing every cached position.
            if (form == AttentionForm.ABSORBED) {
                for (int job = from; job < to; job++) {
                    absorbedGroup(this, job / groups, job % groups);
                }
                return;
            }
            int h = c.headCount();
            int nope = mla.qkNopeHeadDim();
            int rot = mla.qkRopeHeadDim();
            int qk = nope + rot;
            int kvr = mla.kvLoraRank();
            int vh = mla.vHeadDim();
            float[] tmp = scratch(kvr + Math.max(kvr, nope) + vh);
            for (int job = from; job < to; job++) {
                int i = job / h;
                int head = job % h;
                KvLayer cache = batch.cache(i, l);
                int n = batch.position[i] + 1;
                float[] q = b.q[i];
                float[] scores = Blocks.scores(n);
                for (int j = 0; j < n; j++) {
                    cache.read(j, 0, tmp, 0, kvr);
                    keyUp(layer, head, tmp, tmp, kvr);
                    scores[j] = (VectorMath.dot(q, head * qk, tmp, kvr, nope)
                            + cache.dot(j, kvr, q, head * qk + nope, rot)) * kqScale;
                }
                VectorMath.softmax(scores, 0, n);
                Arrays.fill(b.o[i], head * vh, (head + 1) * vh, 0f);
                for (int j = 0; j < n; j++) {
                    cache.read(j, 0, tmp, 0, kvr);
                    valueUp(layer, head, tmp, 0, tmp, kvr + Math.max(kvr, nope));
                    VectorMath.axpy(scores[j], tmp, kvr + Math.max(kvr, nope), b.o[i], head * vh, vh);
                }
            }
        }
    }

    /**
     * Absorbed attention (§2.3) of token i for one group of heads. The latent cache is shared by every
     * head, so each cached position is read (and converted from F16) once per group, not once per head.
     */
    private void absorbedGroup(Attention a, int i, int group) {
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int rot = mla.qkRopeHeadDim();
        int qk = nope + rot;
        int kvr = mla.kvLoraRank();
        int vh = mla.vHeadDim();
        int per = (h + a.groups - 1) / a.groups;
        int h0 = group * per;
        int hg = Math.min(h, h0 + per) - h0;
        KvLayer cache = a.batch.cache(i, a.l);
        int n = a.batch.position[i] + 1;
        float[] q = a.b.q[i];
        // tmp: queries in latent space [per][kvr], latent sums [per][kvr], one cached row [kvr + rot]
        float[] tmp = scratch(2 * per * kvr + kvr + rot);
        int sums = per * kvr;
        int row = 2 * per * kvr;
        float[] scores = Blocks.scores(per * n);
        for (int k = 0; k < hg; k++) {
            absorbQuery(a.layer, h0 + k, q, (h0 + k) * qk, tmp, k * kvr);
        }
        for (int j = 0; j < n; j++) {
            cache.read(j, 0, tmp, row, kvr + rot);
            for (int k = 0; k < hg; k++) {
                scores[k * n + j] = (VectorMath.dot(tmp, k * kvr, tmp, row, kvr)
                        + VectorMath.dot(q, (h0 + k) * qk + nope, tmp, row + kvr, rot)) * kqScale;
            }
        }
        for (int k = 0; k < hg; k++) {
            VectorMath.softmax(scores, k * n, n);
        }
        Arrays.fill(tmp, sums, sums + hg * kvr, 0f);
        for (int j = 0; j < n; j++) {
            cache.read(j, 0, tmp, row, kvr);
            for (int k = 0; k < hg; k++) {
                VectorMath.axpy(scores[k * n + j], tmp, row, tmp, sums + k * kvr, kvr);
            }
        }
        for (int k = 0; k < hg; k++) {
            valueUp(a.layer, h0 + k, tmp, sums + k * kvr, a.b.o[i], (h0 + k) * vh);
        }
    }

    /** Each thread's small attention scratch. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }

    private final ModelConfig c;
    private final ModelConfig.Mla mla;
    private final WorkerPool pool;
    private final AttentionForm form;
    private final Tensor tokenEmbd;
    private final float[] outputNorm;
    private final Matrix output;
    private final Layer[] layers;
    private final Rope rope;
    private final float kqScale;
    private final int vocab;
    private final Workspaces workspaces;

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
        this.output = w.has("output.weight") ? w.matrix("output.weight", e, vocab) : w.packed(tokenEmbd);
        ModelConfig.Moe moe = c.moe();
        this.layers = new Layer[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            int qLora = mla.qLoraRank();
            boolean moeLayer = moe != null && l >= moe.leadingDenseBlockCount();
            int ff = c.feedForwardLength();
            Matrix gate = null;
            Matrix up = null;
            Matrix down = null;
            Matrix router = null;
            float[] bias = null;
            Matrix ge = null;
            Matrix ue = null;
            Matrix de = null;
            Matrix gs = null;
            Matrix us = null;
            Matrix ds = null;
            if (moeLayer) {
                int x = moe.expertCount();
                int fe = moe.expertFeedForwardLength();
                router = w.matrix(p + "ffn_gate_inp.weight", e, x);
                bias = w.optionalVector(p + "exp_probs_b.bias", x);
                ge = w.matrix(p + "ffn_gate_exps.weight", e, fe, x);
                ue = w.matrix(p + "ffn_up_exps.weight", e, fe, x);
                de = w.matrix(p + "ffn_down_exps.weight", fe, e, x);
                if (moe.expertSharedCount() > 0) {
                    int fs = fe * moe.expertSharedCount();
                    gs = w.matrix(p + "ffn_gate_shexp.weight", e, fs);
                    us = w.matrix(p + "ffn_up_shexp.weight", e, fs);
                    ds = w.matrix(p + "ffn_down_shexp.weight", fs, e);
                }
            } else {
                gate = w.matrix(p + "ffn_gate.weight", e, ff);
                up = w.matrix(p + "ffn_up.weight", e, ff);
                down = w.matrix(p + "ffn_down.weight", ff, e);
            }
            layers[l] = new Layer(w.vector(p + "attn_norm.weight", e),
                    qLora == 0 ? w.matrix(p + "attn_q.weight", e, (long) h * (nope + rot)) : null,
                    qLora > 0 ? w.matrix(p + "attn_q_a.weight", e, qLora) : null,
                    qLora > 0 ? w.vector(p + "attn_q_a_norm.weight", qLora) : null,
                    qLora > 0 ? w.matrix(p + "attn_q_b.weight", qLora, (long) h * (nope + rot)) : null,
                    w.matrix(p + "attn_kv_a_mqa.weight", e, kvr + rot),
                    w.vector(p + "attn_kv_a_norm.weight", kvr),
                    mla.splitKvB() ? w.tensor(p + "attn_k_b.weight", nope, kvr, h) : null,
                    mla.splitKvB() ? w.tensor(p + "attn_v_b.weight", kvr, vh, h) : null,
                    mla.splitKvB() ? null : w.tensor(p + "attn_kv_b.weight", kvr, (long) h * (nope + vh)),
                    w.matrix(p + "attn_output.weight", (long) h * vh, e),
                    w.vector(p + "ffn_norm.weight", e), gate, up, down, router, bias, ge, ue, de, gs, us, ds);
        }
        double mscaleAllDim = c.ropeScaling().yarnLogMultiplier() / 0.1;
        this.rope = new Rope(rot, c.ropeFreqBase(), c.ropeScaling(), null, false, true, mscaleAllDim);
        // kq_scale = mscale² / sqrt(nope + rope), with the YaRN correction folded into mscale (§2.4).
        double attnFactorOrg = rope.attnFactor() * (1 + 0.1 * rope.logFactor());
        double mscale = attnFactorOrg * (1 + 0.1 * mscaleAllDim * rope.logFactor());
        this.kqScale = (float) (mscale * mscale / Math.sqrt(nope + rot));
        this.workspaces = new Workspaces(n -> new Workspace(n, e, vocab, new Buffers(n)));
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public int kvValuesPerToken() {
        return mla.kvLoraRank() + mla.qkRopeHeadDim();
    }

    @Override
    public float[][] forward(Batch batch, boolean allLogits) {
        Workspace ws = Blocks.begin(batch, tokenEmbd, workspaces);
        int t = ws.tokens;
        Buffers b = (Buffers) ws.extra;
        float eps = c.rmsNormEps();
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Blocks.rmsNorm(ws.x, t, L.attnNorm, eps, ws.hn);
            attention(L, ws, b, batch, l);
            Blocks.addInto(ws.x, ws.attnOut, t);
            Blocks.rmsNorm(ws.x, t, L.ffnNorm, eps, ws.hn);
            if (L.isMoe()) {
                moe(L, l, ws, b, batch);
            } else {
                Blocks.swiglu(pool, b.products, L.gate, L.up, L.down, 0, c.feedForwardLength(), ws.hn, t, b.g, b.u, ws.ffnOut);
            }
            Blocks.addInto(ws.x, ws.ffnOut, t);
        }
        return Blocks.finish(pool, ws, batch, outputNorm, eps, output, allLogits);
    }

    /** MLA for the batch: writes the new latents into each row's cache, W_O · heads into attnOut. */
    private void attention(Layer L, Workspace ws, Buffers b, Batch batch, int l) {
        int t = ws.tokens;
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int qk = nope + mla.qkRopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.wq != null) {
            MatMul.mul(pool, b.products.clear().add(L.wq, b.q).add(L.wkvA, b.kv), ws.hn, t);
        } else {
            MatMul.mul(pool, b.products.clear().add(L.wqA, b.qa).add(L.wkvA, b.kv), ws.hn, t);
            Blocks.rmsNorm(b.qa, t, L.qANorm, c.rmsNormEps(), b.qa);
            Blocks.matmul(pool, L.wqB, b.qa, t, b.q);
        }
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            KvLayer cache = batch.cache(i, l);
            for (int head = 0; head < h; head++) {
                rope.apply(b.q[i], head * qk + nope, pos);
            }
            rope.apply(b.kv[i], kvr, pos);
            VectorMath.rmsNorm(b.kv[i], 0, b.kv[i], 0, L.kvANorm, kvr, c.rmsNormEps());
            cache.write(pos, 0, b.kv[i], 0, b.kv[i].length);
        }
        b.attention.b = b;
        b.attention.layer = L;
        b.attention.batch = batch;
        b.attention.l = l;
        // Few tokens (decode): split each token's heads over the threads; many tokens: one group each.
        b.attention.groups = t >= pool.threads() ? 1 : Math.min(h, pool.threads());
        pool.forRange(form == AttentionForm.ABSORBED ? t * b.attention.groups : t * h, b.attention);
        b.attention.layer = null;
        b.attention.batch = null;
        Blocks.matmul(pool, L.wo, b.o, t, ws.attnOut);
    }

    /** q_abs[c] = Σ_d W_UK[head][c][d] · q_nope[d]: the query moved into latent space (§2.3). */
    private void absorbQuery(Layer L, int head, float[] q, int qOff, float[] qAbs, int off) {
        int nope = mla.qkNopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.kB != null) {
            MatMul.mulVector(L.kB, (long) head * kvr, kvr, q, qOff, qAbs, off);
        } else {
            MatMul.mulTransposed(L.kvB, (long) head * (nope + mla.vHeadDim()), nope, q, qOff, qAbs, off);
        }
    }

    /** k_nope[d] = Σ_c W_UK[head][c][d] · latent[c] (naive form), into out[off..]. */
    private void keyUp(Layer L, int head, float[] latent, float[] out, int off) {
        int nope = mla.qkNopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.kB != null) {
            MatMul.mulTransposed(L.kB, (long) head * kvr, kvr, latent, 0, out, off);
        } else {
            MatMul.mulVector(L.kvB, (long) head * (nope + mla.vHeadDim()), nope, latent, 0, out, off);
        }
    }

    /** v[d] = Σ_c W_UV[head][d][c] · latent[latentOff + c], into out[outOff..]. */
    private void valueUp(Layer L, int head, float[] latent, int latentOff, float[] out, int outOff) {
        int vh = mla.vHeadDim();
        if (L.vB != null) {
            MatMul.mulVector(L.vB, (long) head * vh, vh, latent, latentOff, out, outOff);
        } else {
            int nope = mla.qkNopeHeadDim();
            MatMul.mulVector(L.kvB, (long) head * (nope + vh) + nope, vh, latent, latentOff, out, outOff);
        }
    }

    /** DeepSeekMoE into ffnOut: routed experts (the batch's tokens grouped by expert) plus the shared experts. */
    private void moe(Layer L, int l, Workspace ws, Buffers b, Batch batch) {
        ModelConfig.Moe m = c.moe();
        int t = ws.tokens;
        int e = c.embeddingLength();
        Blocks.matmul(pool, L.router, ws.hn, t, b.routerLogits);
        int moeLayer = l - m.leadingDenseBlockCount();
        for (int i = 0; i < t; i++) {
            int[] forced = batch.parts[batch.partOf[i]].forcedExperts(batch.position[i], moeLayer);
            route(b.routerLogits[i], L.selectionBias, b, forced, b.chosen[i], b.weights[i], b.scores[i]);
        }
        for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
            batch.parts[p].addRouting(b.chosen, b.scores, row, batch.partTokens[p].length);
        }
        if (L.gateShared != null) {
            Blocks.swiglu(pool, b.products, L.gateShared, L.upShared, L.downShared, 0,
                    m.expertFeedForwardLength() * m.expertSharedCount(), ws.hn, t, b.g, b.u, ws.ffnOut);
        } else {
            for (int i = 0; i < t; i++) {
                Arrays.fill(ws.ffnOut[i], 0f);
            }
        }
        for (int i = 0; i < t; i++) {
            Arrays.fill(b.routed[i], 0f);
        }
        for (int expert = 0; expert < m.expertCount(); expert++) {
            int rows = 0;
            for (int i = 0; i < t; i++) {
                for (int k = 0; k < b.chosen[i].length; k++) {
                    if (b.chosen[i][k] == expert) {
                        b.expertRows[rows] = i;
                        b.expertWeights[rows] = b.weights[i][k];
                        b.expertIn[rows] = ws.hn[i];
                        rows++;
                    }
                }
            }
            if (rows == 0) {
                continue;
            }
            Blocks.swiglu(pool, b.products, L.gateExps, L.upExps, L.downExps, expert, m.expertFeedForwardLength(), b.expertIn, rows,
                    b.g, b.u, b.expertOut);
            for (int r = 0; r < rows; r++) {
                VectorMath.axpy(b.expertWeights[r], b.expertOut[r], 0, b.routed[b.expertRows[r]], 0, e);
            }
        }
        Blocks.addInto(ws.ffnOut, b.routed, t);
    }

    /**
     * Chooses experts for one token (docs/gguf.md §2.1, docs/deepseek.md §3.2): their ids into
     * {@code chosen} in selection order (best first; ties to the lower id) — or {@code forced}'s, when not
     * null — their gate weights into {@code weights}, every expert's selection score into {@code scores}.
     */
    private void route(float[] logits, float[] bias, Buffers b, int[] forced, int[] chosen, float[] weights,
                       float[] scores) {
        ModelConfig.Moe m = c.moe();
        int n = logits.length;
        float[] probs = b.probs;
        if (m.gating() == ModelConfig.Moe.Gating.SOFTMAX) {
            System.arraycopy(logits, 0, probs, 0, n);
            VectorMath.softmax(probs, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                probs[i] = VectorMath.sigmoid(logits[i]);
            }
        }
        float[] sel = b.selection;
        for (int i = 0; i < n; i++) {
            sel[i] = bias != null ? probs[i] + bias[i] : probs[i];
        }
        System.arraycopy(sel, 0, scores, 0, n);
        if (m.groupCount() > 1) {
            GroupScore rule = bias != null ? GroupScore.TOP2_SUM : GroupScore.MAX;
            int groups = m.groupCount();
            int size = n / groups;
            for (int g = 0; g < groups; g++) {
                int picks = rule == GroupScore.MAX ? 1 : 2;
                topK(sel, g * size, size, picks, b.top, b.taken);
                b.groupScores[g] = 0;
                for (int k = 0; k < picks; k++) {
                    b.groupScores[g] += sel[g * size + b.top[k]];
                }
            }
            topK(b.groupScores, 0, groups, m.groupUsedCount(), b.top, b.taken);
            for (int g = 0; g < groups; g++) {
                boolean keep = false;
                for (int k = 0; k < m.groupUsedCount(); k++) {
                    keep |= b.top[k] == g;
                }
                if (!keep) {
                    Arrays.fill(sel, g * size, (g + 1) * size, Float.NEGATIVE_INFINITY);
                }
            }
        }
        topK(sel, 0, n, chosen.length, chosen, b.taken);
        if (forced != null) {
            System.arraycopy(forced, 0, chosen, 0, chosen.length);
        }
        float sum = 0;
        for (int k = 0; k < chosen.length; k++) {
            weights[k] = probs[chosen[k]];
            sum += weights[k];
        }
        if (m.weightsNorm()) {
            float denom = Math.max(sum, 6.103515625e-5f);
            for (int k = 0; k < weights.length; k++) {
                weights[k] /= denom;
            }
        }
        if (m.weightsScale() != 0 && m.weightsScale() != 1) {
            for (int k = 0; k < weights.length; k++) {
                weights[k] *= m.weightsScale();
            }
        }
    }

    /**
     * Positions (relative to {@code from}) of the k largest of v[from, from + n), largest first, equal values
     * by lower position, into {@code out}; {@code taken} is scratch of at least n.
     */
    static void topK(float[] v, int from, int n, int k, int[] out, boolean[] taken) {
        Arrays.fill(taken, 0, n, false);
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (!taken[i] && (best < 0 || v[from + i] > v[from + best])) {
                    best = i;
                }
            }
            out[j] = best;
            taken[best] = true;
        }
    }
}
