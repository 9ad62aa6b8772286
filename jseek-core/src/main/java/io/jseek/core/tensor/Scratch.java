package io.jseek.core.tensor;

/** Per-thread scratch rows for codecs, grown on demand (so steady-state kernels allocate nothing). */
final class Scratch {
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private Scratch() {
    }

    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[0]);

    /** A per-thread array of at least n shorts. */
    static short[] halves(int n) {
        short[] r = HALVES.get();
        if (r.length < n) {
            r = new short[n];
            HALVES.set(r);
        }
        return r;
    }

    static float[] row(int n) {
        float[] r = ROW.get();
        if (r.length < n) {
            r = new float[n];
            ROW.set(r);
        }
        return r;
    }
}
