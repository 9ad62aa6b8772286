package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * Multi-head Latent Attention of one layer (docs/deepseek.md §2; DeepSeek's {@code MLA} in
 * {@code inference/model.py}). Step numbers in comments are §2.2's. The cache holds per position the
 * normalized latent {@code cKv} and the rotated shared {@code kRope}; attention then runs in one of two
 * equal forms: {@link MlaNaive} decompresses positions into per-head keys and values (§2.2), {@link MlaAbsorbed}
 * moves each query into latent space ({@code qAbsorbed = W_UKᵀ qNope}), attends over the latents and
 * up-projects the weighted latent {@code oLatent} with W_UV (§2.3). Both layouts of W_UK/W_UV are read: split
 * {@code attn_k_b}/{@code attn_v_b} and legacy {@code attn_kv_b}.
 */
final class Mla {
    /**
     * What every layer shares: the shapes, RoPE, the softmax scale folded into the attention shapes, the
     * pool and the form.
     */
    record Common(ModelConfig c, ModelConfig.Mla dims, WorkerPool pool, DeepSeek2Model.AttentionForm form, Rope rope,
                  BlockAttention.Shape absorbed, BlockAttention.Shape naive, Rope indexerRope) {
        static Common of(ModelConfig c, WorkerPool pool, DeepSeek2Model.AttentionForm form) {
            ModelConfig.Mla m = c.mla();
            int nope = m.qkNopeHeadDim();
            int rot = m.qkRopeHeadDim();
            float kqScale = (float) Rope.mlaSoftmaxScale(c);
            // Absorbed keys: [cKv ‖ kRope] (576 values for V2/V3), values cKv; naive: a head's [kNope ‖ kRope], its v.
            return new Common(c, m, pool, form, Rope.of(c),
                    new BlockAttention.Shape(0, m.kvLoraRank() + rot, 0, m.kvLoraRank(), kqScale),
                    new BlockAttention.Shape(0, nope + rot, nope + rot, m.vHeadDim(), kqScale),
                    c.indexer() != null ? Rope.indexer(c) : null);
        }
    }

    /** One workspace's buffers for a batch of up to {@code t} tokens, and the two forms' bodies. */
    static final class Scratch {
        /** Per token: every head's [qNope ‖ qRope]; the query latent cQ; [cKv ‖ kRope]; every head's o. */
        final float[][] q;
        final float[][] cQ;
        final float[][] kv;
        final float[][] o;
        final MatMul.Products products = new MatMul.Products(2);
        final MlaNaive naive;
        final MlaAbsorbed absorbed;
        /** V3.2's indexer buffers, or null. */
        final LightningIndexer.Scratch indexer;

        Scratch(Common k, int t) {
            ModelConfig.Mla m = k.dims;
            int h = k.c.headCount();
            q = new float[t][h * (m.qkNopeHeadDim() + m.qkRopeHeadDim())];
            cQ = new float[t][Math.max(1, m.qLoraRank())];
            kv = new float[t][m.kvLoraRank() + m.qkRopeHeadDim()];
            o = new float[t][h * m.vHeadDim()];
            naive = new MlaNaive(k);
            absorbed = new MlaAbsorbed(k);
            indexer = k.c.indexer() != null ? new LightningIndexer.Scratch(k.c.indexer(), t) : null;
        }
    }

    final Common k;
    final int layer;
    /** W_Q (V2-Lite), or W_DQ, its norm and W_UQ (q-LoRA); W_DKV ‖ W_KR; the latent's norm; W_O. */
    private final Matrix wq;
    private final Matrix wqA;
    private final float[] qANorm;
    private final Matrix wqB;
    private final Matrix wkvA;
    private final float[] kvANorm;
    private final Matrix wo;
    /** W_UK and W_UV: split (kB, vB, and their packed forms kBm, vBm) or as one legacy kvB. */
    final Tensor kB;
    final Tensor vB;
    final Tensor kvB;
    final Matrix kBm;
    final Matrix vBm;
    /** The naive form's decompression matrix ({@link #decompression}), made on first use. */
    private Tensor decompression;
    /** V3.2's lightning indexer, choosing the positions each token attends to; null for dense MLA. */
    private final LightningIndexer indexer;

    /** Block {@code l}'s attention ({@code blk.l.*} weights), cached in cache layer {@code cacheLayer}. */
    Mla(Common k, Weights w, int l, int cacheLayer) {
        this.k = k;
        this.layer = cacheLayer;
        ModelConfig.Mla m = k.dims;
        int e = k.c.embeddingLength();
        int h = k.c.headCount();
        int nope = m.qkNopeHeadDim();
        int rot = m.qkRopeHeadDim();
        int kvr = m.kvLoraRank();
        int vh = m.vHeadDim();
        int qLora = m.qLoraRank();
        String p = "blk." + l + ".";
        wq = qLora == 0 ? w.matrix(p + "attn_q.weight", e, (long) h * (nope + rot)) : null;
        wqA = qLora > 0 ? w.matrix(p + "attn_q_a.weight", e, qLora) : null;
        qANorm = qLora > 0 ? w.vector(p + "attn_q_a_norm.weight", qLora) : null;
        wqB = qLora > 0 ? w.matrix(p + "attn_q_b.weight", qLora, (long) h * (nope + rot)) : null;
        wkvA = w.matrix(p + "attn_kv_a_mqa.weight", e, kvr + rot);
        kvANorm = w.vector(p + "attn_kv_a_norm.weight", kvr);
        kB = m.splitKvB() ? w.tensor(p + "attn_k_b.weight", nope, kvr, h) : null;
        vB = m.splitKvB() ? w.tensor(p + "attn_v_b.weight", kvr, vh, h) : null;
        kvB = m.splitKvB() ? null : w.tensor(p + "attn_kv_b.weight", kvr, (long) h * (nope + vh));
        kBm = kB != null ? w.packed(kB, false) : null;
        vBm = vB != null ? w.packed(vB, false) : null;
        wo = w.matrix(p + "attn_output.weight", (long) h * vh, e);
        indexer = k.c.indexer() != null ? new LightningIndexer(k.c, w, k.pool, k.indexerRope, l) : null;
    }

    /** Attention of the batch's rows {@code x} (already normed) into {@code out}; their latents into the cache. */
    void forward(Batch batch, float[][] x, int t, Scratch s, float[][] out) {
        ModelConfig.Mla m = k.dims;
        int h = k.c.headCount();
        int nope = m.qkNopeHeadDim();
        int qk = nope + m.qkRopeHeadDim();
        int kvr = m.kvLoraRank();
        float eps = k.c.rmsNormEps();
        // 1. q = W_UQ RMSNorm(W_DQ x) (or W_Q x); 3. [c_raw ‖ k_raw] = W_DKV x.
        if (wq != null) {
            MatMul.mul(k.pool, s.products.clear().add(wq, s.q).add(wkvA, s.kv), x, t);
        } else {
            MatMul.mul(k.pool, s.products.clear().add(wqA, s.cQ).add(wkvA, s.kv), x, t);
            Blocks.rmsNorm(s.cQ, t, qANorm, eps, s.cQ);
            Blocks.matmul(k.pool, wqB, s.cQ, t, s.q);
        }
        // V3.2: the indexer caches its keys and chooses each token's positions (none while all are seen).
        boolean sparse = indexer != null && indexer.forward(batch, x, s.cQ, t, s.indexer);
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            // 2., 5. each head's q = [qNope ‖ qRope], qRope rotated; kRope rotated; 4. cKv normalized; cached.
            for (int head = 0; head < h; head++) {
                k.rope.apply(s.q[i], head * qk + nope, pos);
            }
            k.rope.apply(s.kv[i], kvr, pos);
            VectorMath.rmsNorm(s.kv[i], 0, s.kv[i], 0, kvANorm, kvr, eps);
            batch.cache(i, layer).write(pos, 0, s.kv[i], 0, s.kv[i].length);
        }
        // 6., 7. attention in either form; per head o into s.o. (Batch-invariant: always the absorbed form, which
        // the batch's shape would otherwise choose: a prompt alone can take the naive one.)
        if (sparse) {
            s.absorbed.run(this, s, batch, t, s.indexer.selected, s.indexer.counts);
        } else if (k.form == DeepSeek2Model.AttentionForm.NAIVE
                || k.form == DeepSeek2Model.AttentionForm.CHEAPER && !MatMul.batchInvariant() && MlaNaive.cheaper(k.dims, batch)) {
            Tensor up = decompression();
            for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
                s.naive.run(up, s, batch, layer, row, batch.partTokens[p].length);
            }
        } else {
            s.absorbed.run(this, s, batch, t);
        }
        // 8. u = W_O [o_1; …; o_H].
        Blocks.matmul(k.pool, wo, s.o, t, out);
    }

    /** qAbsorbed[c] = Σ_d W_UK[head][c][d] · qNope[d]: the query moved into latent space (§2.3 step 2). */
    void absorbQuery(int head, float[] q, int qOff, float[] qAbsorbed, int off) {
        int kvr = k.dims.kvLoraRank();
        if (kB != null) {
            MatMul.mulVector(kB, (long) head * kvr, kvr, q, qOff, qAbsorbed, off);
        } else {
            MatMul.mulTransposed(kvB, (long) head * (k.dims.qkNopeHeadDim() + k.dims.vHeadDim()),
                    k.dims.qkNopeHeadDim(), q, qOff, qAbsorbed, off);
        }
    }

    /** o[d] = Σ_c W_UV[head][d][c] · oLatent[c] (§2.3 step 6). */
    void valueUp(int head, float[] oLatent, int latentOff, float[] o, int outOff) {
        int vh = k.dims.vHeadDim();
        if (vB != null) {
            MatMul.mulVector(vB, (long) head * vh, vh, oLatent, latentOff, o, outOff);
        } else {
            long first = (long) head * (k.dims.qkNopeHeadDim() + vh) + k.dims.qkNopeHeadDim();
            MatMul.mulVector(kvB, first, vh, oLatent, latentOff, o, outOff);
        }
    }

    /** The naive form's decompression matrix of this layer ({@link MlaNaive#decompress}), made on first use. */
    synchronized Tensor decompression() {
        if (decompression == null) {
            decompression = MlaNaive.decompress(this);
        }
        return decompression;
    }
}
