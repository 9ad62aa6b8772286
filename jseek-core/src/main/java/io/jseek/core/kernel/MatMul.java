package io.jseek.core.kernel;

import io.jseek.core.tensor.Tensor;

/**
 * The one matmul entry point: {@code y[t] = W · x[t]} for every token t of a batch, W of any supported
 * ggml type. Each weight row is decoded once and used for every token of the batch, so a prompt does not
 * re-read the weights per token. Rows are split across the worker pool. Allocates nothing once warm.
 *
 * <p>This is the scalar-decode reference path; fused per-type SIMD kernels replace the decode step later
 * without changing this contract.
 */
public final class MatMul {
    /** Each thread's buffer for one decoded weight row. */
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);
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
                for (int r = from; r < to; r++) {
                    y0[yOff + r] = w.dotRow(firstRow + r, x0, xOff);
                }
                return;
            }
            int n = w.rowLength();
            float[] row = rowBuffer(n);
            for (int r = from; r < to; r++) {
                w.dequantizeRow(firstRow + r, row);
                for (int t = 0; t < tokens; t++) {
                    y[t][yOff + r] = VectorMath.dot(row, 0, x[t], xOff, n);
                }
            }
        }
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
