package io.jseek.core.kernel;

import io.jseek.core.VectorApi;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Elementwise and reduction kernels on float arrays: SIMD through the Vector API (with a scalar tail) or scalar. */
public final class VectorMath {
    private VectorMath() {
    }

    /** Σ a[aOff + i]·b[bOff + i] for i in [0, n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        if (VectorApi.USABLE) {
            return Lanes.dot(a, aOff, b, bOff, n);
        }
        // Four chains: a float sum is not reordered by the JIT, and one chain would wait on each add.
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        float sum = (s0 + s1) + (s2 + s3);
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** y[yOff + i] += alpha·x[xOff + i]. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        if (VectorApi.USABLE) {
            Lanes.axpy(alpha, x, xOff, y, yOff, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            y[yOff + i] += alpha * x[xOff + i];
        }
    }

    /** out = x / sqrt(mean(x²) + eps) · w (RMSNorm), over n values. out may be x. */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] w, int n, float eps) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * scale * w[i];
        }
    }

    /** In-place softmax over x[off, off + n). */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** g[i] = SiLU(g[i])·u[i] for i in [0, n): SwiGLU's gate. */
    public static void siluMul(float[] g, float[] u, int n) {
        if (VectorApi.USABLE) {
            Lanes.siluMul(g, u, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            g[i] = silu(g[i]) * u[i];
        }
    }

    /** SiLU(z) = z·sigmoid(z). */
    public static float silu(float z) {
        return (float) (z / (1.0 + Math.exp(-z)));
    }

    public static float sigmoid(float z) {
        return (float) (1.0 / (1.0 + Math.exp(-z)));
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

        /** Σ a[aOff + i]·b[bOff + i] for i in [0, n). */
        static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
            int i = 0;
            FloatVector acc = FloatVector.zero(S);
            for (int upper = S.loopBound(n); i < upper; i += S.length()) {
                acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
            }
            float sum = io.jseek.core.kernel.LaneSums.sum(acc);
            for (; i < n; i++) {
                sum += a[aOff + i] * b[bOff + i];
            }
            return sum;
        }

        /** y[yOff + i] += alpha·x[xOff + i]. */
        static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
            int i = 0;
            FloatVector va = FloatVector.broadcast(S, alpha);
            for (int upper = S.loopBound(n); i < upper; i += S.length()) {
                FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
            }
            for (; i < n; i++) {
                y[yOff + i] += alpha * x[xOff + i];
            }
        }

        /** g[i] = SiLU(g[i])·u[i] for i in [0, n), with a vector exp. */
        static void siluMul(float[] g, float[] u, int n) {
            int i = 0;
            for (int upper = S.loopBound(n); i < upper; i += S.length()) {
                FloatVector z = FloatVector.fromArray(S, g, i);
                FloatVector e = z.neg().lanewise(VectorOperators.EXP);
                z.div(e.add(1f)).mul(FloatVector.fromArray(S, u, i)).intoArray(g, i);
            }
            for (; i < n; i++) {
                g[i] = silu(g[i]) * u[i];
            }
        }
    }
}
