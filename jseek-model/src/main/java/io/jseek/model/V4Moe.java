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
     * experts its sessions force ({@link Session#forceRouting}) replace the choice, and sessions recording routing
     * ({@link Session#recordRouting}) receive the experts and their selection scores.
     */
    void forward(Batch batch, float[][] h, int[] tokens, int t, float[][] out, int[][] chosen) {
        int experts = m.expertCount();
        int used = m.expertUsedCount();
        float[][] logits = new float[t][experts];
        MatMul.mul(pool, router, 0, experts, h, 0, t, logits, 0);
        float[] row = new float[used];
        int[] hashed = new int[used];
        float[][] weights = new float[t][used];
        float[][] scores = new float[t][experts];
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
            routing.route(logits[i], forced, scratch, chosen[i], weights[i], scores[i]);
        }
        if (batch != null) {
            for (int p = 0, first = 0; p < batch.parts.length; first += batch.partTokens[p].length, p++) {
                batch.parts[p].addRouting(chosen, scores, first, batch.partTokens[p].length);
            }
        }
        // The shared expert over every row and each routed expert once over the rows that chose it: all gate and up
        // products in one dispatch, all down products in another; the outputs summed shared first, then in expert order.
        // Each chosen expert's rows (arrays only for the experts some row chose: a decode step chooses a few of many).
        int[] n = new int[experts];
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < used; k++) {
                n[chosen[i][k]]++;
            }
        }
        int[][] rows = new int[experts][];
        float[][] rowWeights = new float[experts][];
        float[][][] in = new float[experts][][];
        for (int e = 0; e < experts; e++) {
            if (n[e] > 0) {
                rows[e] = new int[n[e]];
                rowWeights[e] = new float[n[e]];
                in[e] = new float[n[e]][];
                n[e] = 0;
            }
        }
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < used; k++) {
                int e = chosen[i][k];
                rows[e][n[e]] = i;
                rowWeights[e][n[e]] = weights[i][k];
                in[e][n[e]++] = h[i];
            }
        }
        MatMul.Products upper = new MatMul.Products(2 * experts + 2);
        float[][] sg = new float[t][sharedWidth];
        float[][] su = new float[t][sharedWidth];
        upper.add(sharedGate, 0, sharedWidth, h, 0, t, sg, 0).add(sharedUp, 0, sharedWidth, h, 0, t, su, 0);
        float[][][] g = new float[experts][][];
        float[][][] u = new float[experts][][];
        for (int e = 0; e < experts; e++) {
            if (n[e] > 0) {
                g[e] = new float[n[e]][expertWidth];
                u[e] = new float[n[e]][expertWidth];
                upper.add(gate[e], 0, expertWidth, in[e], 0, n[e], g[e], 0).add(up[e], 0, expertWidth, in[e], 0, n[e], u[e], 0);
            }
        }
        MatMul.mul(pool, upper);
        MatMul.Products lower = new MatMul.Products(experts + 1);
        clampedSwiglu(sg, su, t, sharedWidth, clampShared);
        lower.add(sharedDown, 0, embd, sg, 0, t, out, 0);
        float[][][] y = new float[experts][][];
        for (int e = 0; e < experts; e++) {
            if (n[e] > 0) {
                clampedSwiglu(g[e], u[e], n[e], expertWidth, clampExperts);
                y[e] = new float[n[e]][embd];
                lower.add(down[e], 0, embd, g[e], 0, n[e], y[e], 0);
            }
        }
        MatMul.mul(pool, lower);
        for (int e = 0; e < experts; e++) {
            for (int r = 0; r < n[e]; r++) {
                VectorMath.axpy(rowWeights[e][r], y[e][r], 0, out[rows[e][r]], 0, embd);
            }
        }
    }

    /** g[i] = silu(min(g[i], limit)) · clip(u[i], ±limit) for i < n (no clamp when the limit is 0). */
    private static void clampedSwiglu(float[][] g, float[][] u, int n, int width, float limit) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < width; j++) {
                float gj = g[i][j];
                float uj = u[i][j];
                if (limit > 1e-6f) {
                    uj = Math.max(-limit, Math.min(limit, uj));
                    gj = Math.min(gj, limit);
                }
                g[i][j] = (float) (gj / (1 + Math.exp(-gj))) * uj;
            }
        }
    }
}
