package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * The building blocks every architecture shares, over the first {@code t} rows of a batch. Outputs go
 * into arrays the caller owns (a {@link Workspace}), so a decode step allocates nothing.
 */
final class Blocks {
    private Blocks() {
    }

    /**
     * The start of every forward pass: checks the tokens, makes room in the cache, takes the buffers for
     * this batch size and puts the tokens' embeddings in {@code x}.
     */
    static Workspace begin(Batch batch, Tensor tokenEmbd, Workspaces workspaces) {
        Model.checkTokens(batch.tokens, Math.toIntExact(tokenEmbd.rowCount()));
        for (int p = 0; p < batch.parts.length; p++) {
            batch.parts[p].reserve(batch.partTokens[p].length);
        }
        int t = batch.rows();
        Workspace ws = workspaces.forBatch(batch);
        ws.tokens = t;
        embed(tokenEmbd, batch.tokens, ws.x);
        return ws;
    }

    /** x[i] = row tokens[i] of the embedding table. */
    static void embed(Tensor tokenEmbd, int[] tokens, float[][] x) {
        for (int i = 0; i < tokens.length; i++) {
            tokenEmbd.dequantizeRow(tokens[i], x[i]);
        }
    }

    /** out[i] = RMSNorm(x[i]) · w for i < t. */
    static void rmsNorm(float[][] x, int t, float[] w, float eps, float[][] out) {
        for (int i = 0; i < t; i++) {
            VectorMath.rmsNorm(out[i], 0, x[i], 0, w, w.length, eps);
        }
    }

    /** y[i] = W · x[i] for i < t. */
    static void matmul(WorkerPool pool, Matrix w, float[][] x, int t, float[][] y) {
        MatMul.mul(pool, w, 0, Math.toIntExact(w.rowCount()), x, 0, t, y, 0);
    }

    /** x[i] += delta[i] for i < t. */
    static void addInto(float[][] x, float[][] delta, int t) {
        for (int i = 0; i < t; i++) {
            VectorMath.axpy(1f, delta[i], 0, x[i], 0, x[i].length);
        }
    }

    /**
     * out[i] = down · (silu(gate · h[i]) ⊙ (up · h[i])) for i < t (a dense FFN, or one routed expert's);
     * {@code width} is the FFN's hidden width; g and u are scratch rows of at least {@code width}.
     */
    static void swiglu(WorkerPool pool, MatMul.Products products, Matrix gate, Matrix up, Matrix down,
                       int width, float[][] h, int t, float[][] g, float[][] u, float[][] out) {
        int embd = out[0].length;
        MatMul.mul(pool, products.clear().add(gate, 0, width, g).add(up, 0, width, u), h, t);
        for (int i = 0; i < t; i++) {
            VectorMath.siluMul(g[i], u[i], width);
        }
        MatMul.mul(pool, down, 0, embd, g, 0, t, out, 0);
    }

    /**
     * The end of every forward pass: moves each session past its tokens, then the final norm and output
     * projection of every row, or only of the rows each part asks for (its last by default; one part: into the
     * workspace's logits).
     */
    static float[][] finish(WorkerPool pool, Workspace ws, Batch batch, float[] norm, float eps, Matrix output,
                            boolean allLogits) {
        for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
            HiddenStates h = batch.parts[p].hidden();
            for (int i = 0; h != null && i < batch.partTokens[p].length; i++) {
                VectorMath.rmsNorm(h.slot(batch.position[row + i]), 0, ws.x[row + i], 0, norm, norm.length, eps);
            }
            batch.parts[p].advance(batch.partTokens[p].length);
        }
        int t = ws.tokens;
        int vocab = Math.toIntExact(output.rowCount());
        if (allLogits) {
            rmsNorm(ws.x, t, norm, eps, ws.normed);
            float[][] out = new float[t][vocab];
            matmul(pool, output, ws.normed, t, out);
            return out;
        }
        int rows = batch.logitRows.length;
        for (int i = 0; i < rows; i++) {
            VectorMath.rmsNorm(ws.normed[i], 0, ws.x[batch.logitRows[i]], 0, norm, norm.length, eps);
        }
        float[][] out = rows <= ws.logits.length ? ws.logits(rows) : new float[rows][vocab];
        matmul(pool, output, ws.normed, rows, out);
        return out;
    }

    /** Each thread's attention-score buffer, grown as the context grows. */
    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[256]);

    static float[] scores(int n) {
        float[] s = SCORES.get();
        if (s.length < n) {
            s = new float[Math.max(n, 2 * s.length)];
            SCORES.set(s);
        }
        return s;
    }

    /** Each thread's row view for attention jobs. */
    static final ThreadLocal<BlockAttention.Rows> ROWS = ThreadLocal.withInitial(BlockAttention.Rows::new);
    /** Each thread's row-limit scratch for attention jobs. */
    private static final ThreadLocal<int[]> LIMITS = ThreadLocal.withInitial(() -> new int[0]);

    /** This thread's row-limit scratch of at least n. */
    static int[] limits(int n) {
        int[] a = LIMITS.get();
        if (a.length < n) {
            a = new int[n];
            LIMITS.set(a);
        }
        return a;
    }

    /** {@code a}, or a larger array when shorter than n (contents not kept). */
    static float[] grow(float[] a, int n) {
        return a.length >= n ? a : new float[Math.max(n, a.length + a.length / 2)];
    }

    /** At least {@code n} rows of {@code width} floats (rows kept when large enough). */
    static float[][] rows(float[][] a, int n, int width) {
        if (a.length < n || a.length > 0 && a[0].length < width) {
            a = new float[Math.max(n, a.length)][width];
        }
        return a;
    }
}
