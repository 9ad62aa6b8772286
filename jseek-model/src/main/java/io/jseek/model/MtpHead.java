package io.jseek.model;

import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * DeepSeek-V3's multi-token-prediction block (docs/deepseek.md §5), as llama.cpp b10573's {@code deepseek2} MTP graph
 * computes it: for position i, the main model's final hidden state h_i (after the output norm) and the next token
 * t_{i+1} give {@code x = eh_proj [enorm(Emb(t_{i+1})) ; hnorm(h_i)]}, one more block of the model's own kind at
 * position i (in a cache of its own), then {@code shared_head_norm} and the output head: logits for t_{i+2}. The
 * embedding, head norm and head are the block's {@code nextn.*} copies when the file has them, else the main model's.
 * V3.2's block runs dense MLA (no indexer), as llama.cpp's does.
 */
public final class MtpHead {
    /** Rows fed per pass: a long prompt's catch-up goes in pieces, bounding the workspace. */
    private static final int CHUNK = 64;

    private final ModelConfig c;
    private final WorkerPool pool;
    private final Tensor embed;
    private final float[] enorm;
    private final float[] hnorm;
    private final Matrix ehProj;
    private final DeepSeek2Model.Layer layer;
    private final float[] headNorm;
    private final Matrix head;
    private final Workspaces workspaces;

    MtpHead(ModelConfig c, Weights w, WorkerPool pool, Tensor tokenEmbd, float[] outputNorm, Matrix output) {
        this.c = c;
        this.pool = pool;
        int e = c.embeddingLength();
        int l = c.blockCount();
        String p = "blk." + l + ".nextn.";
        int vocab = Math.toIntExact(tokenEmbd.rowCount());
        this.embed = w.has(p + "embed_tokens.weight") ? w.tensor(p + "embed_tokens.weight", e, vocab) : tokenEmbd;
        this.enorm = w.vector(p + "enorm.weight", e);
        this.hnorm = w.vector(p + "hnorm.weight", e);
        this.ehProj = w.matrix(p + "eh_proj.weight", 2L * e, e);
        this.headNorm = w.has(p + "shared_head_norm.weight") ? w.vector(p + "shared_head_norm.weight", e) : outputNorm;
        this.head = w.has(p + "shared_head_head.weight") ? w.matrix(p + "shared_head_head.weight", e, vocab) : output;
        // V3.2's files give the block indexer tensors too (llama.cpp loads them for every layer), which its MTP graph,
        // and so this head, never uses.
        for (String t : new String[] {"attn_q_b.weight", "attn_k.weight", "k_norm.weight", "k_norm.bias", "proj.weight"}) {
            w.ignore("blk." + l + ".indexer." + t);
        }
        ModelConfig dense = c.withIndexer(null);
        Mla.Common mla = Mla.Common.of(dense, pool, DeepSeek2Model.AttentionForm.ABSORBED);
        this.layer = DeepSeek2Model.Layer.load(dense, mla, w, pool, l, 0);
        this.workspaces = new Workspaces(n -> new Workspace(n, e, vocab, new Buffers(
                new DeepSeek2Model.Buffers(new Mla.Scratch(mla, n), new FeedForward.Scratch(dense, n)), new float[n][2 * e])));
    }

    private record Buffers(DeepSeek2Model.Buffers block, float[][] joined) {
    }

    /** A new, empty cache for the block, of {@code contextLength} positions. */
    public Session newSession(int contextLength, CacheType type) {
        ModelConfig.Mla m = c.mla();
        return new Session(new int[] {m.kvLoraRank() + m.qkRopeHeadDim()}, contextLength,
                new KvPool(new int[] {m.kvLoraRank() + m.qkRopeHeadDim()}, type, 0));
    }

    /**
     * Feeds {@code tokens[j]} (t_{i+1}) with {@code hidden[j]} (h_i) at the session's next positions and returns the
     * logits after the last row ({@code allLogits}: after every row). {@code lastHidden}, if not null, receives the
     * block's own final hidden state of the last row (after the head norm), which can stand in for h at the next
     * position to draft further (as llama.cpp chains its MTP head). The returned single row is reused by later calls.
     */
    public float[][] forward(Session session, int[] tokens, float[][] hidden, boolean allLogits, float[] lastHidden) {
        if (hidden.length < tokens.length) {
            throw new IllegalArgumentException(tokens.length + " tokens but " + hidden.length + " hidden states");
        }
        float[][] all = allLogits ? new float[tokens.length][] : null;
        float[][] out = null;
        for (int from = 0; from < tokens.length; from += CHUNK) {
            int n = Math.min(CHUNK, tokens.length - from);
            Batch batch = Batch.of(session, java.util.Arrays.copyOfRange(tokens, from, from + n));
            Workspace ws = Blocks.begin(batch, embed, workspaces);
            Buffers b = (Buffers) ws.extra;
            int e = c.embeddingLength();
            float eps = c.rmsNormEps();
            for (int i = 0; i < n; i++) {
                VectorMath.rmsNorm(b.joined[i], 0, ws.x[i], 0, enorm, e, eps);
                VectorMath.rmsNorm(b.joined[i], e, hidden[from + i], 0, hnorm, e, eps);
            }
            Blocks.matmul(pool, ehProj, b.joined, n, ws.x);
            layer.forward(batch, ws, b.block, eps);
            out = Blocks.finish(pool, ws, batch, headNorm, eps, head, allLogits);
            if (allLogits) {
                System.arraycopy(out, 0, all, from, n);
            }
            if (lastHidden != null && from + n == tokens.length) {
                System.arraycopy(ws.normed[allLogits ? n - 1 : 0], 0, lastHidden, 0, e);
            }
        }
        return allLogits ? all : out;
    }
}
