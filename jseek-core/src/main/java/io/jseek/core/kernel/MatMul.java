package io.jseek.core.kernel;

import io.jseek.core.tensor.Tensor;

/**
 * The one matmul entry point: {@code y[t] = W · x[t]} for every token t of a batch, W of any supported
 * ggml type. Each weight row is decoded once and used for every token of the batch, so a prompt does not
 * re-read the weights per token. Rows are split across the worker pool. Allocates nothing once warm.
 *
 * <p>One token: fused dequantize-and-dot kernels, two rows at a time ({@code Tensor.dotRows2}). Several
 * tokens: rows decoded to floats once per panel, 4×4 register tiles over cache-sized blocks of rows and
 * tokens. docs/architecture.md ("Kernels") says why each choice was made and what it measured.
 */
public final class MatMul {
    /** Each thread's buffer for one decoded weight row. */
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);
    /** Each worker's group of four token rows (x and y) for the small-batch kernel. */
    private static final ThreadLocal<float[][][]> GROUP = ThreadLocal.withInitial(
            () -> new float[][][] {new float[4][], new float[4][]});

    /** Rows row and row + apart times every token, four tokens at a time. */
    private static void smallBatch(Tensor w, long row, int apart, float[][] x, int xOff, int tokens, float[][] y, int col) {
        float[][][] g = GROUP.get();
        float[][] xs = g[0];
        float[][] ys = g[1];
        for (int t = 0; t < tokens; t += 4) {
            for (int k = 0; k < 4; k++) {
                // Past the last token, the last again: its results are just written twice.
                int tk = Math.min(tokens - 1, t + k);
                xs[k] = x[tk];
                ys[k] = y[tk];
            }
            w.dotRows2x4(row, apart, xs, xOff, ys, col);
        }
    }
    /** Each dispatching thread's reusable task (a lambda would allocate per call). */
    private static final ThreadLocal<Task> TASK = ThreadLocal.withInitial(Task::new);

    private MatMul() {
    }

    /** A decoded-row buffer of at least n floats for the current thread. */
    static float[] rowBuffer(int n) {
        float[] row = ROW.get();
        if (row.length < n) {
            row = new float[n];
            ROW.set(row);
        }
        return row;
    }

    private static final class Task implements WorkerPool.RangeBody {
        Tensor w;
        long firstRow;
        float[][] x;
        int xOff;
        float[][] y;
        int yOff;
        int tokens;

        @Override
        public void run(int from, int to) {
            if (tokens == 1) {
                float[] x0 = x[0];
                float[] y0 = y[0];
                // Two rows half the range apart at a time: x is loaded once per two rows, and the two
                // weight streams lie in different pages, which the prefetcher follows.
                int half = (to - from) / 2;
                for (int r = from; r < from + half; r++) {
                    w.dotRows2(firstRow + r, half, x0, xOff, y0, yOff + r);
                }
                if (from + 2 * half < to) {
                    // The odd row, paired with itself: the hot kernel, not a rarely run (so rarely
                    // compiled, so slow and allocating) single-row one.
                    w.dotRows2(firstRow + to - 1, 0, x0, xOff, y0, yOff + to - 1);
                }
                return;
            }
            if (tokens <= SMALL_BATCH && w.hasFusedDot2x4()) {
                // A few tokens (continuous batching): two rows half the range apart (as for one token)
                // times four tokens at a time, each block decoded in registers once per group; the two
                // rows stay in L1 between groups. KernelBench.batch, Q4_0, 2 threads, ops/s: 4 tokens
                // 32 (float panels: 27), 8 tokens 22 (19); an eight-token kernel was slower (18: too
                // many live vectors), as was one row × four tokens (x re-read per row).
                int half = (to - from) / 2;
                for (int r = from; r < from + half; r++) {
                    smallBatch(w, firstRow + r, half, x, xOff, tokens, y, yOff + r);
                }
                if (from + 2 * half < to) {
                    smallBatch(w, firstRow + to - 1, 0, x, xOff, tokens, y, yOff + to - 1);
                }
                return;
            }
            // Cache blocking: a panel of decoded rows meets a block of tokens, both sized to stay in the
            // L2 cache together, and the register tile runs over them. (Running each 4-row tile over all
            // the tokens re-read every token's activations, megabytes for a long prompt, per tile.)
            int n = w.rowLength();
            int panelRows = Math.max(TILE, BLOCK_BYTES / (4 * n) / TILE * TILE);
            int tokenBlock = Math.max(4 * TILE, BLOCK_BYTES / (4 * n) / TILE * TILE);
            float[] rows = rowBuffer(panelRows * n);
            for (int p = from; p < to; p += panelRows) {
                int pr = Math.min(panelRows, to - p);
                for (int k = 0; k < pr; k++) {
                    w.dequantizeRow(firstRow + p + k, rows, k * n);
                }
                for (int t0 = 0; t0 < tokens; t0 += tokenBlock) {
                    int t1 = Math.min(tokens, t0 + tokenBlock);
                    for (int r = 0; r < pr; r += TILE) {
                        int nr = Math.min(TILE, pr - r);
                        int t = t0;
                        if (nr == TILE && n % F.length() == 0) {
                            for (; t + TILE <= t1; t += TILE) {
                                tile4x4(rows, r * n, n, x, xOff, t, y, yOff + p + r);
                            }
                        }
                        for (; t < t1; t++) {
                            for (int k = 0; k < nr; k++) {
                                y[t][yOff + p + r + k] = VectorMath.dot(rows, (r + k) * n, x[t], xOff, n);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Bytes of decoded rows, and of token activations, in one cache block of the batched product. Measured
     * on pp512 (R1-Distill-Qwen-1.5B shape, Zen 4, 1 MiB L2 per core): 96 KiB 50, 192 KiB 52, 384 KiB 56,
     * 512 KiB 63, 768 KiB 60, 1.5 MiB 52 tokens/s; without blocking 47.
     */
    private static final int BLOCK_BYTES = 512 << 10;

    /** Batches up to this many tokens take the two-row four-token kernel instead of decoded panels (measured: better up to 8 for Q4_0 and Q8_0; at 16 panels win for Q4_0). */
    static final int SMALL_BATCH = 8;

    private static final jdk.incubator.vector.VectorSpecies<Float> F = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
    /** Rows (and tokens) per register tile of the batched product. */
    private static final int TILE = 4;

    /**
     * The batched product's micro-kernel: 4 decoded weight rows × 4 tokens, 16 accumulators held in
     * registers, so each loaded vector feeds four FMAs instead of one.
     */
    private static void tile4x4(float[] w, int wOff, int n, float[][] x, int xOff, int t, float[][] y, int col) {
        float[] x0 = x[t];
        float[] x1 = x[t + 1];
        float[] x2 = x[t + 2];
        float[] x3 = x[t + 3];
        var z = jdk.incubator.vector.FloatVector.zero(F);
        var c00 = z; var c01 = z; var c02 = z; var c03 = z;
        var c10 = z; var c11 = z; var c12 = z; var c13 = z;
        var c20 = z; var c21 = z; var c22 = z; var c23 = z;
        var c30 = z; var c31 = z; var c32 = z; var c33 = z;
        for (int i = 0; i < n; i += F.length()) {
            var a0 = jdk.incubator.vector.FloatVector.fromArray(F, x0, xOff + i);
            var a1 = jdk.incubator.vector.FloatVector.fromArray(F, x1, xOff + i);
            var a2 = jdk.incubator.vector.FloatVector.fromArray(F, x2, xOff + i);
            var a3 = jdk.incubator.vector.FloatVector.fromArray(F, x3, xOff + i);
            var w0 = jdk.incubator.vector.FloatVector.fromArray(F, w, wOff + i);
            c00 = w0.fma(a0, c00); c01 = w0.fma(a1, c01); c02 = w0.fma(a2, c02); c03 = w0.fma(a3, c03);
            var w1 = jdk.incubator.vector.FloatVector.fromArray(F, w, wOff + n + i);
            c10 = w1.fma(a0, c10); c11 = w1.fma(a1, c11); c12 = w1.fma(a2, c12); c13 = w1.fma(a3, c13);
            var w2 = jdk.incubator.vector.FloatVector.fromArray(F, w, wOff + 2 * n + i);
            c20 = w2.fma(a0, c20); c21 = w2.fma(a1, c21); c22 = w2.fma(a2, c22); c23 = w2.fma(a3, c23);
            var w3 = jdk.incubator.vector.FloatVector.fromArray(F, w, wOff + 3 * n + i);
            c30 = w3.fma(a0, c30); c31 = w3.fma(a1, c31); c32 = w3.fma(a2, c32); c33 = w3.fma(a3, c33);
        }
        var add = jdk.incubator.vector.VectorOperators.ADD;
        y[t][col] = c00.reduceLanes(add);
        y[t + 1][col] = c01.reduceLanes(add);
        y[t + 2][col] = c02.reduceLanes(add);
        y[t + 3][col] = c03.reduceLanes(add);
        y[t][col + 1] = c10.reduceLanes(add);
        y[t + 1][col + 1] = c11.reduceLanes(add);
        y[t + 2][col + 1] = c12.reduceLanes(add);
        y[t + 3][col + 1] = c13.reduceLanes(add);
        y[t][col + 2] = c20.reduceLanes(add);
        y[t + 1][col + 2] = c21.reduceLanes(add);
        y[t + 2][col + 2] = c22.reduceLanes(add);
        y[t + 3][col + 2] = c23.reduceLanes(add);
        y[t][col + 3] = c30.reduceLanes(add);
        y[t + 1][col + 3] = c31.reduceLanes(add);
        y[t + 2][col + 3] = c32.reduceLanes(add);
        y[t + 3][col + 3] = c33.reduceLanes(add);
    }

    /**
     * y[t][yOff + r] = Σ_i W[firstRow + r][i] · x[t][xOff + i] for r in [0, rows), t in [0, tokens).
     * {@code firstRow} selects a slice of stacked matrices (an expert of a 3-D tensor, a head).
     */
    public static void mul(WorkerPool pool, Tensor w, long firstRow, int rows, float[][] x, int xOff, int tokens,
                           float[][] y, int yOff) {
        Task task = TASK.get();
        task.w = w;
        task.firstRow = firstRow;
        task.x = x;
        task.xOff = xOff;
        task.y = y;
        task.yOff = yOff;
        task.tokens = tokens;
        try {
            pool.forRange(rows, task);
        } finally {
            task.w = null;
            task.x = null;
            task.y = null;
        }
    }

    /** y[t] = W · x[t] over all rows of W, for every row of x. */
    public static void mul(WorkerPool pool, Tensor w, float[][] x, float[][] y) {
        mul(pool, w, 0, Math.toIntExact(w.rowCount()), x, 0, x.length, y, 0);
    }

    /** One vector, on the calling thread: y[yOff + r] = W[firstRow + r] · x[xOff ..] for r in [0, rows). */
    public static void mulVector(Tensor w, long firstRow, int rows, float[] x, int xOff, float[] y, int yOff) {
        for (int r = 0; r < rows; r++) {
            y[yOff + r] = w.dotRow(firstRow + r, x, xOff);
        }
    }

    /**
     * The transposed product for one vector, on the calling thread: y[yOff + i] = Σ_r W[firstRow + r][i] ·
     * x[xOff + r] for r in [0, rows). Used where a stored matrix must be applied from the other side
     * (MLA's W_UK on the query, or on a latent in the naive form).
     */
    public static void mulTransposed(Tensor w, long firstRow, int rows, float[] x, int xOff, float[] y, int yOff) {
        int n = w.rowLength();
        float[] row = rowBuffer(n);
        java.util.Arrays.fill(y, yOff, yOff + n, 0f);
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(firstRow + r, row);
            VectorMath.axpy(x[xOff + r], row, 0, y, yOff, n);
        }
    }
}
