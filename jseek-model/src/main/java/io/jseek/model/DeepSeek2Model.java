package io.jseek.model;

import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * DeepSeek-V2 / V2-Lite / V3 / R1: each layer {@code x += attention(norm(x)); x += ffn(norm(x))} with
 * {@link Mla} attention and a dense SwiGLU or {@link DeepSeekMoe} FFN (docs/deepseek.md §2–3). The cache
 * holds per token and layer MLA's latent and rope key only ({@link ModelConfig#cacheWidths}).
 */
final class DeepSeek2Model implements Model {
    /**
     * Which form of MLA attention to compute: the naive (§2.2), the absorbed (§2.3, the one llama.cpp computes),
     * or per batch the one with fewer multiply-adds (a long one-sequence prompt the naive, everything else the
     * absorbed; {@link MlaNaive#cheaper}).
     */
    enum AttentionForm { NAIVE, ABSORBED, CHEAPER }

    /** See {@link MlaNaive#MIN_TOKENS}. */
    static final int NAIVE_MIN_TOKENS = MlaNaive.MIN_TOKENS;

    /** One block: {@code x += attention(norm(x)); x += ffn(norm(x))}. */
    record Layer(float[] attnNorm, Mla attention, float[] ffnNorm, FeedForward ffn) {
        /** Block {@code l}'s weights ({@code blk.l.*}), its attention cached in cache layer {@code cacheLayer}. */
        static Layer load(ModelConfig c, Mla.Common mla, Weights w, WorkerPool pool, int l, int cacheLayer) {
            String p = "blk." + l + ".";
            int e = c.embeddingLength();
            ModelConfig.Moe moe = c.moe();
            FeedForward ffn = moe != null && l >= moe.leadingDenseBlockCount() ? new DeepSeekMoe(c, w, pool, l)
                    : FeedForward.Dense.load(w, pool, p, e, c.feedForwardLength());
            return new Layer(w.vector(p + "attn_norm.weight", e), new Mla(mla, w, l, cacheLayer),
                    w.vector(p + "ffn_norm.weight", e), ffn);
        }

        void forward(Batch batch, Workspace ws, Buffers b, float eps) {
            int t = ws.tokens;
            Blocks.rmsNorm(ws.x, t, attnNorm, eps, ws.hn);
            attention.forward(batch, ws.hn, t, b.attention, ws.attnOut);
            Blocks.addInto(ws.x, ws.attnOut, t);
            Blocks.rmsNorm(ws.x, t, ffnNorm, eps, ws.hn);
            ffn.forward(batch, ws.hn, t, b.ffn, ws.ffnOut);
            Blocks.addInto(ws.x, ws.ffnOut, t);
        }
    }

    /** Per-workspace buffers: MLA's and the FFN's. */
    record Buffers(Mla.Scratch attention, FeedForward.Scratch ffn) {
    }

    private final ModelConfig c;
    private final Mla.Common mla;
    private final Tensor tokenEmbd;
    private final float[] outputNorm;
    private final Matrix output;
    private final Layer[] layers;
    private final WorkerPool pool;
    private final Workspaces workspaces;
    /** The multi-token-prediction block, or null. */
    private final MtpHead mtp;

    DeepSeek2Model(ModelConfig c, Weights w, WorkerPool pool, AttentionForm form) {
        this.c = c;
        this.pool = pool;
        this.mla = Mla.Common.of(c, pool, form);
        int e = c.embeddingLength();
        this.tokenEmbd = w.rows("token_embd.weight", e);
        int vocab = Math.toIntExact(tokenEmbd.rowCount());
        this.outputNorm = w.vector("output_norm.weight", e);
        this.output = w.has("output.weight") ? w.matrix("output.weight", e, vocab) : w.packed(tokenEmbd, false);
        this.layers = new Layer[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = Layer.load(c, mla, w, pool, l, l);
        }
        this.workspaces = new Workspaces(n -> new Workspace(n, e, vocab,
                new Buffers(new Mla.Scratch(mla, n), new FeedForward.Scratch(c, n))));
        // A file may declare its MTP block without holding it (llama.cpp's trunk-only files).
        this.mtp = c.nextnLayers() > 0 && w.has("blk." + c.blockCount() + ".nextn.eh_proj.weight")
                ? new MtpHead(c, w, pool, tokenEmbd, outputNorm, output) : null;
    }

    @Override
    public MtpHead mtp() {
        return mtp;
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public float[][] forward(Batch batch, boolean allLogits) {
        Workspace ws = Blocks.begin(batch, tokenEmbd, workspaces);
        Buffers b = (Buffers) ws.extra;
        float eps = c.rmsNormEps();
        for (Layer layer : layers) {
            layer.forward(batch, ws, b, eps);
        }
        return Blocks.finish(pool, ws, batch, outputNorm, eps, output, allLogits);
    }

    /** Whether a batch takes the naive form when the form is CHEAPER ({@link MlaNaive#cheaper}). */
    boolean naiveCheaper(Batch batch) {
        return MlaNaive.cheaper(c.mla(), batch);
    }
}
