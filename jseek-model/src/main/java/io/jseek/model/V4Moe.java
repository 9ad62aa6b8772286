package io.jseek.model;

import io.jseek.core.kernel.MatMul;
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
    private final int embd;
    private final int experts;
    private final int used;
    private final int expertWidth;
    private final int sharedWidth;
    private final boolean normalise;
    private final float scale;
    private final float clampExperts;
    private final float clampShared;
    private final Matrix router;
    private final float[] bias;
    /** The hash layer's table, {@code [token][k]}, or null. */
    private final Tensor table;
    private final Matrix[] gate;
    private final Matrix[] up;
    private final Matrix[] down;
    private final Matrix sharedGate;
    private final Matrix sharedUp;
    private final Matrix sharedDown;
    private final WorkerPool pool;

    V4Moe(Weights w, WorkerPool pool, int l, int embd, int experts, int used, int expertWidth, int sharedExperts,
          boolean hashed, boolean normalise, float scale, float clampExperts, float clampShared) {
        String p = "blk." + l + ".";
        this.pool = pool;
        this.embd = embd;
        this.experts = experts;
        this.used = used;
        this.expertWidth = expertWidth;
        this.sharedWidth = expertWidth * sharedExperts;
        this.normalise = normalise;
        this.scale = scale != 0 ? scale : 1;
        this.clampExperts = clampExperts;
        this.clampShared = clampShared;
        this.router = w.matrix(p + "ffn_gate_inp.weight", embd, experts);
        this.bias = hashed ? null : w.vector(p + "exp_probs_b.bias", experts);
        this.table = hashed ? w.table(p + "ffn_gate_tid2eid.weight", used) : null;
        this.gate = w.matrices(p + "ffn_gate_exps.weight", embd, expertWidth, experts);
        this.up = w.matrices(p + "ffn_up_exps.weight", embd, expertWidth, experts);
        this.down = w.matrices(p + "ffn_down_exps.weight", expertWidth, embd, experts);
        this.sharedGate = w.matrix(p + "ffn_gate_shexp.weight", embd, sharedWidth);
        this.sharedUp = w.matrix(p + "ffn_up_shexp.weight", embd, sharedWidth);
        this.sharedDown = w.matrix(p + "ffn_down_shexp.weight", sharedWidth, embd);
    }

    /** out[i] = the layer's output for the normed rows h[i], i < t, of tokens[i]; chosen[i] receives the experts. */
    void forward(float[][] h, int[] tokens, int t, float[][] out, int[][] chosen) {
        float[][] logits = new float[t][experts];
        MatMul.mul(pool, router, 0, experts, h, 0, t, logits, 0);
        float[] g = new float[Math.max(expertWidth, sharedWidth)];
        float[] u = new float[g.length];
        float[] y = new float[embd];
        float[] row = new float[used];
        for (int i = 0; i < t; i++) {
            float[] probs = new float[experts];
            for (int x = 0; x < experts; x++) {
                float z = logits[i][x];
                probs[x] = (float) Math.sqrt(z > 20 ? z : Math.log1p(Math.exp(z)));
            }
            int[] top = chosen[i];
            if (table != null) {
                table.dequantizeRow(tokens[i], row);
                for (int k = 0; k < used; k++) {
                    top[k] = (int) row[k];
                }
            } else {
                boolean[] taken = new boolean[experts];
                for (int k = 0; k < used; k++) {
                    int best = -1;
                    for (int x = 0; x < experts; x++) {
                        if (!taken[x] && (best < 0 || probs[x] + bias[x] > probs[best] + bias[best])) {
                            best = x;
                        }
                    }
                    taken[best] = true;
                    top[k] = best;
                }
            }
            float sum = 0;
            for (int k = 0; k < used; k++) {
                sum += probs[top[k]];
            }
            float norm = normalise ? Math.max(sum, Router.WEIGHT_SUM_MIN) : 1;
            java.util.Arrays.fill(out[i], 0f);
            for (int k = 0; k < used; k++) {
                int e = top[k];
                swiglu(gate[e], up[e], down[e], expertWidth, clampExperts, h[i], g, u, y);
                float wgt = probs[e] / norm * scale;
                for (int d = 0; d < embd; d++) {
                    out[i][d] += wgt * y[d];
                }
            }
            swiglu(sharedGate, sharedUp, sharedDown, sharedWidth, clampShared, h[i], g, u, y);
            for (int d = 0; d < embd; d++) {
                out[i][d] += y[d];
            }
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
