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
        final float[][] g;
        final float[][] u;
        final MatMul.Products products = new MatMul.Products(3);
        final Attention attention = new Attention();

        Buffers(int t) {
            q = new float[t][c.headCount() * c.keyLength()];
            k = new float[t][c.headCountKv() * c.keyLength()];
            v = new float[t][c.headCountKv() * c.valueLength()];
            o = new float[t][c.headCount() * c.valueLength()];
            g = new float[t][c.feedForwardLength()];
            u = new float[t][c.feedForwardLength()];
        }
    }

    /** Causal attention of every (token, head) pair of the batch over the cache; a reusable task. */
    private final class Attention implements WorkerPool.RangeBody {
        Buffers b;
        Batch batch;
        int layer;

        @Override
        public void run(int from, int to) {
            int h = c.headCount();
            int hd = c.keyLength();
            int vd = c.valueLength();
            int group = h / c.headCountKv();
            int vOff = c.headCountKv() * hd;
            float kqScale = (float) (1 / Math.sqrt(hd));
            for (int job = from; job < to; job++) {
                int i = job / h;
                int head = job % h;
                int kvHead = head / group;
                KvLayer cache = batch.cache(i, layer);
                int n = batch.position[i] + 1;
                float[] scores = Blocks.scores(n);
                for (int j = 0; j < n; j++) {
                    scores[j] = cache.dot(j, kvHead * hd, b.q[i], head * hd, hd) * kqScale;
                }
                VectorMath.softmax(scores, 0, n);
                java.util.Arrays.fill(b.o[i], head * vd, (head + 1) * vd, 0f);
                for (int j = 0; j < n; j++) {
                    cache.axpy(scores[j], j, vOff + kvHead * vd, b.o[i], head * vd, vd);
                }
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
        this.rope = new Rope(c.ropeDimensionCount(), c.ropeFreqBase(), c.ropeScaling(), freqs,
                c.architecture() == Architecture.QWEN2, false, c.ropeScaling().yarnLogMultiplier());
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    private int vocab() {
        return vocab;
    }

    @Override
    public int kvValuesPerToken() {
        return c.headCountKv() * (c.keyLength() + c.valueLength());
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
                cache.write(pos, 0, b.k[i], 0, kvh * hd);
                cache.write(pos, kvh * hd, b.v[i], 0, kvh * c.valueLength());
            }
            b.attention.b = b;
            b.attention.batch = batch;
            b.attention.layer = l;
            pool.forRange(t * c.headCount(), b.attention);
            Blocks.matmul(pool, L.wo, b.o, t, ws.attnOut);
            Blocks.addInto(ws.x, ws.attnOut, t);
            Blocks.rmsNorm(ws.x, t, L.ffnNorm, eps, ws.hn);
            Blocks.swiglu(pool, b.products, L.gate, L.up, L.down, 0, c.feedForwardLength(), ws.hn, t, b.g, b.u, ws.ffnOut);
            Blocks.addInto(ws.x, ws.ffnOut, t);
        }
        b.attention.batch = null;
        return Blocks.finish(pool, ws, batch, outputNorm, eps, output, allLogits);
    }

    private static void addBias(float[] x, float[] b) {
        if (b != null) {
            VectorMath.axpy(1f, b, 0, x, 0, b.length);
        }
    }
}
