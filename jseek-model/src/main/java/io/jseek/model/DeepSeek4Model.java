package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * DeepSeek-V4 (docs/deepseek.md §6.3): the token's embedding in {@code hc} hyper-connection streams; each layer mixes
 * the streams into the input of its attention ({@link V4Attention}) and of its MoE ({@link V4Moe}) and spreads their
 * outputs back ({@link HyperConnections}); the streams are merged by the head's weights, normed and projected to the
 * vocabulary. First form: plain loops over rows, allocating per pass; the cache holds every position's kv row (the
 * window needs only the last {@code window}) and each compressing layer's per-position projections and pooled rows.
 */
final class DeepSeek4Model implements Model {
    private record Layer(HyperConnections attnMix, float[] attnNorm, V4Attention attention, int cacheBase,
                         HyperConnections ffnMix, float[] ffnNorm, V4Moe moe) {
    }

    private final ModelConfig c;
    private final ModelConfig.V4 v4;
    private final WorkerPool pool;
    private final Tensor tokenEmbd;
    private final Layer[] layers;
    private final Matrix headFn;
    private final float[] headScale;
    private final float[] headBase;
    private final float[] outputNorm;
    private final Matrix output;
    /** The head's weightless norm over all streams. */
    private final float[] ones;

    DeepSeek4Model(ModelConfig c, Weights w, WorkerPool pool) {
        this.c = c;
        this.v4 = c.v4();
        this.pool = pool;
        int e = c.embeddingLength();
        int hc = v4.hc();
        this.tokenEmbd = w.rows("token_embd.weight", e);
        int vocab = Math.toIntExact(tokenEmbd.rowCount());
        this.layers = new Layer[c.blockCount()];
        ModelConfig.Moe m = c.moe();
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(
                    new HyperConnections(w, pool, p + "hc_attn", hc, e, v4.sinkhornIterations(), v4.hcEps(), c.rmsNormEps()),
                    w.vector(p + "attn_norm.weight", e),
                    new V4Attention(w, pool, c, l),
                    c.v4CacheBase(l),
                    new HyperConnections(w, pool, p + "hc_ffn", hc, e, v4.sinkhornIterations(), v4.hcEps(), c.rmsNormEps()),
                    w.vector(p + "ffn_norm.weight", e),
                    new V4Moe(w, pool, l, e, m, l < v4.hashLayers(), v4.clampExperts()[l], v4.clampShared()[l]));
        }
        this.headFn = w.matrix("output_hc_fn.weight", (long) hc * e, hc);
        this.headScale = w.vector("output_hc_scale.weight", 1);
        this.headBase = w.vector("output_hc_base.weight", hc);
        this.outputNorm = w.vector("output_norm.weight", e);
        this.output = w.matrix("output.weight", e, vocab);
        this.ones = HyperConnections.ones(hc * e);
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public float[][] forward(Batch batch, boolean allLogits) {
        int e = c.embeddingLength();
        int hc = v4.hc();
        Model.checkTokens(batch.tokens, Math.toIntExact(tokenEmbd.rowCount()));
        for (int p = 0; p < batch.parts.length; p++) {
            batch.parts[p].reserve(batch.partTokens[p].length);
        }
        int t = batch.rows();
        float[][] streams = new float[t][hc * e];
        float[] row = new float[e];
        for (int i = 0; i < t; i++) {
            tokenEmbd.dequantizeRow(batch.tokens[i], row);
            for (int s = 0; s < hc; s++) {
                System.arraycopy(row, 0, streams[i], s * e, e);
            }
        }
        float eps = c.rmsNormEps();
        float[][] input = new float[t][e];
        float[][] h = new float[t][e];
        float[][] post = new float[t][hc];
        float[][] comb = new float[t][hc * hc];
        float[][] scratch = new float[t][hc * e];
        float[][] next = new float[t][hc * e];
        for (Layer layer : layers) {
            float[][] mix = new float[t][layer.attnMix.mixWidth()];
            layer.attnMix.pre(streams, t, scratch, mix, input, post, comb);
            Blocks.rmsNorm(input, t, layer.attnNorm, eps, h);
            float[][] y = layer.attention.forward(batch, h, t, layer.cacheBase);
            layer.attnMix.post(y, streams, t, post, comb, next);
            float[][] swap = streams;
            streams = next;
            next = swap;
            layer.ffnMix.pre(streams, t, scratch, mix, input, post, comb);
            Blocks.rmsNorm(input, t, layer.ffnNorm, eps, h);
            float[][] f = new float[t][e];
            layer.moe.forward(batch, h, batch.tokens, t, f, new int[t][c.moe().expertUsedCount()]);
            layer.ffnMix.post(f, streams, t, post, comb, next);
            swap = streams;
            streams = next;
            next = swap;
        }
        for (int p = 0; p < batch.parts.length; p++) {
            batch.parts[p].advance(batch.partTokens[p].length);
        }
        int[] rows = allLogits ? java.util.stream.IntStream.range(0, t).toArray() : batch.logitRows;
        float[][] x = new float[rows.length][e];
        float[][] normed = new float[rows.length][hc * e];
        for (int k = 0; k < rows.length; k++) {
            HyperConnections.rmsNormNoGain(streams[rows[k]], normed[k], ones, eps);
        }
        float[][] m = new float[rows.length][hc];
        MatMul.mul(pool, headFn, 0, hc, normed, 0, rows.length, m, 0);
        float[] merged = new float[e];
        for (int k = 0; k < rows.length; k++) {
            java.util.Arrays.fill(merged, 0f);
            for (int s = 0; s < hc; s++) {
                float pre = HyperConnections.sigmoid(m[k][s] * headScale[0] + headBase[s]) + v4.hcEps();
                for (int d = 0; d < e; d++) {
                    merged[d] += pre * streams[rows[k]][s * e + d];
                }
            }
            VectorMath.rmsNorm(x[k], 0, merged, 0, outputNorm, e, eps);
        }
        float[][] logits = new float[rows.length][Math.toIntExact(output.rowCount())];
        MatMul.mul(pool, output, 0, Math.toIntExact(output.rowCount()), x, 0, rows.length, logits, 0);
        return logits;
    }
}
