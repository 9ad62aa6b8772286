package io.jseek.model;

import io.jseek.core.kernel.TopK;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import java.util.Arrays;

/**
 * DeepSeek-V3.2's lightning indexer of one layer (docs/deepseek.md §6.1; as llama.cpp b10573's deepseek32
 * graph computes it, ../shared/tools/ref_check_ds32.md). Per token t: queries {@code q[t,h] = W_qI · cQ}
 * (from MLA's normalized query latent), one key {@code k[t] = LayerNorm(W_kI · x)} cached per position in
 * its own cache layer, head weights {@code w[t,h] = W_w · x}; the first rope-dimension values of every
 * query head and of the key rotated NEOX-style. The score of an earlier position s is
 * {@code Σ_h w[t,h] · ReLU(q[t,h] · k[s])}, and t attends to its {@code topK} best positions — all of them
 * while it sees at most topK, which is then exactly dense MLA. (llama.cpp also multiplies q and k by a
 * Hadamard matrix and scales w: neither changes which positions are chosen, so neither is done here.)
 */
final class LightningIndexer {
    /** The key's LayerNorm epsilon: fixed, not the model's RMS epsilon. */
    static final float NORM_EPS = 1e-6f;
    /** Positions scored per job. A multiple of the cache block. */
    static final int CHUNK = 256;
    /** Score rows held at a time (tokens × positions), bounding the buffer for long prompts. */
    static final int MAX_SCORES = 1 << 22;

    private final ModelConfig.Indexer dims;
    private final WorkerPool pool;
    private final Rope rope;
    /** This layer, the model's layer count, and the cache layer of this layer's keys. */
    private final int layer;
    private final int layers;
    private final int cacheLayer;
    private final Matrix attnQB;
    private final Matrix attnK;
    private final float[] kNorm;
    private final float[] kNormBias;
    private final Matrix proj;

    LightningIndexer(ModelConfig c, Weights w, WorkerPool pool, Rope rope, int l) {
        this.dims = c.indexer();
        this.pool = pool;
        this.rope = rope;
        this.layer = l;
        this.layers = c.blockCount();
        this.cacheLayer = c.blockCount() + l;
        String p = "blk." + l + ".indexer.";
        int e = c.embeddingLength();
        int d = dims.keyLength();
        attnQB = w.matrix(p + "attn_q_b.weight", c.mla().qLoraRank(), (long) dims.headCount() * d);
        attnK = w.matrix(p + "attn_k.weight", e, d);
        kNorm = w.vector(p + "k_norm.weight", d);
        kNormBias = w.vector(p + "k_norm.bias", d);
        proj = w.matrix(p + "proj.weight", e, dims.headCount());
    }

    /** One workspace's buffers for a batch of up to t tokens, the chosen positions among them. */
    static final class Scratch {
        final float[][] q;
        final float[][] k;
        final float[][] w;
        /** Per token: the positions it attends to, ascending, the first {@code counts[i]} of the row. */
        final int[][] selected;
        final int[] counts;
        private float[][] scores = new float[0][];
        private final Jobs jobs = new Jobs();

        Scratch(ModelConfig.Indexer dims, int t) {
            q = new float[t][dims.headCount() * dims.keyLength()];
            k = new float[t][dims.keyLength()];
            w = new float[t][dims.headCount()];
            selected = new int[t][dims.topK()];
            counts = new int[t];
        }
    }

    /**
     * The batch's indexer keys into the cache; then, unless every token sees at most topK positions (dense
     * attention, {@code false}), each token's chosen positions into {@code s.selected} ({@code true}).
     *
     * @param cQ the rows' normalized query latents
     */
    boolean forward(Batch batch, float[][] x, float[][] cQ, int t, Scratch s) {
        int d = dims.keyLength();
        int heads = dims.headCount();
        Blocks.matmul(pool, attnK, x, t, s.k);
        int seenMax = 0;
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            layerNorm(s.k[i], d);
            rope.apply(s.k[i], 0, pos);
            batch.cache(i, cacheLayer).write(pos, 0, s.k[i], 0, d);
            seenMax = Math.max(seenMax, pos + 1);
        }
        if (seenMax <= dims.topK()) {
            return false; // every token attends to all it sees: no queries, no scores
        }
        Blocks.matmul(pool, proj, x, t, s.w);
        Blocks.matmul(pool, attnQB, cQ, t, s.q);
        for (int i = 0; i < t; i++) {
            for (int h = 0; h < heads; h++) {
                rope.apply(s.q[i], h * d, batch.position[i]);
            }
        }
        int group = Math.max(1, Math.min(t, MAX_SCORES / seenMax));
        if (s.scores.length < group || s.scores[0].length < seenMax) {
            // Rows with room to spare: a decoding session sees one more position each step.
            int width = s.scores.length == 0 ? seenMax : Math.max(seenMax, 2 * s.scores[0].length);
            s.scores = new float[Math.max(group, s.scores.length)][width];
        }
        for (int first = 0; first < t; first += group) {
            s.jobs.run(this, batch, s, first, Math.min(group, t - first));
        }
        return true;
    }

    /** LayerNorm with gain and bias, sums in double as ggml's norm. */
    private void layerNorm(float[] v, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += v[i];
        }
        float mean = (float) (sum / n);
        double sq = 0;
        for (int i = 0; i < n; i++) {
            v[i] -= mean;
            sq += (double) v[i] * v[i];
        }
        float scale = (float) (1 / Math.sqrt(sq / n + NORM_EPS));
        for (int i = 0; i < n; i++) {
            v[i] = v[i] * scale * kNorm[i] + kNormBias[i];
        }
    }

    /** The parallel scoring and selection of a group of tokens. */
    private static final class Jobs {
        private LightningIndexer ix;
        private Batch batch;
        private Scratch s;
        private int first;
        private int chunks;
        private final WorkerPool.RangeBody scoreJobs = this::score;
        private final WorkerPool.RangeBody selectJobs = this::select;

        void run(LightningIndexer ix, Batch batch, Scratch s, int first, int n) {
            this.ix = ix;
            this.batch = batch;
            this.s = s;
            this.first = first;
            int seen = 0;
            for (int i = first; i < first + n; i++) {
                seen = Math.max(seen, batch.position[i] + 1);
            }
            chunks = (seen + CHUNK - 1) / CHUNK;
            try {
                ix.pool.forRange(n * chunks, scoreJobs);
                ix.pool.forRange(n, selectJobs);
            } finally {
                this.batch = null;
                this.s = null;
            }
        }

        /**
         * Scores of one token's positions [chunk·CHUNK, +CHUNK) that it sees, a cache block at a time: every
         * head's products with the block's 16 keys at once ({@link BlockAttention#scores}), then ReLU, weights, sum.
         */
        private void score(int from, int to) {
            int d = ix.dims.keyLength();
            int heads = ix.dims.headCount();
            int b = KvPool.BLOCK_TOKENS;
            float[] keys = KEYS.get();
            if (keys.length < b * d) {
                keys = new float[b * d];
                KEYS.set(keys);
            }
            float[] dots = Blocks.scores(heads * b);
            BlockAttention.Rows rows = Blocks.ROWS.get();
            for (int job = from; job < to; job++) {
                int i = first + job / chunks;
                int seen = batch.position[i] + 1;
                int p0 = job % chunks * CHUNK;
                int end = Math.min(seen, p0 + CHUNK);
                if (p0 >= end || seen <= ix.dims.topK()) {
                    continue;
                }
                KvLayer cache = batch.cache(i, ix.cacheLayer);
                float[] w = s.w[i];
                float[] out = s.scores[i - first];
                rows.set(s.q, i, 1, heads, 0);
                for (int b0 = p0; b0 < end; b0 += b) {
                    cache.readBlock(b0 / b, 0, d, keys);
                    BlockAttention.scores(rows, d, keys, 1f, dots);
                    for (int j = 0; j < b && b0 + j < end; j++) {
                        float score = 0;
                        for (int h = 0; h < heads; h++) {
                            float dot = dots[h * b + j];
                            if (dot > 0) {
                                score += w[h] * dot;
                            }
                        }
                        out[b0 + j] = score;
                    }
                }
            }
        }

        /**
         * Each token's chosen positions: all it sees up to topK, else its topK best (ties to the earlier) or the
         * session's forced ones; recorded when the session records.
         */
        private void select(int from, int to) {
            int k = ix.dims.topK();
            for (int r = from; r < to; r++) {
                int i = first + r;
                int seen = batch.position[i] + 1;
                int[] chosen = s.selected[i];
                if (seen <= k) {
                    for (int p = 0; p < seen; p++) {
                        chosen[p] = p;
                    }
                    s.counts[i] = seen;
                    continue;
                }
                Session part = batch.parts[batch.partOf[i]];
                int[] forced = part.forcedSelection(batch.position[i], ix.layer);
                if (forced != null) {
                    System.arraycopy(forced, 0, chosen, 0, k);
                } else {
                    TopK.select(s.scores[r], seen, k, chosen);
                    Arrays.sort(chosen, 0, k);
                }
                s.counts[i] = k;
                part.addSelection(batch.position[i], ix.layer, ix.layers, chosen, k);
            }
        }
    }

    private static final ThreadLocal<float[]> KEYS = ThreadLocal.withInitial(() -> new float[0]);
}
