package io.jseek.core.tensor;

/** Per-thread scratch rows for codecs, grown on demand (so steady-state kernels allocate nothing). */
final class Scratch {
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private Scratch() {
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
