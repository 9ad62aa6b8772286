package io.jseek.core.tensor;

/** The block statistics ggml's quantizers start from. */
final class Extremes {
    private Extremes() {
    }

    /** max |x[off + i]| for i in [0, n). */
    static float maxAbs(float[] x, int off, int n) {
        float amax = 0;
        for (int i = 0; i < n; i++) {
            amax = Math.max(amax, Math.abs(x[off + i]));
        }
        return amax;
    }

    /** The first of x[off .. off + n) of largest magnitude, with its sign (0 for an all-zero block). */
    static float largest(float[] x, int off, int n) {
        float amax = 0;
        float max = 0;
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }
}
