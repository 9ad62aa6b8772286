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
        for (int l = layers.length; l < layers.length + c.nextnLayers(); l++) {
            skipMtpBlock(w, l, v4.compressRatios()[l]);
        }
        this.headFn = w.matrix("output_hc_fn.weight", (long) hc * e, hc);
        this.headScale = w.vector("output_hc_scale.weight", 1);
        this.headBase = w.vector("output_hc_base.weight", hc);
        this.outputNorm = w.vector("output_norm.weight", e);
        this.output = w.matrix("output.weight", e, vocab);
        this.ones = HyperConnections.ones(hc * e);
    }

    /**
     * Accepts the tensors of V4's multi-token-prediction block {@code l} (a regular layer's, by its compress ratio,
     * and the nextn ones) without reading them: llama.cpp also loads past the block unless asked to run it, which
     * jseek does not do for V4 yet ({@link #mtp} is null). Any other tensor of the block is still refused.
     */
    private static void skipMtpBlock(Weights w, int l, int ratio) {
        String p = "blk." + l + ".";
        java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of("attn_norm", "attn_sinks", "attn_q_a",
                "attn_q_a_norm", "attn_q_b", "attn_kv", "attn_kv_a_norm", "attn_output_a", "attn_output_b", "hc_attn_fn",
                "hc_attn_base", "hc_attn_scale", "hc_ffn_fn", "hc_ffn_base", "hc_ffn_scale", "ffn_gate_inp",
                "ffn_gate_tid2eid", "ffn_norm", "ffn_gate_exps", "ffn_down_exps", "ffn_up_exps", "ffn_gate_shexp",
                "ffn_down_shexp", "ffn_up_shexp", "nextn.eh_proj", "nextn.enorm", "nextn.hnorm", "nextn.embed_tokens",
                "nextn.shared_head_head", "nextn.shared_head_norm"));
        if (ratio != 0) {
            names.addAll(java.util.List.of("attn_compressor_kv", "attn_compressor_gate", "attn_compressor_ape",
                    "attn_compressor_norm"));
        }
        if (ratio == 4) {
            names.addAll(java.util.List.of("indexer.proj", "indexer.attn_q_b", "indexer_compressor_kv",
                    "indexer_compressor_gate", "indexer_compressor_ape", "indexer_compressor_norm"));
        }
        for (String n : names) {
            w.ignore(p + n + ".weight");
        }
        w.ignore(p + "exp_probs_b.bias");
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    /**
     * Rows of a long prompt fed per pass: a pass holds every row's queries (heads × head size, 128 KiB a row for
     * V4-Flash) and projections at once, so a 4096-token prompt in one pass took 6.4 GiB of heap on the V4-shaped
     * benchmark model (docs/benchmarks.md); in passes of 512 it takes 2.2 GiB. Passes of 256 cost 9 % of pp512's speed
     * there, 512 nothing measurable. The logits are the same however a prompt is cut: the kernels are batch-invariant.
     */
    static final int PROMPT_ROWS = 512;

    @Override
    public float[][] forward(Batch batch, boolean allLogits) {
        int t = batch.rows();
        boolean lastOnly = batch.logitRows.length == 1 && batch.logitRows[0] == t - 1;
        if (batch.parts.length > 1 || t <= PROMPT_ROWS || !(allLogits || lastOnly)) {
            return pass(batch, allLogits);
        }
        float[][] all = allLogits ? new float[t][] : null;
        float[][] last = null;
        for (int from = 0; from < t; from += PROMPT_ROWS) {
            int to = Math.min(t, from + PROMPT_ROWS);
            last = pass(Batch.of(batch.parts[0], java.util.Arrays.copyOfRange(batch.tokens, from, to)), allLogits);
            if (allLogits) {
                System.arraycopy(last, 0, all, from, to - from);
            }
        }
        return allLogits ? all : last;
    }

    /** One pass over all of the batch's rows. */
    private float[][] pass(Batch batch, boolean allLogits) {
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
        float[][] mix = new float[t][layers[0].attnMix.mixWidth()];
        float[][] f = new float[t][e];
        int[][] chosen = new int[t][c.moe().expertUsedCount()];
        for (Layer layer : layers) {
            layer.attnMix.pre(streams, t, scratch, mix, input, post, comb);
            Blocks.rmsNorm(input, t, layer.attnNorm, eps, h);
            float[][] y = layer.attention.forward(batch, h, t, layer.cacheBase);
            layer.attnMix.post(y, streams, t, post, comb, next);
            float[][] swap = streams;
            streams = next;
            next = swap;
            layer.ffnMix.pre(streams, t, scratch, mix, input, post, comb);
            Blocks.rmsNorm(input, t, layer.ffnNorm, eps, h);
            layer.moe.forward(batch, h, batch.tokens, t, f, chosen);
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
            HyperConnections.merge(streams[rows[k]], m[k], headScale[0], headBase, v4.hcEps(), hc, e, merged);
            VectorMath.rmsNorm(x[k], 0, merged, 0, outputNorm, e, eps);
        }
        float[][] logits = new float[rows.length][Math.toIntExact(output.rowCount())];
        MatMul.mul(pool, output, 0, Math.toIntExact(output.rowCount()), x, 0, rows.length, logits, 0);
        return logits;
    }
}
