package io.jseek.core.kernel;

import io.jseek.core.VectorApi;
import io.jseek.core.tensor.Activations;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.PackedActivation;
import io.jseek.core.tensor.PackedMatrix;
import io.jseek.core.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matmul entry point: {@code y[t] = W · x[t]} for every token t of a batch, W of any supported
 * ggml type, as stored or packed. Each weight row is decoded once and used for every token of the batch,
 * so a prompt does not re-read the weights per token. Rows are split across the worker pool. Allocates
 * nothing once warm.
 *
 * <ul>
 * <li>Packed matrices ({@link PackedMatrix}), up to {@value #SMALL_BATCH} tokens: integer kernels over
 * groups of 16 interleaved rows, the activations quantized to int8 once per call, each group unpacked once for
 * up to four tokens (the results those of one token at a time, bit for bit).</li>
 * <li>Stored tensors, one token: fused dequantize-and-dot kernels, two rows at a time
 * ({@code Tensor.dotRows2}); a few tokens: two rows × four tokens where the type has that kernel.</li>
 * <li>Everything else (prompts): rows decoded to floats once into column-major panels of 16 rows, and an
 * outer-product register tile (two vectors of rows × four tokens) over cache-sized column blocks.</li>
 * </ul>
 * docs/architecture.md ("Kernels", "Packed weights") says why each choice was made and what it measured.
 */
public final class MatMul {
    /** Rows per tile: per vector of the preferred species (a panel's 16 rows are one, two or four), or 16 scalar. */
    private static final int L = VectorApi.USABLE ? Lanes.F.length() : PackedMatrix.GROUP;
    private static final int GROUP = PackedMatrix.GROUP;

    /** Batches up to this many tokens take the small-batch kernels (measured: better up to 8 for Q4_0 and Q8_0). */
    static final int SMALL_BATCH = 8;

    /**
     * Columns per cache block of the panel product: two 16-row panels of 2048 floats (256 KiB) and the
     * tokens' slices of x stay in the 1 MiB L2 cache while the tile runs over them.
     */
    private static final int PANEL_COLUMNS = 2048;

    /** Each thread's buffers: two row panels, their stored rows, four-token groups, activations. */
    private static final class Scratch {
        float[] panelA = new float[0];
        float[] panelB = new float[0];
        float[] rows = new float[0];
        final float[][] xs = new float[4][];
        final float[][] ys = new float[4][];
        PackedActivation[] activations = new PackedActivation[0];
        float[][] rounded = new float[0][];
        float[] vector = new float[0];

        /** {@code tokens} rows of at least n floats. */
        float[][] rounded(int tokens, int n) {
            if (rounded.length < tokens) {
                rounded = java.util.Arrays.copyOf(rounded, tokens);
            }
            for (int t = 0; t < tokens; t++) {
                if (rounded[t] == null || rounded[t].length < n) {
                    rounded[t] = new float[n];
                }
            }
            return rounded;
        }

        float[] vector(int n) {
            if (vector.length < n) {
                vector = new float[n];
            }
            return vector;
        }

        float[] sink = new float[0];
        final float[] tileSpill = new float[8 * L];

        float[] sink(int n) {
            if (sink.length < n) {
                sink = new float[n];
            }
            return sink;
        }

        float[] rows(int n) {
            if (rows.length < n) {
                rows = new float[n];
            }
            return rows;
        }

        void panels(int n) {
            if (panelA.length < n) {
                panelA = new float[n];
                panelB = new float[n];
            }
        }

        PackedActivation[] activations(int n) {
            if (activations.length < n) {
                PackedActivation[] a = java.util.Arrays.copyOf(activations, n);
                for (int i = activations.length; i < n; i++) {
                    a[i] = new PackedActivation();
                }
                activations = a;
            }
            return activations;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /** Each dispatching thread's reusable task (a lambda would allocate per call). */
    private static final ThreadLocal<Task> TASK = ThreadLocal.withInitial(Task::new);

    /** Whether products dispatched from this thread compute each token as if it were alone. */
    private static final ThreadLocal<Boolean> PER_TOKEN = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private MatMul() {
    }

    /**
     * Batch-invariant products for the calling thread from now on: every token's row of every product is computed
     * with the one-token kernel, so its arithmetic — every sum's order — is the same whatever else is in the batch
     * (the default picks a kernel by the number of tokens: one token, a few fused, panels for many, each summing in
     * its own order). Packed matrices keep their small-batch kernels, whose every token's sums are the one-token
     * kernel's bit for bit; elsewhere it costs the weight reuse across tokens (docs/benchmarks.md,
     * "Batch-invariant kernels").
     */
    public static void batchInvariant(boolean on) {
        PER_TOKEN.set(on);
    }

    /** Whether the calling thread computes batch-invariant products. */
    public static boolean batchInvariant() {
        return PER_TOKEN.get();
    }

    private static final class Task implements WorkerPool.RangeBody {
        Matrix w;
        PackedMatrix packed;
        long firstRow;
        long firstGroup;
        int rows;
        float[][] x;
        int xOff;
        float[][] y;
        int yOff;
        int tokens;
        PackedActivation[] activations;

        @Override
        public void run(int from, int to) {
            if (packed != null) {
                if (tokens <= SMALL_BATCH) {
                    for (int g = from; g < to; g++) {
                        packed.dotGroup(firstGroup + g, activations, tokens, y, yOff + g * GROUP);
                    }
                } else {
                    panels(from, to);
                }
                return;
            }
            Tensor tensor = w.tensor();
            if (tokens == 1) {
                float[] x0 = x[0];
                float[] y0 = y[0];
                // Two rows half the range apart at a time: x is loaded once per two rows, and the two
                // weight streams lie in different pages, which the prefetcher follows.
                int half = (to - from) / 2;
                for (int r = from; r < from + half; r++) {
                    tensor.dotRows2(firstRow + r, half, x0, xOff, y0, yOff + r);
                }
                if (from + 2 * half < to) {
                    // The odd row, paired with itself: the hot kernel, not a rarely run (so rarely
                    // compiled, so slow and allocating) single-row one.
                    tensor.dotRows2(firstRow + to - 1, 0, x0, xOff, y0, yOff + to - 1);
                }
                return;
            }
            if (tokens <= SMALL_BATCH && tensor.hasFusedDot2x4()) {
                // A few tokens (continuous batching): two rows half the range apart (as for one token)
                // times four tokens at a time, each block decoded in registers once per group; the two
                // rows stay in L1 between groups. KernelBench.batch, Q4_0, 2 threads, ops/s: 4 tokens
                // 32 (float panels: 27), 8 tokens 22 (19); an eight-token kernel was slower (18: too
                // many live vectors), as was one row × four tokens (x re-read per row).
                int half = (to - from) / 2;
                for (int r = from; r < from + half; r++) {
                    smallBatch(tensor, firstRow + r, half, r);
                }
                if (from + 2 * half < to) {
                    smallBatch(tensor, firstRow + to - 1, 0, to - 1);
                }
                return;
            }
            panels(from, to);
        }

        /**
         * Rows row and row + apart times every token, four tokens at a time (two for a last pair, where the type has
         * such a kernel: the same products, without two padding tokens' work), into column {@code col}.
         */
        private void smallBatch(Tensor w, long row, int apart, int col) {
            Scratch s = SCRATCH.get();
            for (int t = 0; t < tokens; t += 4) {
                if (tokens - t == 2 && w.hasFusedDot2x2()) {
                    s.xs[0] = x[t];
                    s.xs[1] = x[t + 1];
                    s.ys[0] = y[t];
                    s.ys[1] = y[t + 1];
                    w.dotRows2x2(row, apart, s.xs, xOff, s.ys, yOff + col);
                    break;
                }
                for (int k = 0; k < 4; k++) {
                    // Past the last token, the last again: its results are just written twice.
                    int tk = Math.min(tokens - 1, t + k);
                    s.xs[k] = x[tk];
                    s.ys[k] = y[tk];
                }
                w.dotRows2x4(row, apart, s.xs, xOff, s.ys, yOff + col);
            }
        }

        /**
         * Row blocks [from, to) (groups of 16 rows; packed matrices count groups, stored ones rows / 16
         * rounded up) for a prompt: each pair of 16-row panels is decoded one column block at a time and
         * multiplied by every token, four at a time.
         */
        private void panels(int from, int to) {
            Scratch s = SCRATCH.get();
            int n = w.rowLength();
            int block = Math.min(n, PANEL_COLUMNS);
            s.panels(GROUP * block);
            for (int g = from; g < to; g += 2) {
                int second = Math.min(g + 1, to - 1);
                for (int c0 = 0; c0 < n; c0 += block) {
                    int c1 = Math.min(n, c0 + block);
                    decodePanel(g, c0, c1, s.panelA, s);
                    if (second != g) {
                        decodePanel(second, c0, c1, s.panelB, s);
                    }
                    int rowsA = rowsOf(g);
                    int rowsB = second != g ? rowsOf(second) : 0;
                    for (int t = 0; t < tokens; t += 4) {
                        for (int k = 0; k < 4; k++) {
                            // Past the last token, the last again, its results into a scratch row (column
                            // blocks after the first add to what is there).
                            int tk = Math.min(tokens - 1, t + k);
                            s.xs[k] = x[tk];
                            s.ys[k] = t + k < tokens ? y[t + k] : s.sink(y[tk].length);
                        }
                        int colA = yOff + g * GROUP;
                        int colB = yOff + second * GROUP;
                        if (L == GROUP) {
                            tile(s.panelA, 0, rowsA, colA, s.panelB, 0, rowsB, colB, c0, c1 - c0, s.xs, xOff, s.ys);
                        } else {
                            // Narrower vectors: each panel's 16 rows as pairs of vectors (one pair at 256 bits,
                            // two at 128).
                            for (int v = 0; v < GROUP; v += 2 * L) {
                                tile(s.panelA, v, rowsA - v, colA + v, s.panelA, v + L, rowsA - v - L, colA + v + L,
                                        c0, c1 - c0, s.xs, xOff, s.ys);
                                if (rowsB > 0) {
                                    tile(s.panelB, v, rowsB - v, colB + v, s.panelB, v + L, rowsB - v - L,
                                            colB + v + L, c0, c1 - c0, s.xs, xOff, s.ys);
                                }
                            }
                        }
                    }
                }
            }
        }

        private int rowsOf(int g) {
            return packed != null ? packed.rowsIn(firstGroup + g) : Math.min(GROUP, rows - g * GROUP);
        }

        /** Columns [c0, c1) of row block g into {@code panel[(c − c0)·16 + r]}. */
        private void decodePanel(int g, int c0, int c1, float[] panel, Scratch s) {
            if (packed != null) {
                packed.decodeGroup(firstGroup + g, c0, c1, panel);
                return;
            }
            Tensor t = w.tensor();
            int width = c1 - c0;
            int rowsHere = Math.min(GROUP, rows - g * GROUP);
            float[] buf = s.rows(GROUP * width);
            for (int r = 0; r < rowsHere; r++) {
                t.dequantizeColumns(firstRow + (long) g * GROUP + r, c0, c1, buf, r * width);
            }
            for (int c = 0; c < width; c++) {
                int base = c * GROUP;
                for (int r = 0; r < rowsHere; r++) {
                    panel[base + r] = buf[r * width + c];
                }
            }
        }
    }

    /**
     * The panel product's tile: rows a ({@code validA} rows of panel {@code pa} from offset {@code oa}, at most
     * {@link #L}, into output column {@code colA}) and rows b, times four tokens, over {@code width} columns from
     * column {@code c0}; adds to y unless c0 = 0. The Vector API's register tile, or the same sums in scalar code.
     */
    private static void tile(float[] pa, int oa, int validA, int colA, float[] pb, int ob, int validB, int colB,
                             int c0, int width, float[][] x, int xOff, float[][] y) {
        if (VectorApi.USABLE) {
            Lanes.tile(pa, oa, validA, colA, pb, ob, validB, colB, c0, width, x, xOff, y);
            return;
        }
        float[] acc = SCRATCH.get().tileSpill;
        java.util.Arrays.fill(acc, 0, 8 * L, 0f);
        for (int t = 0; t < 4; t++) {
            float[] xt = x[t];
            int xo = xOff + c0;
            // Per column, one value of x times a panel column: a loop over rows the JIT can vectorize. Fused
            // multiply-adds in column order, as each lane of the vector tile does: the same sums, bit for bit.
            for (int c = 0; c < width; c++) {
                float v = xt[xo + c];
                int a = c * GROUP + oa;
                int b = c * GROUP + ob;
                for (int r = 0; r < L; r++) {
                    acc[t * L + r] = Math.fma(pa[a + r], v, acc[t * L + r]);
                    acc[(4 + t) * L + r] = Math.fma(pb[b + r], v, acc[(4 + t) * L + r]);
                }
            }
        }
        for (int t = 0; t < 4; t++) {
            for (int r = 0; r < Math.min(L, validA); r++) {
                y[t][colA + r] = (c0 > 0 ? y[t][colA + r] : 0) + acc[t * L + r];
            }
            for (int r = 0; r < Math.min(L, validB); r++) {
                y[t][colB + r] = (c0 > 0 ? y[t][colB + r] : 0) + acc[(4 + t) * L + r];
            }
        }
    }




    /**
     * y[t][yOff + r] = Σ_i W[firstRow + r][i] · x[t][xOff + i] for r in [0, rows), t in [0, tokens).
     * {@code firstRow} selects a slice of stacked matrices (an expert of a 3-D tensor, a head).
     */
    public static void mul(WorkerPool pool, Matrix w, long firstRow, int rows, float[][] x, int xOff, int tokens,
                           float[][] y, int yOff) {
        PackedMatrix packed = w instanceof PackedMatrix p && p.coversGroups(firstRow, rows) ? p : null;
        if (tokens > 1 && PER_TOKEN.get() && (packed == null || tokens > SMALL_BATCH)) {
            for (int t = 0; t < tokens; t++) {
                mul(pool, w, firstRow, rows, new float[][] {x[t]}, xOff, 1, new float[][] {y[t]}, yOff);
            }
            return;
        }
        Task task = TASK.get();
        task.w = w;
        task.firstRow = firstRow;
        task.rows = rows;
        task.x = x;
        task.xOff = xOff;
        task.y = y;
        task.yOff = yOff;
        task.tokens = tokens;
        task.packed = packed;
        if (!Activations.exact(w.type()) && (packed == null || tokens > SMALL_BATCH)) {
            // Float kernels: the activation rounded as llama.cpp rounds it for this weight type.
            int n = w.rowLength();
            float[][] r = SCRATCH.get().rounded(tokens, n);
            for (int t = 0; t < tokens; t++) {
                Activations.round(w.type(), x[t], xOff, n, r[t], 0);
            }
            task.x = r;
            task.xOff = 0;
        }
        try {
            int blocks = (rows + GROUP - 1) / GROUP;
            if (packed != null) {
                task.firstGroup = packed.groupOf(firstRow);
                if (tokens <= SMALL_BATCH) {
                    PackedActivation[] a = SCRATCH.get().activations(tokens);
                    for (int t = 0; t < tokens; t++) {
                        a[t].quantize(x[t], xOff, w.rowLength(), packed.layout());
                    }
                    task.activations = a;
                }
                pool.forRange(blocks, task);
            } else if (tokens <= SMALL_BATCH && (tokens == 1 || w.tensor().hasFusedDot2x4())) {
                pool.forRange(rows, task);
            } else {
                pool.forRange(blocks, task);
            }
        } finally {
            task.w = null;
            task.packed = null;
            task.x = null;
            task.y = null;
            task.activations = null;
        }
    }

    /**
     * Several products to run together with {@link #mul(WorkerPool, Products)}: a layer's Q, K and V (one
     * input), an FFN's gate and up, the chosen experts of an MoE layer (each its own tokens), MLA's per-head
     * W_UK and W_UV (each head its own slice of the input). Reusable; belongs to one thread.
     */
    public static final class Products {
        private Matrix[] ws;
        private long[] firstRows;
        private int[] rows;
        private float[][][] xs;
        private int[] xOffs;
        private int[] tokens;
        private float[][][] ys;
        private int[] yOffs;
        /** Each product's own quantized activations, and the ones it uses in this run (maybe another's). */
        private PackedActivation[][] owned;
        private PackedActivation[][] activations;
        private long[] groupEnds;
        private int count;

        public Products(int capacity) {
            ws = new Matrix[capacity];
            firstRows = new long[capacity];
            rows = new int[capacity];
            xs = new float[capacity][][];
            xOffs = new int[capacity];
            tokens = new int[capacity];
            ys = new float[capacity][][];
            yOffs = new int[capacity];
            owned = new PackedActivation[capacity][];
            activations = new PackedActivation[capacity][];
            groupEnds = new long[capacity];
        }

        /** Empties the list. */
        public Products clear() {
            java.util.Arrays.fill(ws, 0, count, null);
            java.util.Arrays.fill(xs, 0, count, null);
            java.util.Arrays.fill(ys, 0, count, null);
            count = 0;
            return this;
        }

        /**
         * Adds y[t][yOff + r] = W[firstRow + r] · x[t][xOff ..] for r in [0, rows), t in [0, tokens); x null:
         * the input given to {@link #mul(WorkerPool, Products, float[][], int)}.
         */
        public Products add(Matrix w, long firstRow, int rows, float[][] x, int xOff, int tokens, float[][] y, int yOff) {
            if (count == ws.length) {
                int n = 2 * count;
                ws = java.util.Arrays.copyOf(ws, n);
                firstRows = java.util.Arrays.copyOf(firstRows, n);
                this.rows = java.util.Arrays.copyOf(this.rows, n);
                xs = java.util.Arrays.copyOf(xs, n);
                xOffs = java.util.Arrays.copyOf(xOffs, n);
                this.tokens = java.util.Arrays.copyOf(this.tokens, n);
                ys = java.util.Arrays.copyOf(ys, n);
                yOffs = java.util.Arrays.copyOf(yOffs, n);
                owned = java.util.Arrays.copyOf(owned, n);
                activations = java.util.Arrays.copyOf(activations, n);
                groupEnds = java.util.Arrays.copyOf(groupEnds, n);
            }
            ws[count] = w;
            firstRows[count] = firstRow;
            this.rows[count] = rows;
            xs[count] = x;
            xOffs[count] = xOff;
            this.tokens[count] = tokens;
            ys[count] = y;
            yOffs[count] = yOff;
            count++;
            return this;
        }

        /** Adds y[t][r] = W[firstRow + r] · x[t] for r in [0, rows), x the shared input. */
        public Products add(Matrix w, long firstRow, int rows, float[][] y) {
            return add(w, firstRow, rows, null, 0, -1, y, 0);
        }

        /** Adds y[t] = W · x[t] over all of W's rows, x the shared input. */
        public Products add(Matrix w, float[][] y) {
            return add(w, 0, Math.toIntExact(w.rowCount()), y);
        }
    }

    /** The one dispatch of a Products run: group index → (product, group). */
    private static final class SharedTask implements WorkerPool.RangeBody {
        Products p;

        @Override
        public void run(int from, int to) {
            int k = 0;
            while (p.groupEnds[k] <= from) {
                k++;
            }
            for (int g = from; g < to; g++) {
                while (p.groupEnds[k] <= g) {
                    k++;
                }
                PackedMatrix m = (PackedMatrix) p.ws[k];
                long local = g - (k == 0 ? 0 : p.groupEnds[k - 1]);
                long group = m.groupOf(p.firstRows[k]) + local;
                m.dotGroup(group, p.activations[k], p.tokens[k], p.ys[k], p.yOffs[k] + (int) local * GROUP);
            }
        }
    }

    private static final ThreadLocal<SharedTask> SHARED_TASK = ThreadLocal.withInitial(SharedTask::new);

    /** Every product of {@code products}, those without their own input taking x[0, tokens). */
    public static void mul(WorkerPool pool, Products products, float[][] x, int tokens) {
        for (int k = 0; k < products.count; k++) {
            if (products.xs[k] == null) {
                products.xs[k] = x;
                products.xOffs[k] = 0;
                products.tokens[k] = tokens;
            }
        }
        mul(pool, products);
    }

    /**
     * Every product of {@code products}. Where all are packed and have few tokens, each distinct input is
     * quantized once per layout and one dispatch covers all their groups, so the threads meet once instead of
     * once per matrix; otherwise one {@link #mul} after another.
     */
    public static void mul(WorkerPool pool, Products products) {
        // Batch-invariant or not: the packed small-batch kernels give every token the one-token kernel's bits.
        boolean together = true;
        for (int k = 0; k < products.count && together; k++) {
            together = products.tokens[k] <= SMALL_BATCH && products.ws[k] instanceof PackedMatrix p
                    && p.coversGroups(products.firstRows[k], products.rows[k]);
        }
        if (!together) {
            for (int k = 0; k < products.count; k++) {
                mul(pool, products.ws[k], products.firstRows[k], products.rows[k], products.xs[k], products.xOffs[k],
                        products.tokens[k], products.ys[k], products.yOffs[k]);
            }
            return;
        }
        long groups = 0;
        for (int k = 0; k < products.count; k++) {
            PackedMatrix p = (PackedMatrix) products.ws[k];
            PackedActivation[] a = null;
            for (int j = 0; j < k && a == null; j++) {
                if (((PackedMatrix) products.ws[j]).layout() == p.layout() && products.xs[j] == products.xs[k]
                        && products.xOffs[j] == products.xOffs[k] && products.tokens[j] == products.tokens[k]) {
                    a = products.activations[j];
                }
            }
            if (a == null) {
                a = products.owned[k];
                if (a == null) {
                    a = new PackedActivation[SMALL_BATCH];
                    for (int t = 0; t < a.length; t++) {
                        a[t] = new PackedActivation();
                    }
                    products.owned[k] = a;
                }
                for (int t = 0; t < products.tokens[k]; t++) {
                    a[t].quantize(products.xs[k][t], products.xOffs[k], p.rowLength(), p.layout());
                }
            }
            products.activations[k] = a;
            groups += (products.rows[k] + GROUP - 1) / GROUP;
            products.groupEnds[k] = groups;
        }
        SharedTask task = SHARED_TASK.get();
        task.p = products;
        try {
            pool.forRange(Math.toIntExact(groups), task);
        } finally {
            task.p = null;
        }
    }

    /** y[t] = W · x[t] over all rows of W, for every row of x. */
    public static void mul(WorkerPool pool, Matrix w, float[][] x, float[][] y) {
        mul(pool, w, 0, Math.toIntExact(w.rowCount()), x, 0, x.length, y, 0);
    }

    /**
     * One vector, on the calling thread: y[yOff + r] = W[firstRow + r] · x[xOff ..] for r in [0, rows), x
     * rounded as llama.cpp rounds activations for W's type.
     */
    public static void mulVector(Tensor w, long firstRow, int rows, float[] x, int xOff, float[] y, int yOff) {
        int n = w.rowLength();
        if (!Activations.exact(w.type())) {
            float[] r = SCRATCH.get().vector(n);
            Activations.round(w.type(), x, xOff, n, r, 0);
            x = r;
            xOff = 0;
        }
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
        float[] row = SCRATCH.get().rows(n);
        java.util.Arrays.fill(y, yOff, yOff + n, 0f);
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(firstRow + r, row);
            VectorMath.axpy(x[xOff + r], row, 0, y, yOff, n);
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /** The preferred species up to 16 lanes. */
        static final VectorSpecies<Float> F =
                FloatVector.SPECIES_PREFERRED.length() <= 16 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_512;

        /**
         * The panel product's register tile: rows a (one vector of {@code validA} rows from panel {@code pa},
         * output column {@code colA}) and rows b, times four tokens, over {@code width} columns starting at
         * column {@code c0}: eight accumulators, each panel vector feeding four FMAs and each broadcast value
         * two. Adds to y unless c0 = 0. Rows past {@code valid} are neither read from y nor written. Stores
         * written out (no helper taking vectors: see PackedMatrix's note on inlining).
         */
        static void tile(float[] pa, int oa, int validA, int colA, float[] pb, int ob, int validB, int colB,
                                 int c0, int width, float[][] x, int xOff, float[][] y) {
            float[] x0 = x[0];
            float[] x1 = x[1];
            float[] x2 = x[2];
            float[] x3 = x[3];
            int xo = xOff + c0;
            FloatVector z = FloatVector.zero(F);
            FloatVector a0 = z;
            FloatVector a1 = z;
            FloatVector a2 = z;
            FloatVector a3 = z;
            FloatVector b0 = z;
            FloatVector b1 = z;
            FloatVector b2 = z;
            FloatVector b3 = z;
            for (int c = 0; c < width; c++) {
                FloatVector wa = FloatVector.fromArray(F, pa, c * GROUP + oa);
                FloatVector wb = FloatVector.fromArray(F, pb, c * GROUP + ob);
                FloatVector v0 = FloatVector.broadcast(F, x0[xo + c]);
                a0 = wa.fma(v0, a0);
                b0 = wb.fma(v0, b0);
                FloatVector v1 = FloatVector.broadcast(F, x1[xo + c]);
                a1 = wa.fma(v1, a1);
                b1 = wb.fma(v1, b1);
                FloatVector v2 = FloatVector.broadcast(F, x2[xo + c]);
                a2 = wa.fma(v2, a2);
                b2 = wb.fma(v2, b2);
                FloatVector v3 = FloatVector.broadcast(F, x3[xo + c]);
                a3 = wa.fma(v3, a3);
                b3 = wb.fma(v3, b3);
            }
            if (validA >= L && validB >= L && c0 == 0) {
                a0.intoArray(y[0], colA);
                a1.intoArray(y[1], colA);
                a2.intoArray(y[2], colA);
                a3.intoArray(y[3], colA);
                b0.intoArray(y[0], colB);
                b1.intoArray(y[1], colB);
                b2.intoArray(y[2], colB);
                b3.intoArray(y[3], colB);
            } else if (validA >= L && validB >= L) {
                a0.add(FloatVector.fromArray(F, y[0], colA)).intoArray(y[0], colA);
                a1.add(FloatVector.fromArray(F, y[1], colA)).intoArray(y[1], colA);
                a2.add(FloatVector.fromArray(F, y[2], colA)).intoArray(y[2], colA);
                a3.add(FloatVector.fromArray(F, y[3], colA)).intoArray(y[3], colA);
                b0.add(FloatVector.fromArray(F, y[0], colB)).intoArray(y[0], colB);
                b1.add(FloatVector.fromArray(F, y[1], colB)).intoArray(y[1], colB);
                b2.add(FloatVector.fromArray(F, y[2], colB)).intoArray(y[2], colB);
                b3.add(FloatVector.fromArray(F, y[3], colB)).intoArray(y[3], colB);
            } else {
                // A block with padding rows (or none): through a scratch row, lane by lane.
                float[] s = SCRATCH.get().tileSpill;
                a0.intoArray(s, 0);
                a1.intoArray(s, L);
                a2.intoArray(s, 2 * L);
                a3.intoArray(s, 3 * L);
                b0.intoArray(s, 4 * L);
                b1.intoArray(s, 5 * L);
                b2.intoArray(s, 6 * L);
                b3.intoArray(s, 7 * L);
                for (int t = 0; t < 4; t++) {
                    for (int r = 0; r < Math.min(L, validA); r++) {
                        y[t][colA + r] = (c0 > 0 ? y[t][colA + r] : 0) + s[t * L + r];
                    }
                    for (int r = 0; r < Math.min(L, validB); r++) {
                        y[t][colB + r] = (c0 > 0 ? y[t][colB + r] : 0) + s[(4 + t) * L + r];
                    }
                }
            }
        }
    }
}
