package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * Qwen2 and Llama (the R1-Distill models): grouped-query attention with RoPE (NEOX halves for qwen2,
 * adjacent pairs for llama, llama3 frequency factors when {@code rope_freqs} is present), optional q/k/v
 * biases, SwiGLU FFN, optional tied output.
 */
final class DenseModel implements Model {
    private record Layer(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, float[] bq, float[] bk, float[] bv,
                         Matrix wo, float[] ffnNorm, Matrix gate, Matrix up, Matrix down) {
    }

    /** Per-call buffers: projections, FFN rows and the attention task. */
    private final class Buffers {
        final float[][] q;
        final float[][] k;
        final float[][] v;
        final float[][] o;
        /** One position's cache row: K of every KV head, then V. */
        final float[] kv;
        final float[][] g;
        final float[][] u;
        final MatMul.Products products = new MatMul.Products(3);
        final Attention attention = new Attention();

        Buffers(int t) {
            q = new float[t][c.headCount() * c.keyLength()];
            k = new float[t][c.headCountKv() * c.keyLength()];
            v = new float[t][c.headCountKv() * c.valueLength()];
            o = new float[t][c.headCount() * c.valueLength()];
            kv = new float[c.headCountKv() * (c.keyLength() + c.valueLength())];
            g = new float[t][c.feedForwardLength()];
            u = new float[t][c.feedForwardLength()];
        }
    }

    /**
     * Grouped-query attention of a batch: for each KV head, the query heads that share it, of a tile of tokens,
     * attend together over the sequence's cached keys and values ({@link BlockAttention}: each cached block
     * converted once for all of them, not once per query head); long contexts cut into chunks for the threads
     * ({@link AttentionPlan}) and merged per (token, head).
     */
    private final class Attention {
        private final AttentionPlan plan = new AttentionPlan();
        private float[] maxes = new float[0];
        private float[] sums = new float[0];
        private float[] outs = new float[0];
        private int[] tileOf = new int[0];
        private Buffers b;
        private Batch batch;
        private int layer;
        private int rowsPerTile;

        private final WorkerPool.RangeBody attend = (from, to) -> {
            int kvh = c.headCountKv();
            int group = c.headCount() / kvh;
            int[] limit = Blocks.limits(rowsPerTile);
            BlockAttention.Rows rows = Blocks.ROWS.get();
            for (int job = from; job < to; job++) {
                int planJob = job / kvh;
                int kvHead = job % kvh;
                int k = plan.jobTile[planJob];
                int first = plan.tileFirst[k];
                rows.set(b.q, first, plan.tileEnd[k] - first, group, kvHead * group);
                for (int r = 0; r < rows.count; r++) {
                    limit[r] = batch.position[first + r / group] + 1;
                }
                BlockAttention.attend(batch.cache(first, layer), plan.jobFrom[planJob], plan.jobTo[planJob],
                        shapes[kvHead], rows, limit, maxes, sums, outs, (plan.jobSlot[planJob] * kvh + kvHead) * rowsPerTile);
            }
        };

        private final WorkerPool.RangeBody merge = (from, to) -> {
            int h = c.headCount();
            int kvh = c.headCountKv();
            int group = h / kvh;
            int vd = c.valueLength();
            for (int job = from; job < to; job++) {
                int i = job / h;
                int head = job % h;
                int kvHead = head / group;
                int k = tileOf[i];
                int r = (i - plan.tileFirst[k]) * group + head % group;
                BlockAttention.mergeRow((plan.tileSlot[k] * kvh + kvHead) * rowsPerTile + r, plan.tileChunks[k],
                        kvh * rowsPerTile, vd, maxes, sums, outs, b.o[i], head * vd);
            }
        };

        void run(Buffers b, Batch batch, int layer, int t) {
            int kvh = c.headCountKv();
            int group = c.headCount() / kvh;
            int vd = c.valueLength();
            this.b = b;
            this.batch = batch;
            this.layer = layer;
            // Tiles of tokens whose rows' outputs fit in 256 KiB; decode: chunks of at least 4 blocks.
            int tileTokens = Math.max(1, (64 << 10) / (group * vd));
            plan.plan(batch, tileTokens, Math.max(1, 2 * pool.threads() / kvh), 4 * KvPool.BLOCK_TOKENS);
            rowsPerTile = tileTokens * group;
            maxes = Blocks.grow(maxes, plan.slots * kvh * rowsPerTile);
            sums = Blocks.grow(sums, plan.slots * kvh * rowsPerTile);
            outs = Blocks.grow(outs, plan.slots * kvh * rowsPerTile * vd);
            if (tileOf.length < t) {
                tileOf = new int[t];
            }
            for (int k = 0; k < plan.tiles; k++) {
                for (int i = plan.tileFirst[k]; i < plan.tileEnd[k]; i++) {
                    tileOf[i] = k;
                }
            }
            try {
                pool.forRange(plan.jobs * kvh, attend);
                pool.forRange(t * c.headCount(), merge);
            } finally {
                this.b = null;
                this.batch = null;
            }
        }
    }

    private final ModelConfig c;
    private final WorkerPool pool;
    private final Tensor tokenEmbd;
    private final float[] outputNorm;
    private final Matrix output;
    private final Layer[] layers;
    private final Rope rope;
    /** Per KV head: where its keys and values sit in a cached position. */
    private final BlockAttention.Shape[] shapes;
    private final int vocab;
    private final Workspaces workspaces =
            new Workspaces(n -> new Workspace(n, config().embeddingLength(), vocab(), new Buffers(n)));

    DenseModel(ModelConfig c, Weights w, WorkerPool pool) {
        this.c = c;
        this.pool = pool;
        int e = c.embeddingLength();
        int hd = c.keyLength();
        int qDim = c.headCount() * hd;
        int kvDim = c.headCountKv() * hd;
        int vDim = c.headCountKv() * c.valueLength();
        this.tokenEmbd = w.rows("token_embd.weight", e);
        this.vocab = Math.toIntExact(tokenEmbd.rowCount());
        this.outputNorm = w.vector("output_norm.weight", e);
        this.output = w.has("output.weight") ? w.matrix("output.weight", e, vocab) : w.packed(tokenEmbd, false);
        int ff = c.feedForwardLength();
        this.layers = new Layer[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(w.vector(p + "attn_norm.weight", e),
                    w.matrix(p + "attn_q.weight", e, qDim), w.matrix(p + "attn_k.weight", e, kvDim),
                    w.matrix(p + "attn_v.weight", e, vDim),
                    w.optionalVector(p + "attn_q.bias", qDim), w.optionalVector(p + "attn_k.bias", kvDim),
                    w.optionalVector(p + "attn_v.bias", vDim),
                    w.matrix(p + "attn_output.weight", c.headCount() * c.valueLength(), e),
                    w.vector(p + "ffn_norm.weight", e),
                    w.matrix(p + "ffn_gate.weight", e, ff), w.matrix(p + "ffn_up.weight", e, ff),
                    w.matrix(p + "ffn_down.weight", ff, e));
        }
        float[] freqs = w.optionalVector("rope_freqs.weight", c.ropeDimensionCount() / 2);
        this.rope = Rope.of(c, freqs);
        this.shapes = new BlockAttention.Shape[c.headCountKv()];
        float kqScale = (float) (1 / Math.sqrt(hd));
        for (int k = 0; k < shapes.length; k++) {
            shapes[k] = new BlockAttention.Shape(k * hd, hd, kvDim + k * c.valueLength(), c.valueLength(), kqScale);
        }
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    private int vocab() {
        return vocab;
    }

    @Override
    public float[][] forward(Batch batch, boolean allLogits) {
        Workspace ws = Blocks.begin(batch, tokenEmbd, workspaces);
        int t = ws.tokens;
        Buffers b = (Buffers) ws.extra;
        int hd = c.keyLength();
        int kvh = c.headCountKv();
        float eps = c.rmsNormEps();
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Blocks.rmsNorm(ws.x, t, L.attnNorm, eps, ws.hn);
            MatMul.mul(pool, b.products.clear().add(L.wq, b.q).add(L.wk, b.k).add(L.wv, b.v), ws.hn, t);
            for (int i = 0; i < t; i++) {
                KvLayer cache = batch.cache(i, l);
                int pos = batch.position[i];
                addBias(b.q[i], L.bq);
                addBias(b.k[i], L.bk);
                addBias(b.v[i], L.bv);
                for (int head = 0; head < c.headCount(); head++) {
                    rope.apply(b.q[i], head * hd, pos);
                }
                for (int head = 0; head < kvh; head++) {
                    rope.apply(b.k[i], head * hd, pos);
                }
                // One whole position per write (a Q8_0 cache quantizes it in blocks that may span K and V).
                System.arraycopy(b.k[i], 0, b.kv, 0, kvh * hd);
                System.arraycopy(b.v[i], 0, b.kv, kvh * hd, kvh * c.valueLength());
                cache.write(pos, 0, b.kv, 0, b.kv.length);
            }
            b.attention.run(b, batch, l, t);
            Blocks.matmul(pool, L.wo, b.o, t, ws.attnOut);
            Blocks.addInto(ws.x, ws.attnOut, t);
            Blocks.rmsNorm(ws.x, t, L.ffnNorm, eps, ws.hn);
            Blocks.swiglu(pool, b.products, L.gate, L.up, L.down, c.feedForwardLength(), ws.hn, t, b.g, b.u, ws.ffnOut);
            Blocks.addInto(ws.x, ws.ffnOut, t);
        }
        return Blocks.finish(pool, ws, batch, outputNorm, eps, output, allLogits);
    }

    private static void addBias(float[] x, float[] b) {
        if (b != null) {
            VectorMath.axpy(1f, b, 0, x, 0, b.length);
        }
    }
}
