package io.jseek.model;

import io.jseek.core.VectorApi;
import io.jseek.core.kernel.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention of several query rows that share one key/value stream, over a range of cached positions, one
 * cache block (16 positions) at a time with an online softmax (flash attention). The rows are MLA's heads of
 * one or more tokens (keys: the 576-value latent and rope key, values: the latent), or the query heads of one
 * GQA KV head (its keys and values). Each block is converted from the cache's storage to floats once and used
 * by every row, so a cached value is read once per call, not once per head or per token.
 *
 * <p>Per block: scores S = scale·Q·Kᵀ for the rows × 16 positions (positions a row may not see — past its
 * causal limit or outside the range — get −∞), then per row the running maximum and sum are updated and the
 * unnormalized output rescaled, and out += P·V. A call leaves each row's (max, sum, out) state, so ranges of
 * one row done by different threads can be merged ({@link #merge}) before dividing by the sum.
 */
final class BlockAttention {
    private static final int B = KvPool.BLOCK_TOKENS;

    private BlockAttention() {
    }

    /** One thread's buffers. */
    static final class Scratch {
        float[] keys = new float[0];
        float[] values = new float[0];
        float[] scores = new float[0];

        float[] keys(int n) {
            if (keys.length < n) {
                keys = new float[n];
            }
            return keys;
        }

        float[] values(int n) {
            if (values.length < n) {
                values = new float[n];
            }
            return values;
        }

        float[] scores(int n) {
            if (scores.length < n) {
                scores = new float[n];
            }
            return scores;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** The shapes of one attention: where keys and values sit in a cached position, and the score scale. */
    record Shape(int keyOff, int keyLength, int valueOff, int valueLength, float scale) {
        /** Values are the first valueLength key values (MLA: the latent is both). */
        boolean valuesInKeys() {
            return valueOff == keyOff && valueLength <= keyLength;
        }
    }

    /**
     * The query rows of one attention call: row r is head {@code firstHead + r % perToken} of token
     * {@code firstToken + r / perToken}, at q[token][head·dk ..]. Reusable.
     */
    static final class Rows {
        /** Scratch for a register tile's 16 accumulators, summed lane by lane in LaneSums' order. */
        final float[] lanes = new float[16 * 16];
        float[][] q;
        int firstToken;
        int perToken;
        int firstHead;
        int count;

        Rows set(float[][] q, int firstToken, int tokens, int perToken, int firstHead) {
            this.q = q;
            this.firstToken = firstToken;
            this.perToken = perToken;
            this.firstHead = firstHead;
            this.count = tokens * perToken;
            return this;
        }

        float[] array(int r) {
            return q[firstToken + r / perToken];
        }

        int offset(int r, int dk) {
            return (firstHead + r % perToken) * dk;
        }
    }

    /**
     * Where one call's keys and values come from, a block of 16 positions at a time: a cache's page, or
     * (MLA's naive form) keys and values decompressed into arrays. Positions of the block past the range
     * being attended may be left as they are.
     */
    interface Source {
        /** The block's 16 keys of {@code dk} values, one after another, into dst. */
        void keys(int block, int dk, float[] dst);

        /** The block's 16 values of {@code dv}; not called when the shape's values are in the keys. */
        void values(int block, int dv, float[] dst);
    }

    /** A cache as a source: keys and values where the shape says they sit in each cached position. */
    private static final class CacheSource implements Source {
        KvLayer cache;
        Shape shape;

        @Override
        public void keys(int block, int dk, float[] dst) {
            cache.readBlock(block, shape.keyOff(), dk, dst);
        }

        @Override
        public void values(int block, int dv, float[] dst) {
            cache.readBlock(block, shape.valueOff(), dv, dst);
        }
    }

    private static final ThreadLocal<CacheSource> CACHE_SOURCE = ThreadLocal.withInitial(CacheSource::new);

    /**
     * Attends the query rows — row r seeing positions below limit[r] — over positions [from, to) of
     * {@code cache}, into a fresh state: max[st + r], sum[st + r] and the unnormalized output
     * out[(st + r)·dv ..].
     */
    static void attend(KvLayer cache, int from, int to, Shape shape, Rows q, int[] limit,
                       float[] max, float[] sum, float[] out, int st) {
        reset(q.count, shape.valueLength(), max, sum, out, st);
        CacheSource source = CACHE_SOURCE.get();
        source.cache = cache;
        source.shape = shape;
        try {
            attendMore(source, from, to, shape, q, limit, max, sum, out, st);
        } finally {
            source.cache = null;
        }
    }

    /** Empty states for {@code rows} rows from st: max −∞, sum 0, output 0. */
    static void reset(int rows, int dv, float[] max, float[] sum, float[] out, int st) {
        java.util.Arrays.fill(max, st, st + rows, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(sum, st, st + rows, 0f);
        java.util.Arrays.fill(out, st * dv, (st + rows) * dv, 0f);
    }

    /**
     * Continues the rows' states (see {@link #reset}) with positions [from, to) of {@code source}, so one
     * row's positions can be attended range after range.
     */
    static void attendMore(Source source, int from, int to, Shape shape, Rows q, int[] limit,
                           float[] max, float[] sum, float[] out, int st) {
        int rows = q.count;
        int outOff = st * shape.valueLength();
        int dk = shape.keyLength();
        int dv = shape.valueLength();
        Scratch s = SCRATCH.get();
        float[] keys = s.keys(B * dk);
        boolean shared = shape.valuesInKeys();
        float[] values = shared ? keys : s.values(B * dv);
        int vStride = shared ? dk : dv;
        float[] scores = s.scores(rows * B);
        for (int p0 = from / B * B; p0 < to; p0 += B) {
            source.keys(p0 / B, dk, keys);
            if (!shared) {
                source.values(p0 / B, dv, values);
            }
            if (to - p0 < B) {
                // Past the range a page holds whatever an earlier sequence left: zeros, so that the products
                // with their zero weights stay zero.
                java.util.Arrays.fill(keys, (to - p0) * dk, B * dk, 0f);
                if (!shared) {
                    java.util.Arrays.fill(values, (to - p0) * dv, B * dv, 0f);
                }
            }
            scores(q, dk, keys, shape.scale(), scores);
            // Positions outside [from, to) and past each row's limit do not count.
            for (int r = 0; r < rows; r++) {
                int lo = Math.max(from - p0, 0);
                int hi = Math.min(Math.min(to, limit[r]) - p0, B);
                for (int j = 0; j < lo; j++) {
                    scores[r * B + j] = Float.NEGATIVE_INFINITY;
                }
                for (int j = Math.max(hi, lo); j < B; j++) {
                    scores[r * B + j] = Float.NEGATIVE_INFINITY;
                }
            }
            softmaxStep(scores, rows, dv, max, sum, st, out, outOff);
            accumulate(scores, rows, values, vStride, dv, out, outOff);
        }
    }

    /** scores[r·16 + j] = scale · q_r · k_j for every row and the block's 16 positions (the indexer's too). */
    static void scores(Rows q, int dk, float[] k, float scale, float[] scores) {
        if (VectorApi.USABLE) {
            Lanes.scores(q, dk, k, scale, scores);
            return;
        }
        for (int r = 0; r < q.count; r++) {
            for (int j = 0; j < B; j++) {
                scores[r * B + j] = VectorMath.dot(q.array(r), q.offset(r, dk), k, j * dk, dk) * scale;
            }
        }
    }

    /**
     * Online softmax over one block: per row, the new maximum m' = max(m, max_j s_j), the old sum and output
     * rescaled by e^(m − m'), the scores replaced by p_j = e^(s_j − m') and added to the sum. Rows that see
     * no position of the block are left alone (their scores stay −∞, so their p are 0).
     */
    private static void softmaxStep(float[] scores, int rows, int dv, float[] maxes, float[] sums, int st, float[] out,
                                    int outOff) {
        if (VectorApi.USABLE) {
            Lanes.softmaxStep(scores, rows, dv, maxes, sums, st, out, outOff);
            return;
        }
        for (int r = 0; r < rows; r++) {
            float max = maxes[st + r];
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < B; j++) {
                blockMax = Math.max(blockMax, scores[r * B + j]);
            }
            if (blockMax == Float.NEGATIVE_INFINITY) {
                java.util.Arrays.fill(scores, r * B, r * B + B, 0f);
                continue;
            }
            float m = Math.max(max, blockMax);
            float blockSum = 0;
            for (int j = 0; j < B; j++) {
                float p = (float) Math.exp(scores[r * B + j] - m);
                scores[r * B + j] = p;
                blockSum += p;
            }
            float correction = max == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(max - m);
            sums[st + r] = sums[st + r] * correction + blockSum;
            maxes[st + r] = m;
            if (correction != 1) {
                for (int i = outOff + r * dv; i < outOff + (r + 1) * dv; i++) {
                    out[i] *= correction;
                }
            }
        }
    }

    /** out_r += Σ_j p_rj · v_j for every row. */
    private static void accumulate(float[] p, int rows, float[] v, int vStride, int dv, float[] out, int outOff) {
        if (VectorApi.USABLE) {
            Lanes.accumulate(p, rows, v, vStride, dv, out, outOff);
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < B; j++) {
                float w = p[r * B + j];
                if (w != 0) {
                    VectorMath.axpy(w, v, j * vStride, out, outOff + r * dv, dv);
                }
            }
        }
    }

    /**
     * One row's softmax-weighted value from the states of {@code parts} chunks (state indexes st, st + stride,
     * …): the chunks' outputs rescaled to their common maximum and summed, divided by the rescaled sum, into
     * result[resultOff ..].
     */
    static void mergeRow(int st, int parts, int stride, int dv, float[] max, float[] sum, float[] out, float[] result,
                         int resultOff) {
        float m = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < parts; k++) {
            m = Math.max(m, max[st + k * stride]);
        }
        float total = 0;
        java.util.Arrays.fill(result, resultOff, resultOff + dv, 0f);
        for (int k = 0; k < parts; k++) {
            int sk = st + k * stride;
            if (max[sk] == Float.NEGATIVE_INFINITY) {
                continue;
            }
            float w = (float) Math.exp(max[sk] - m);
            total += w * sum[sk];
            VectorMath.axpy(w, out, sk * dv, result, resultOff, dv);
        }
        float inv = 1 / total;
        for (int i = 0; i < dv; i++) {
            result[resultOff + i] *= inv;
        }
    }

    /**
     * The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). Register tiles: scores 4 rows ×
     * 4 positions (each loaded vector feeds four FMAs), values 4 rows × 2 column vectors; leftovers and dimensions
     * that are not whole vectors take plain loops.
     */
    private static final class Lanes {
        /** The preferred species up to 16 lanes, so a block's 16 scores are a whole number of vectors. */
        private static final VectorSpecies<Float> F =
                FloatVector.SPECIES_PREFERRED.length() <= B ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_512;

        /** scores[r·16 + j] = scale · q_r · k_j for every row and the block's 16 positions (the indexer's too). */
        static void scores(Rows q, int dk, float[] k, float scale, float[] scores) {
            int rows = q.count;
            int n = F.loopBound(dk);
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                float[] q0 = q.array(r);
                float[] q1 = q.array(r + 1);
                float[] q2 = q.array(r + 2);
                float[] q3 = q.array(r + 3);
                int o0 = q.offset(r, dk);
                int o1 = q.offset(r + 1, dk);
                int o2 = q.offset(r + 2, dk);
                int o3 = q.offset(r + 3, dk);
                for (int j = 0; j < B; j += 4) {
                    FloatVector z = FloatVector.zero(F);
                    FloatVector a00 = z;
                    FloatVector a01 = z;
                    FloatVector a02 = z;
                    FloatVector a03 = z;
                    FloatVector a10 = z;
                    FloatVector a11 = z;
                    FloatVector a12 = z;
                    FloatVector a13 = z;
                    FloatVector a20 = z;
                    FloatVector a21 = z;
                    FloatVector a22 = z;
                    FloatVector a23 = z;
                    FloatVector a30 = z;
                    FloatVector a31 = z;
                    FloatVector a32 = z;
                    FloatVector a33 = z;
                    int k0 = j * dk;
                    for (int i = 0; i < n; i += F.length()) {
                        FloatVector x0 = FloatVector.fromArray(F, k, k0 + i);
                        FloatVector x1 = FloatVector.fromArray(F, k, k0 + dk + i);
                        FloatVector x2 = FloatVector.fromArray(F, k, k0 + 2 * dk + i);
                        FloatVector x3 = FloatVector.fromArray(F, k, k0 + 3 * dk + i);
                        FloatVector w = FloatVector.fromArray(F, q0, o0 + i);
                        a00 = w.fma(x0, a00);
                        a01 = w.fma(x1, a01);
                        a02 = w.fma(x2, a02);
                        a03 = w.fma(x3, a03);
                        w = FloatVector.fromArray(F, q1, o1 + i);
                        a10 = w.fma(x0, a10);
                        a11 = w.fma(x1, a11);
                        a12 = w.fma(x2, a12);
                        a13 = w.fma(x3, a13);
                        w = FloatVector.fromArray(F, q2, o2 + i);
                        a20 = w.fma(x0, a20);
                        a21 = w.fma(x1, a21);
                        a22 = w.fma(x2, a22);
                        a23 = w.fma(x3, a23);
                        w = FloatVector.fromArray(F, q3, o3 + i);
                        a30 = w.fma(x0, a30);
                        a31 = w.fma(x1, a31);
                        a32 = w.fma(x2, a32);
                        a33 = w.fma(x3, a33);
                    }
                    // Sixteen sums in one fixed order (LaneSums'), through memory: sixteen calls would exceed what
                    // the compiler inlines into this method, and a vector passed to a call it does not inline is boxed.
                    float[] t = q.lanes;
                    int L = F.length();
                    a00.intoArray(t, 0);
                    a01.intoArray(t, L);
                    a02.intoArray(t, 2 * L);
                    a03.intoArray(t, 3 * L);
                    a10.intoArray(t, 4 * L);
                    a11.intoArray(t, 5 * L);
                    a12.intoArray(t, 6 * L);
                    a13.intoArray(t, 7 * L);
                    a20.intoArray(t, 8 * L);
                    a21.intoArray(t, 9 * L);
                    a22.intoArray(t, 10 * L);
                    a23.intoArray(t, 11 * L);
                    a30.intoArray(t, 12 * L);
                    a31.intoArray(t, 13 * L);
                    a32.intoArray(t, 14 * L);
                    a33.intoArray(t, 15 * L);
                    int o = r * B + j;
                    for (int a = 0; a < 4; a++) {
                        for (int b = 0; b < 4; b++) {
                            scores[o + a * B + b] = io.jseek.core.kernel.LaneSums.sum(t, (4 * a + b) * L, L);
                        }
                    }
                }
            }
            for (; r < rows; r++) {
                for (int j = 0; j < B; j++) {
                    scores[r * B + j] = dot(q.array(r), q.offset(r, dk), k, j * dk, n);
                }
            }
            // Dimensions past the last whole vector, then the scale.
            for (r = 0; r < rows; r++) {
                float[] qr = q.array(r);
                int o = q.offset(r, dk);
                for (int j = 0; j < B; j++) {
                    float tail = 0;
                    for (int i = n; i < dk; i++) {
                        tail += qr[o + i] * k[j * dk + i];
                    }
                    scores[r * B + j] = (scores[r * B + j] + tail) * scale;
                }
            }
        }

        private static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
            FloatVector acc = FloatVector.zero(F);
            for (int i = 0; i < n; i += F.length()) {
                acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
            }
            return io.jseek.core.kernel.LaneSums.sum(acc);
        }

        /**
         * Online softmax over one block: per row, the new maximum m' = max(m, max_j s_j), the old sum and output
         * rescaled by e^(m − m'), the scores replaced by p_j = e^(s_j − m') and added to the sum. Rows that see
         * no position of the block are left alone (their scores stay −∞, so their p are 0).
         */
        static void softmaxStep(float[] scores, int rows, int dv, float[] maxes, float[] sums, int st, float[] out,
                                        int outOff) {
            for (int r = 0; r < rows; r++) {
                float max = maxes[st + r];
                // The block's 16 scores are one vector at 512 bits, two at 256, four at 128.
                float blockMax = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < B; j += F.length()) {
                    blockMax = Math.max(blockMax, FloatVector.fromArray(F, scores, r * B + j).reduceLanes(VectorOperators.MAX));
                }
                if (blockMax == Float.NEGATIVE_INFINITY) {
                    java.util.Arrays.fill(scores, r * B, r * B + B, 0f);
                    continue;
                }
                float m = Math.max(max, blockMax);
                float blockSum = 0;
                for (int j = 0; j < B; j += F.length()) {
                    FloatVector p = FloatVector.fromArray(F, scores, r * B + j).sub(m).lanewise(VectorOperators.EXP);
                    p.intoArray(scores, r * B + j);
                    blockSum += io.jseek.core.kernel.LaneSums.sum(p);
                }
                float correction = max == Float.NEGATIVE_INFINITY ? 0 : (float) Math.exp(max - m);
                sums[st + r] = sums[st + r] * correction + blockSum;
                maxes[st + r] = m;
                if (correction != 1) {
                    int o = outOff + r * dv;
                    int i = 0;
                    for (int n = F.loopBound(dv); i < n; i += F.length()) {
                        FloatVector.fromArray(F, out, o + i).mul(correction).intoArray(out, o + i);
                    }
                    for (; i < dv; i++) {
                        out[o + i] *= correction;
                    }
                }
            }
        }

        /** out_r += Σ_j p_rj · v_j for every row: 4 rows × 2 column vectors per register tile. */
        static void accumulate(float[] p, int rows, float[] v, int vStride, int dv, float[] out, int outOff) {
            int n = F.loopBound(dv);
            int step = 2 * F.length();
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                int o0 = outOff + r * dv;
                int c = 0;
                for (; c + step <= n; c += step) {
                    FloatVector a0 = FloatVector.fromArray(F, out, o0 + c);
                    FloatVector b0 = FloatVector.fromArray(F, out, o0 + c + F.length());
                    FloatVector a1 = FloatVector.fromArray(F, out, o0 + dv + c);
                    FloatVector b1 = FloatVector.fromArray(F, out, o0 + dv + c + F.length());
                    FloatVector a2 = FloatVector.fromArray(F, out, o0 + 2 * dv + c);
                    FloatVector b2 = FloatVector.fromArray(F, out, o0 + 2 * dv + c + F.length());
                    FloatVector a3 = FloatVector.fromArray(F, out, o0 + 3 * dv + c);
                    FloatVector b3 = FloatVector.fromArray(F, out, o0 + 3 * dv + c + F.length());
                    for (int j = 0; j < B; j++) {
                        FloatVector va = FloatVector.fromArray(F, v, j * vStride + c);
                        FloatVector vb = FloatVector.fromArray(F, v, j * vStride + c + F.length());
                        FloatVector w0 = FloatVector.broadcast(F, p[r * B + j]);
                        a0 = va.fma(w0, a0);
                        b0 = vb.fma(w0, b0);
                        FloatVector w1 = FloatVector.broadcast(F, p[(r + 1) * B + j]);
                        a1 = va.fma(w1, a1);
                        b1 = vb.fma(w1, b1);
                        FloatVector w2 = FloatVector.broadcast(F, p[(r + 2) * B + j]);
                        a2 = va.fma(w2, a2);
                        b2 = vb.fma(w2, b2);
                        FloatVector w3 = FloatVector.broadcast(F, p[(r + 3) * B + j]);
                        a3 = va.fma(w3, a3);
                        b3 = vb.fma(w3, b3);
                    }
                    a0.intoArray(out, o0 + c);
                    b0.intoArray(out, o0 + c + F.length());
                    a1.intoArray(out, o0 + dv + c);
                    b1.intoArray(out, o0 + dv + c + F.length());
                    a2.intoArray(out, o0 + 2 * dv + c);
                    b2.intoArray(out, o0 + 2 * dv + c + F.length());
                    a3.intoArray(out, o0 + 3 * dv + c);
                    b3.intoArray(out, o0 + 3 * dv + c + F.length());
                }
                for (int q = 0; q < 4; q++) {
                    axpyRow(p, (r + q) * B, v, vStride, c, dv, out, o0 + q * dv);
                }
            }
            for (; r < rows; r++) {
                axpyRow(p, r * B, v, vStride, 0, dv, out, outOff + r * dv);
            }
        }

        /** out[o + c ..] += Σ_j p[pOff + j] · v_j[c ..] for columns [c0, dv). */
        private static void axpyRow(float[] p, int pOff, float[] v, int vStride, int c0, int dv, float[] out, int o) {
            for (int j = 0; j < B; j++) {
                float w = p[pOff + j];
                if (w == 0) {
                    continue;
                }
                int c = c0;
                FloatVector wv = FloatVector.broadcast(F, w);
                for (int n = c0 + F.loopBound(dv - c0); c < n; c += F.length()) {
                    FloatVector.fromArray(F, v, j * vStride + c).fma(wv, FloatVector.fromArray(F, out, o + c)).intoArray(out, o + c);
                }
                for (; c < dv; c++) {
                    out[o + c] += w * v[j * vStride + c];
                }
            }
        }
    }
}
