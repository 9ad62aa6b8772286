package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Tensor;

/** The building blocks every architecture shares, over a batch of T token rows. */
final class Blocks {
    private Blocks() {
    }

    /** x[t] = row tokens[t] of the embedding table. */
    static float[][] embed(Tensor tokenEmbd, int[] tokens) {
        float[][] x = new float[tokens.length][tokenEmbd.rowLength()];
        for (int t = 0; t < tokens.length; t++) {
            tokenEmbd.dequantizeRow(tokens[t], x[t]);
        }
        return x;
    }

    /** A new batch: RMSNorm of every row. */
    static float[][] rmsNorm(float[][] x, float[] w, float eps) {
        float[][] out = new float[x.length][w.length];
        for (int t = 0; t < x.length; t++) {
            VectorMath.rmsNorm(out[t], 0, x[t], 0, w, w.length, eps);
        }
        return out;
    }

    static float[][] matmul(WorkerPool pool, Tensor w, float[][] x) {
        float[][] y = new float[x.length][Math.toIntExact(w.rowCount())];
        MatMul.mul(pool, w, x, y);
        return y;
    }

    static void addInto(float[][] x, float[][] delta) {
        for (int t = 0; t < x.length; t++) {
            VectorMath.axpy(1f, delta[t], 0, x[t], 0, x[t].length);
        }
    }

    /**
     * SwiGLU: down · (silu(gate · h) ⊙ (up · h)). {@code firstRow*} select one expert of stacked 3-D
     * weights (0 for a plain FFN); {@code width} is the hidden width of that FFN.
     */
    static float[][] swiglu(WorkerPool pool, Tensor gate, Tensor up, Tensor down, long expert, int width, float[][] h) {
        int t = h.length;
        int embd = h[0].length;
        float[][] g = new float[t][width];
        float[][] u = new float[t][width];
        MatMul.mul(pool, gate, expert * width, width, h, 0, g, 0);
        MatMul.mul(pool, up, expert * width, width, h, 0, u, 0);
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < width; j++) {
                g[i][j] = VectorMath.silu(g[i][j]) * u[i][j];
            }
        }
        float[][] out = new float[t][embd];
        MatMul.mul(pool, down, expert * embd, embd, g, 0, out, 0);
        return out;
    }

    /** Final norm and output projection, for every row or only the last. */
    static float[][] logits(WorkerPool pool, float[][] x, float[] norm, float eps, Tensor output, boolean allLogits) {
        float[][] rows = allLogits ? x : new float[][] {x[x.length - 1]};
        return matmul(pool, output, rmsNorm(rows, norm, eps));
    }

    /** Turns attention scores over cached positions 0..n-1 into weights, in place. */
    static void softmaxScores(float[] scores, int n) {
        VectorMath.softmax(scores, 0, n);
    }
}
