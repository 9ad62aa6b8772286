package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;

/**
 * DeepSeek-V4's attention of one layer over a whole sequence at once (docs/deepseek.md §6.3; the first, cache-less
 * form, checked against the float64 reference): one RMS-normalised kv vector per token serves as key and value;
 * queries per head RMS-normalised without a gain; RoPE (ggml's NORM pairs) on the last {@code rot} values, base 1e4
 * for window-only layers and the compress base for the others; each token sees the last {@code window} tokens and,
 * when the layer compresses ({@code ratio} 4 or 128), the compressed rows of the blocks completed before it — with
 * ratio 4, only the {@code topK} its lightning indexer scores highest; a learned sink per head joins the softmax's
 * denominator; the output's rope values are rotated back, then projected in groups of heads to a low rank and out.
 */
final class V4Attention {
    private final WorkerPool pool;
    private final int embd;
    private final int heads;
    private final int hd;
    private final int rot;
    private final int qLora;
    private final int window;
    private final int ratio;
    private final int groups;
    private final int oLora;
    private final float eps;
    /** The per-head query norm's weight: none (all ones). */
    private final float[] ones;
    /** This layer's RoPE ({@link Rope#v4}: the compressing layers' with the compress base and YaRN). */
    private final Rope rope;
    private final Matrix wqA;
    private final float[] qANorm;
    private final Matrix wqB;
    private final Matrix wkv;
    private final float[] kvNorm;
    private final float[] sinks;
    private final Matrix woA;
    private final Matrix woB;
    private final Compressor compressor;
    private final Compressor indexerCompressor;
    private final Matrix indexerQ;
    private final Matrix indexerProj;
    private final int indexerHeads;
    private final int indexerDim;
    private final int topK;
    /** This block's index and the model's block count (for recorded and forced indexer choices). */
    private final int layer;
    private final int layers;

    /** A compressor: per-token kv and gate projections, a position bias, pooling of each complete block. */
    private record Compressor(Matrix kv, Matrix gate, float[][] ape, float[] norm, int width, boolean overlap) {
    }

    /** Block l's attention of the deepseek4 model {@code c}. */
    V4Attention(Weights w, WorkerPool pool, ModelConfig c, int l) {
        ModelConfig.V4 v4 = c.v4();
        String p = "blk." + l + ".";
        this.pool = pool;
        this.layer = l;
        this.layers = c.blockCount();
        this.embd = c.embeddingLength();
        this.heads = c.headCount();
        this.hd = c.keyLength();
        this.rot = c.ropeDimensionCount();
        this.qLora = v4.qLoraRank();
        this.window = v4.window();
        this.ratio = v4.compressRatios()[l];
        this.groups = v4.outputGroups();
        this.oLora = v4.outputLoraRank();
        this.eps = c.rmsNormEps();
        this.ones = HyperConnections.ones(hd);
        this.rope = Rope.v4(c, ratio);
        this.wqA = w.matrix(p + "attn_q_a.weight", embd, qLora);
        this.qANorm = w.vector(p + "attn_q_a_norm.weight", qLora);
        this.wqB = w.matrix(p + "attn_q_b.weight", qLora, (long) heads * hd);
        this.wkv = w.matrix(p + "attn_kv.weight", embd, hd);
        this.kvNorm = w.vector(p + "attn_kv_a_norm.weight", hd);
        this.sinks = w.vector(p + "attn_sinks.weight", heads);
        this.woA = w.matrix(p + "attn_output_a.weight", (long) heads * hd / groups, (long) groups * oLora);
        this.woB = w.matrix(p + "attn_output_b.weight", (long) groups * oLora, embd);
        this.compressor = ratio != 0 ? compressor(w, p + "attn_compressor", hd, ratio == 4) : null;
        boolean indexed = ratio == 4;
        this.indexerHeads = c.indexer().headCount();
        this.indexerDim = c.indexer().keyLength();
        this.topK = c.indexer().topK();
        this.indexerCompressor = indexed ? compressor(w, p + "indexer_compressor", indexerDim, true) : null;
        this.indexerQ = indexed ? w.matrix(p + "indexer.attn_q_b.weight", qLora, (long) indexerHeads * indexerDim) : null;
        this.indexerProj = indexed ? w.matrix(p + "indexer.proj.weight", embd, indexerHeads) : null;
    }

    private Compressor compressor(Weights w, String p, int width, boolean overlap) {
        int c = overlap ? 2 * width : width;
        io.jseek.core.tensor.Tensor ape = w.tensor(p + "_ape.weight", c, ratio);
        float[][] rows = new float[ratio][c];
        for (int r = 0; r < ratio; r++) {
            ape.dequantizeRow(r, rows[r]);
        }
        return new Compressor(w.matrix(p + "_kv.weight", embd, c), w.matrix(p + "_gate.weight", embd, c), rows,
                w.vector(p + "_norm.weight", width), width, overlap);
    }

    /**
     * The attention output of the batch's rows {@code h} (normed), their kv rows and compressor state written to the
     * cache layers from {@code cacheBase} at their positions first; a row completing a block pools it there.
     */
    float[][] forward(Batch batch, float[][] h, int t, int cacheBase) {
        // The indexer's queries and head weights are needed only when a row sees more than topK blocks.
        boolean chooses = false;
        for (int i = 0; i < t && indexerCompressor != null; i++) {
            chooses |= (batch.position[i] + 1) / ratio > topK;
        }
        // Every projection of h in one dispatch, then those of the query latent in another.
        MatMul.Products products = new MatMul.Products(8);
        float[][] qa = new float[t][qLora];
        float[][] kv = new float[t][hd];
        products.add(wqA, 0, qLora, h, 0, t, qa, 0).add(wkv, 0, hd, h, 0, t, kv, 0);
        float[][][] comp = compressor != null ? project(products, compressor, h, t) : null;
        float[][][] indexerComp = indexerCompressor != null ? project(products, indexerCompressor, h, t) : null;
        float[][] iw = chooses ? new float[t][indexerHeads] : null;
        if (chooses) {
            products.add(indexerProj, 0, indexerHeads, h, 0, t, iw, 0);
        }
        MatMul.mul(pool, products);
        for (int i = 0; i < t; i++) {
            VectorMath.rmsNorm(qa[i], 0, qa[i], 0, qANorm, qLora, eps);
        }
        float[][] q = new float[t][heads * hd];
        float[][] iq = chooses ? new float[t][indexerHeads * indexerDim] : null;
        products.clear().add(wqB, 0, heads * hd, qa, 0, t, q, 0);
        if (chooses) {
            products.add(indexerQ, 0, indexerHeads * indexerDim, qa, 0, t, iq, 0);
        }
        MatMul.mul(pool, products);
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            for (int head = 0; head < heads; head++) {
                VectorMath.rmsNorm(q[i], head * hd, q[i], head * hd, ones, hd, eps);
                rope.apply(q[i], head * hd + hd - rot, pos);
            }
            VectorMath.rmsNorm(kv[i], 0, kv[i], 0, kvNorm, hd, eps);
            rope.apply(kv[i], hd - rot, pos);
            batch.cache(i, cacheBase).write(pos, 0, kv[i], 0, hd);
        }
        if (compressor != null) {
            compress(compressor, batch, comp[0], comp[1], t, cacheBase + 1);
        }
        if (indexerCompressor != null) {
            compress(indexerCompressor, batch, indexerComp[0], indexerComp[1], t, cacheBase + 4);
        }
        float scale = (float) (1 / Math.sqrt(hd));
        float[][] o = new float[t][heads * hd];
        // Each row's visible rows — its window, then the compressed rows (null where the indexer passed one over) —
        // gathered once into buffers kept across rows, then attended by every head, the heads shared out among threads.
        float[][] keys = new float[0][];
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            KvLayer raw = batch.cache(i, cacheBase);
            int from = Math.max(0, pos - window + 1);
            int visible = ratio != 0 ? (pos + 1) / ratio : 0;
            boolean[] keep = indexerCompressor != null && visible > 0 ? index(batch, i, iq == null ? null : iq[i],
                    iw == null ? null : iw[i], visible, cacheBase + 6) : null;
            int local = pos + 1 - from;
            int n = local + visible;
            if (keys.length < n) {
                keys = java.util.Arrays.copyOf(keys, Math.max(n, 2 * keys.length));
            }
            float[][] rows = keys;
            float[][] kept = new float[n][];
            for (int k = 0; k < local; k++) {
                kept[k] = rows[k] != null ? rows[k] : (rows[k] = new float[hd]);
                raw.read(from + k, 0, kept[k], 0, hd);
            }
            for (int b = 0; b < visible; b++) {
                if (keep == null || keep[b]) {
                    int k = local + b;
                    kept[k] = rows[k] != null ? rows[k] : (rows[k] = new float[hd]);
                    batch.cache(i, cacheBase + 3).read((b + 1) * ratio - 1, 0, kept[k], 0, hd);
                }
            }
            float[] qi = q[i];
            float[] oi = o[i];
            pool.forRange(heads, (h0, h1) -> {
                float[] s = new float[n];
                for (int head = h0; head < h1; head++) {
                    attend(qi, head, kept, n, scale, s, oi, pos);
                }
            });
        }
        // Grouped low-rank output: group g's heads through rows [g·oLora, (g + 1)·oLora) of W_oA (in one dispatch),
        // then W_oB.
        int per = heads * hd / groups;
        float[][] low = new float[t][groups * oLora];
        products.clear();
        for (int g = 0; g < groups; g++) {
            products.add(woA, (long) g * oLora, oLora, o, g * per, t, low, g * oLora);
        }
        MatMul.mul(pool, products);
        return mul(woB, low, t, embd);
    }

    /**
     * One head's output of one row into {@code o}: softmax over the scores of its {@code n} visible rows ({@code keys},
     * null for one passed over) and the head's sink, the rows weighted and summed, the rope values rotated back.
     */
    private void attend(float[] q, int head, float[][] keys, int n, float scale, float[] s, float[] o, int pos) {
        float max = sinks[head];
        for (int k = 0; k < n; k++) {
            s[k] = keys[k] != null ? VectorMath.dot(q, head * hd, keys[k], 0, hd) * scale : Float.NEGATIVE_INFINITY;
            max = Math.max(max, s[k]);
        }
        double sum = Math.exp(sinks[head] - max);
        for (int k = 0; k < n; k++) {
            s[k] = (float) Math.exp(s[k] - max);
            sum += s[k];
        }
        for (int k = 0; k < n; k++) {
            if (s[k] != 0) {
                VectorMath.axpy((float) (s[k] / sum), keys[k], 0, o, head * hd, hd);
            }
        }
        rope.applyInverse(o, head * hd + hd - rot, pos);
    }

    /**
     * The compressor's projections of every row ({@link #project}ed) into cache layers {@code at} (kv) and {@code at + 1} (gate + position
     * bias); then, for each row that completes a block, the block pooled (per dimension, a softmax of the gates over its
     * rows — with overlap, the previous block's first half of the values and this block's second half), normed, rotated
     * at the block's first position and kept at its last in layer {@code at + 2}.
     */
    private void compress(Compressor c, Batch batch, float[][] kv, float[][] score, int t, int at) {
        int width = c.overlap ? 2 * c.width : c.width;
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            for (int d = 0; d < width; d++) {
                score[i][d] += c.ape[pos % ratio][d];
            }
            batch.cache(i, at).write(pos, 0, kv[i], 0, width);
            batch.cache(i, at + 1).write(pos, 0, score[i], 0, width);
        }
        float[] v = new float[width];
        float[] sc = new float[width];
        float[] out = new float[c.width];
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            if ((pos + 1) % ratio != 0) {
                continue;
            }
            int b = (pos + 1) / ratio - 1;
            KvLayer kvs = batch.cache(i, at);
            KvLayer scores = batch.cache(i, at + 1);
            for (int d = 0; d < c.width; d++) {
                double max = Double.NEGATIVE_INFINITY;
                double sum = 0;
                double acc = 0;
                for (int pass = 0; pass < 2; pass++) {
                    for (int r = c.overlap ? -ratio : 0; r < ratio; r++) {
                        int row = b * ratio + r;
                        if (row < 0) {
                            continue;
                        }
                        int col = r < 0 || !c.overlap ? d : c.width + d;
                        scores.read(row, col, sc, 0, 1);
                        if (pass == 0) {
                            max = Math.max(max, sc[0]);
                        } else {
                            kvs.read(row, col, v, 0, 1);
                            double e = Math.exp(sc[0] - max);
                            sum += e;
                            acc += e * v[0];
                        }
                    }
                }
                out[d] = (float) (acc / sum);
            }
            VectorMath.rmsNorm(out, 0, out, 0, c.norm, c.width, eps);
            rope.apply(out, c.width - rot, b * ratio);
            batch.cache(i, at + 2).write(pos, 0, out, 0, c.width);
        }
    }

    /**
     * The compressed blocks row i's lightning indexer keeps of the {@code visible} complete ones: all when at most topK,
     * else the topK its query {@code q} (rotated here) and head weights {@code w} score highest (Σ_h w_h · relu(q_h · k_b), ties to the earlier block), the pooled keys read from
     * cache layer {@code keys}; a session's forced choice ({@link Session#forceSelections}, compressed block indices)
     * replaces it, and a session recording choices receives it, ascending.
     */
    private boolean[] index(Batch batch, int i, float[] q, float[] w, int visible, int keys) {
        boolean[] keep = new boolean[visible];
        if (visible <= topK) {
            java.util.Arrays.fill(keep, true);
            return keep;
        }
        int pos = batch.position[i];
        Session part = batch.parts[batch.partOf[i]];
        int[] forced = part.forcedSelection(pos, layer);
        if (forced != null) {
            for (int b : forced) {
                keep[b] = true;
            }
            return keep;
        }
        for (int head = 0; head < indexerHeads; head++) {
            rope.apply(q, head * indexerDim + indexerDim - rot, pos);
        }
        float norm = (float) (1 / Math.sqrt((double) indexerDim * indexerHeads));
        float[] weight = new float[indexerHeads];
        for (int head = 0; head < indexerHeads; head++) {
            weight[head] = w[head] * norm;
        }
        KvLayer pooled = batch.cache(i, keys);
        float[] key = new float[indexerDim];
        float[] score = new float[visible];
        for (int b = 0; b < visible; b++) {
            pooled.read((b + 1) * ratio - 1, 0, key, 0, indexerDim);
            double s = 0;
            for (int head = 0; head < indexerHeads; head++) {
                s += weight[head] * Math.max(0, VectorMath.dot(q, head * indexerDim, key, 0, indexerDim));
            }
            score[b] = (float) s;
        }
        int[] chosen = new int[topK];
        io.jseek.core.kernel.TopK.select(score, visible, topK, chosen);
        java.util.Arrays.sort(chosen);
        for (int b : chosen) {
            keep[b] = true;
        }
        part.addSelection(pos, layer, layers, chosen, topK);
        return keep;
    }

    /** Adds compressor c's kv and gate projections of h to {@code products}; returns their outputs, {kv, gate}. */
    private static float[][][] project(MatMul.Products products, Compressor c, float[][] h, int t) {
        int width = c.overlap ? 2 * c.width : c.width;
        float[][][] out = new float[2][t][width];
        products.add(c.kv, 0, width, h, 0, t, out[0], 0).add(c.gate, 0, width, h, 0, t, out[1], 0);
        return out;
    }

    private float[][] mul(Matrix m, float[][] x, int t, int rows) {
        float[][] y = new float[t][rows];
        MatMul.mul(pool, m, 0, rows, x, 0, t, y, 0);
        return y;
    }
}
