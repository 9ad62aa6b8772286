package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;

/**
 * DeepSeek-V4's manifold-constrained hyper-connections (docs/deepseek.md §6.3): the residual stream is {@code hc}
 * copies of the hidden state. Before a sub-block, the RMS-normalised streams (no gain) are projected to
 * {@code (2 + hc)·hc} mixing values: {@code pre} weights (sigmoid, plus ε) make the sub-block's input as a weighted
 * sum of the streams; {@code post} weights (2·sigmoid) place its output back in each stream; {@code comb}, an
 * hc × hc matrix made doubly stochastic by Sinkhorn iterations (softmax over destinations, then alternating column and
 * row normalisation), mixes the streams into each other. Per row: streams are {@code hc × e} floats, stream-major.
 */
final class HyperConnections {
    private final int hc;
    private final int e;
    private final int iterations;
    private final float eps;
    private final float normEps;
    private final Matrix fn;
    private final float[] scale;
    private final float[] base;
    private final WorkerPool pool;
    private final float[] ones;

    /**
     * The mixing weights {@code prefix + "_fn.weight"} / {@code _scale} / {@code _base} of one sub-block
     * ({@code blk.l.hc_attn}, {@code blk.l.hc_ffn}).
     */
    HyperConnections(Weights w, WorkerPool pool, String prefix, int hc, int e, int iterations, float eps, float normEps) {
        this.hc = hc;
        this.e = e;
        this.iterations = iterations;
        this.eps = eps;
        this.normEps = normEps;
        this.pool = pool;
        this.ones = ones(hc * e);
        int mix = (2 + hc) * hc;
        this.fn = w.matrix(prefix + "_fn.weight", (long) hc * e, mix);
        this.scale = w.vector(prefix + "_scale.weight", 3);
        this.base = w.vector(prefix + "_base.weight", mix);
    }

    /** Rows of mixing values a batch needs: {@code (2 + hc)·hc} each. */
    int mixWidth() {
        return (2 + hc) * hc;
    }

    /**
     * For rows i < t: the sub-block's input {@code input[i]} (e), and {@code post[i]} (hc) and {@code comb[i]}
     * (hc × hc, [source][destination]) for {@link #post}. {@code normed} and {@code mix} are scratch rows (hc·e and
     * {@link #mixWidth}).
     */
    void pre(float[][] streams, int t, float[][] normed, float[][] mix, float[][] input, float[][] post, float[][] comb) {
        for (int i = 0; i < t; i++) {
            rmsNormNoGain(streams[i], normed[i], ones, normEps);
        }
        MatMul.mul(pool, fn, 0, mixWidth(), normed, 0, t, mix, 0);
        for (int i = 0; i < t; i++) {
            float[] m = mix[i];
            merge(streams[i], m, scale[0], base, eps, hc, e, input[i]);
            for (int h = 0; h < hc; h++) {
                post[i][h] = 2 * sigmoid(m[hc + h] * scale[1] + base[hc + h]);
            }
            sinkhorn(m, 2 * hc, comb[i]);
        }
    }

    /**
     * {@code out = Σ_h pre_h · stream_h} with {@code pre_h = sigmoid(scale·m[h] + base[h]) + eps}: a sub-block's input,
     * and the output head's merge of the streams (its own projection, scale and base).
     */
    static void merge(float[] streams, float[] m, float scale, float[] base, float eps, int hc, int e, float[] out) {
        java.util.Arrays.fill(out, 0, e, 0f);
        for (int h = 0; h < hc; h++) {
            VectorMath.axpy(sigmoid(m[h] * scale + base[h]) + eps, streams, h * e, out, 0, e);
        }
    }

    /** comb = Sinkhorn of the hc × hc logits at {@code m[from..]} (scaled and shifted by the third scale and the base). */
    private void sinkhorn(float[] m, int from, float[] comb) {
        for (int s = 0; s < hc; s++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int d = 0; d < hc; d++) {
                int j = s * hc + d;
                comb[j] = m[from + j] * scale[2] + base[from + j];
                max = Math.max(max, comb[j]);
            }
            float sum = 0;
            for (int d = 0; d < hc; d++) {
                comb[s * hc + d] = (float) Math.exp(comb[s * hc + d] - max);
                sum += comb[s * hc + d];
            }
            for (int d = 0; d < hc; d++) {
                comb[s * hc + d] = comb[s * hc + d] / sum + eps;
            }
        }
        normaliseColumns(comb);
        for (int it = 1; it < iterations; it++) {
            for (int s = 0; s < hc; s++) {
                float sum = eps;
                for (int d = 0; d < hc; d++) {
                    sum += comb[s * hc + d];
                }
                for (int d = 0; d < hc; d++) {
                    comb[s * hc + d] /= sum;
                }
            }
            normaliseColumns(comb);
        }
    }

    /** Each destination's column (the sum over sources) divided by its sum plus ε. */
    private void normaliseColumns(float[] comb) {
        for (int d = 0; d < hc; d++) {
            float sum = eps;
            for (int s = 0; s < hc; s++) {
                sum += comb[s * hc + d];
            }
            for (int s = 0; s < hc; s++) {
                comb[s * hc + d] /= sum;
            }
        }
    }

    /** The new streams of rows i < t: {@code out[dst] = post[dst]·y + Σ_src comb[src][dst]·streams[src]}. */
    void post(float[][] y, float[][] streams, int t, float[][] post, float[][] comb, float[][] out) {
        for (int i = 0; i < t; i++) {
            float[] s = streams[i];
            float[] o = out[i];
            for (int d = 0; d < hc; d++) {
                float p = post[i][d];
                for (int k = 0; k < e; k++) {
                    float v = p * y[i][k];
                    for (int src = 0; src < hc; src++) {
                        v += comb[i][src * hc + d] * s[src * e + k];
                    }
                    o[d * e + k] = v;
                }
            }
        }
    }

    static float sigmoid(float z) {
        return (float) (1 / (1 + Math.exp(-z)));
    }

    /** x / sqrt(mean(x²) + eps): RMSNorm with {@code ones} (x.length of them) as the gain. */
    static void rmsNormNoGain(float[] x, float[] out, float[] ones, float eps) {
        VectorMath.rmsNorm(out, 0, x, 0, ones, x.length, eps);
    }

    /** n ones: the gain of a weightless norm. */
    static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }
}
