package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.Tensor;

/**
 * DeepSeek-V4's MoE layer (docs/deepseek.md §6.3): gate probabilities {@code sqrt(softplus(z))}; the experts are the
 * top-k of probability plus selection bias, or — in the first {@code hash_layer_count} layers — a fixed table by
 * token id ({@code ffn_gate_tid2eid}); gate weights the chosen probabilities, normalised (the sum at least
 * {@link Router#WEIGHT_SUM_MIN}) and scaled; SwiGLU experts and a shared expert whose activations are clamped
 * (up into ±limit, gate to at most limit; no clamp when the limit is 0).
 */
final class V4Moe {
    private final ModelConfig.Moe m;
    private final int embd;
    private final int expertWidth;
    private final int sharedWidth;
    private final float clampExperts;
    private final float clampShared;
    private final int layer;
    private final Matrix router;
    private final Router routing;
    /** The hash layer's table, {@code [token][k]}, or null. */
    private final Tensor table;
    private final Matrix[] gate;
    private final Matrix[] up;
    private final Matrix[] down;
    private final Matrix sharedGate;
    private final Matrix sharedUp;
    private final Matrix sharedDown;
    private final WorkerPool pool;

    /** Block l's MoE of shape {@code m} (SQRT_SOFTPLUS gating); {@code hashed}: routed by the token-id table. */
    V4Moe(Weights w, WorkerPool pool, int l, int embd, ModelConfig.Moe m, boolean hashed, float clampExperts,
          float clampShared) {
        String p = "blk." + l + ".";
        this.m = m;
        this.pool = pool;
        this.layer = l;
        this.embd = embd;
        int experts = m.expertCount();
        this.expertWidth = m.expertFeedForwardLength();
        this.sharedWidth = expertWidth * m.expertSharedCount();
        this.clampExperts = clampExperts;
        this.clampShared = clampShared;
        this.router = w.matrix(p + "ffn_gate_inp.weight", embd, experts);
        this.routing = new Router(m, hashed ? null : w.vector(p + "exp_probs_b.bias", experts));
        this.table = hashed ? w.table(p + "ffn_gate_tid2eid.weight", m.expertUsedCount()) : null;
        this.gate = w.matrices(p + "ffn_gate_exps.weight", embd, expertWidth, experts);
        this.up = w.matrices(p + "ffn_up_exps.weight", embd, expertWidth, experts);
        this.down = w.matrices(p + "ffn_down_exps.weight", expertWidth, embd, experts);
        this.sharedGate = w.matrix(p + "ffn_gate_shexp.weight", embd, sharedWidth);
        this.sharedUp = w.matrix(p + "ffn_up_shexp.weight", embd, sharedWidth);
        this.sharedDown = w.matrix(p + "ffn_down_shexp.weight", sharedWidth, embd);
    }

    /**
     * out[i] = the layer's output for the normed rows h[i], i < t, of tokens[i]; chosen[i] receives the experts. The
     * {@link Router} weighs them (and chooses them, but in a hash layer, where the table does); with a {@code batch},
     * experts its sessions force ({@link Session#forceRouting}) replace the choice.
     */
    void forward(Batch batch, float[][] h, int[] tokens, int t, float[][] out, int[][] chosen) {
        int experts = m.expertCount();
        int used = m.expertUsedCount();
        float[][] logits = new float[t][experts];
        MatMul.mul(pool, router, 0, experts, h, 0, t, logits, 0);
        float[] g = new float[Math.max(expertWidth, sharedWidth)];
        float[] u = new float[g.length];
        float[] y = new float[embd];
        float[] row = new float[used];
        int[] hashed = new int[used];
        float[] weights = new float[used];
        float[] scores = new float[experts];
        Router.Scratch scratch = new Router.Scratch(m);
        for (int i = 0; i < t; i++) {
            int[] forced = batch == null ? null : batch.parts[batch.partOf[i]].forcedExperts(batch.position[i], layer);
            if (forced == null && table != null) {
                table.dequantizeRow(tokens[i], row);
                for (int k = 0; k < used; k++) {
                    hashed[k] = (int) row[k];
                }
                forced = hashed;
            }
            routing.route(logits[i], forced, scratch, chosen[i], weights, scores);
            java.util.Arrays.fill(out[i], 0f);
            for (int k = 0; k < used; k++) {
                int e = chosen[i][k];
                swiglu(gate[e], up[e], down[e], expertWidth, clampExperts, h[i], g, u, y);
                VectorMath.axpy(weights[k], y, 0, out[i], 0, embd);
            }
            swiglu(sharedGate, sharedUp, sharedDown, sharedWidth, clampShared, h[i], g, u, y);
            VectorMath.axpy(1f, y, 0, out[i], 0, embd);
        }
    }

    /** y = down · (silu(min(g, limit)) · clip(u, ±limit)) with g = gate·x, u = up·x. */
    private void swiglu(Matrix gate, Matrix up, Matrix down, int width, float limit, float[] x, float[] g, float[] u,
                        float[] y) {
        mv(gate, width, x, g);
        mv(up, width, x, u);
        for (int j = 0; j < width; j++) {
            float gj = g[j];
            float uj = u[j];
            if (limit > 1e-6f) {
                uj = Math.max(-limit, Math.min(limit, uj));
                gj = Math.min(gj, limit);
            }
            g[j] = (float) (gj / (1 + Math.exp(-gj))) * uj;
        }
        mv(down, embd, g, y);
    }

    private void mv(Matrix w, int rows, float[] x, float[] y) {
        MatMul.mul(pool, w, 0, rows, new float[][] {x}, 0, 1, new float[][] {y}, 0);
    }
}
