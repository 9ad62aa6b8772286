package io.jseek.model;

import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Tensor;

/**
 * Qwen2 and Llama (the R1-Distill models): grouped-query attention with RoPE (NEOX halves for qwen2,
 * adjacent pairs for llama, llama3 frequency factors when {@code rope_freqs} is present), optional q/k/v
 * biases, SwiGLU FFN, optional tied output.
 */
final class DenseModel implements Model {
    private record Layer(float[] attnNorm, Tensor wq, Tensor wk, Tensor wv, float[] bq, float[] bk, float[] bv,
                         Tensor wo, float[] ffnNorm, Tensor gate, Tensor up, Tensor down) {
    }

    private final ModelConfig c;
    private final WorkerPool pool;
    private final Tensor tokenEmbd;
    private final float[] outputNorm;
    private final Tensor output;
    private final Layer[] layers;
    private final Rope rope;
    private final int vocab;

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
        this.output = w.has("output.weight") ? w.tensor("output.weight", e, vocab) : tokenEmbd;
        int ff = c.feedForwardLength();
        this.layers = new Layer[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(w.vector(p + "attn_norm.weight", e),
                    w.tensor(p + "attn_q.weight", e, qDim), w.tensor(p + "attn_k.weight", e, kvDim),
                    w.tensor(p + "attn_v.weight", e, vDim),
                    w.optionalVector(p + "attn_q.bias", qDim), w.optionalVector(p + "attn_k.bias", kvDim),
                    w.optionalVector(p + "attn_v.bias", vDim),
                    w.tensor(p + "attn_output.weight", c.headCount() * c.valueLength(), e),
                    w.vector(p + "ffn_norm.weight", e),
                    w.tensor(p + "ffn_gate.weight", e, ff), w.tensor(p + "ffn_up.weight", e, ff),
                    w.tensor(p + "ffn_down.weight", ff, e));
        }
        float[] freqs = w.optionalVector("rope_freqs.weight", c.ropeDimensionCount() / 2);
        this.rope = new Rope(c.ropeDimensionCount(), c.ropeFreqBase(), c.ropeScaling(), freqs,
                c.architecture() == Architecture.QWEN2, false, c.ropeScaling().yarnLogMultiplier());
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public Session newSession(int contextLength, CacheType cacheType) {
        return new Session(c.blockCount(), c.headCountKv() * (c.keyLength() + c.valueLength()), contextLength, cacheType);
    }

    @Override
    public float[][] forward(Session s, int[] tokens, boolean allLogits) {
        Model.checkTokens(tokens, vocab);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens to feed");
        }
        s.reserve(tokens.length);
        int p0 = s.position();
        int t = tokens.length;
        int h = c.headCount();
        int kvh = c.headCountKv();
        int hd = c.keyLength();
        int vd = c.valueLength();
        int kOff = 0;
        int vOff = kvh * hd;
        float kqScale = (float) (1 / Math.sqrt(hd));
        float[][] x = Blocks.embed(tokenEmbd, tokens);
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            float[][] hn = Blocks.rmsNorm(x, L.attnNorm, c.rmsNormEps());
            float[][] q = Blocks.matmul(pool, L.wq, hn);
            float[][] k = Blocks.matmul(pool, L.wk, hn);
            float[][] v = Blocks.matmul(pool, L.wv, hn);
            KvLayer cache = s.layer(l);
            for (int i = 0; i < t; i++) {
                addBias(q[i], L.bq);
                addBias(k[i], L.bk);
                addBias(v[i], L.bv);
                for (int head = 0; head < h; head++) {
                    rope.apply(q[i], head * hd, p0 + i);
                }
                for (int head = 0; head < kvh; head++) {
                    rope.apply(k[i], head * hd, p0 + i);
                }
                cache.write(p0 + i, kOff, k[i], 0, kvh * hd);
                cache.write(p0 + i, vOff, v[i], 0, kvh * vd);
            }
            float[][] o = new float[t][h * vd];
            int group = h / kvh;
            pool.forEach(t * h, job -> {
                int i = job / h;
                int head = job % h;
                int kvHead = head / group;
                int n = p0 + i + 1;
                float[] scores = new float[n];
                for (int j = 0; j < n; j++) {
                    scores[j] = cache.dot(j, kOff + kvHead * hd, q[i], head * hd, hd) * kqScale;
                }
                Blocks.softmaxScores(scores, n);
                for (int j = 0; j < n; j++) {
                    cache.axpy(scores[j], j, vOff + kvHead * vd, o[i], head * vd, vd);
                }
            });
            Blocks.addInto(x, Blocks.matmul(pool, L.wo, o));
            float[][] fn = Blocks.rmsNorm(x, L.ffnNorm, c.rmsNormEps());
            Blocks.addInto(x, Blocks.swiglu(pool, L.gate, L.up, L.down, 0, c.feedForwardLength(), fn));
        }
        s.advance(t);
        return Blocks.logits(pool, x, outputNorm, c.rmsNormEps(), output, allLogits);
    }

    private static void addBias(float[] x, float[] b) {
        if (b != null) {
            VectorMath.axpy(1f, b, 0, x, 0, b.length);
        }
    }
}
