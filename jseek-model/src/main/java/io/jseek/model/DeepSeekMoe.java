package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.Matrix;
import java.util.Arrays;

/**
 * DeepSeekMoE of one layer (docs/deepseek.md §3; DeepSeek's {@code MoE} in {@code inference/model.py}):
 * {@code out = Shared(x) + Σ_{i ∈ chosen} g_i · FFN_i(x)}, the choice and the gate weights g by the layer's
 * {@link Router}. A few tokens (decode, continuous batching) take {@link #fewTokens}: every chosen expert's
 * products in two dispatches; more take {@link #manyTokens}: the batch's tokens grouped by expert, each
 * expert one SwiGLU over its rows.
 */
final class DeepSeekMoe implements FeedForward {
    /** Batches of at most this many tokens take {@link #fewTokens}. */
    static final int FEW_TOKENS = 8;

    private final ModelConfig.Moe m;
    private final WorkerPool pool;
    private final int embd;
    /** This layer's index among the MoE layers (for forced and recorded routing). */
    private final int moeLayer;
    private final Matrix router;
    private final Router routing;
    /** The routed experts' matrices, one per expert. */
    private final Matrix[] gateExps;
    private final Matrix[] upExps;
    private final Matrix[] downExps;
    /** The shared experts as one wider SwiGLU, or null. */
    private final Dense shared;

    DeepSeekMoe(ModelConfig c, Weights w, WorkerPool pool, int l) {
        this.m = c.moe();
        this.pool = pool;
        this.embd = c.embeddingLength();
        this.moeLayer = l - m.leadingDenseBlockCount();
        String p = "blk." + l + ".";
        int x = m.expertCount();
        int fe = m.expertFeedForwardLength();
        router = w.matrix(p + "ffn_gate_inp.weight", embd, x);
        routing = new Router(m, w.optionalVector(p + "exp_probs_b.bias", x));
        gateExps = w.matrices(p + "ffn_gate_exps.weight", embd, fe, x);
        upExps = w.matrices(p + "ffn_up_exps.weight", embd, fe, x);
        downExps = w.matrices(p + "ffn_down_exps.weight", fe, embd, x);
        int fs = fe * m.expertSharedCount();
        shared = fs == 0 ? null : new Dense(pool, w.matrix(p + "ffn_gate_shexp.weight", embd, fs),
                w.matrix(p + "ffn_up_shexp.weight", embd, fs), w.matrix(p + "ffn_down_shexp.weight", fs, embd), fs);
    }

    /** One workspace's routing and expert buffers for a batch of up to t tokens. */
    static final class Scratch {
        final float[][] routerLogits;
        /** Per token: the score each expert was selected by (kept for recording routing). */
        final float[][] scores;
        final int[][] chosen;
        final float[][] weights;
        final float[][] routed;
        final float[][] expertIn;
        final float[][] expertOut;
        final int[] expertRows;
        final float[] expertWeights;
        final Router.Scratch routing;
        final Slots slots = new Slots();

        Scratch(ModelConfig c, int t) {
            ModelConfig.Moe m = c.moe();
            int e = c.embeddingLength();
            routerLogits = new float[t][m.expertCount()];
            scores = new float[t][m.expertCount()];
            chosen = new int[t][m.expertUsedCount()];
            weights = new float[t][m.expertUsedCount()];
            routed = new float[t][e];
            expertIn = new float[t][];
            expertOut = new float[t][e];
            expertRows = new int[t];
            expertWeights = new float[t];
            routing = new Router.Scratch(m);
        }
    }

    @Override
    public void forward(Batch batch, float[][] x, int t, FeedForward.Scratch f, float[][] out) {
        Scratch s = f.moe;
        Blocks.matmul(pool, router, x, t, s.routerLogits);
        for (int i = 0; i < t; i++) {
            int[] forced = batch.parts[batch.partOf[i]].forcedExperts(batch.position[i], moeLayer);
            routing.route(s.routerLogits[i], forced, s.routing, s.chosen[i], s.weights[i], s.scores[i]);
        }
        for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
            batch.parts[p].addRouting(s.chosen, s.scores, row, batch.partTokens[p].length);
        }
        if (t <= FEW_TOKENS) {
            fewTokens(x, t, f, out);
        } else {
            manyTokens(x, t, f, out);
        }
    }

    /** Shared experts, then each expert once over the rows that chose it, summed in expert order. */
    private void manyTokens(float[][] x, int t, FeedForward.Scratch f, float[][] out) {
        Scratch s = f.moe;
        int width = m.expertFeedForwardLength();
        if (shared != null) {
            shared.forward(null, x, t, f, out);
        } else {
            zero(out, t);
        }
        zero(s.routed, t);
        for (int expert = 0; expert < m.expertCount(); expert++) {
            int rows = 0;
            for (int i = 0; i < t; i++) {
                for (int k = 0; k < s.chosen[i].length; k++) {
                    if (s.chosen[i][k] == expert) {
                        s.expertRows[rows] = i;
                        s.expertWeights[rows] = s.weights[i][k];
                        s.expertIn[rows] = x[i];
                        rows++;
                    }
                }
            }
            if (rows > 0) {
                Blocks.swiglu(pool, f.products, gateExps[expert], upExps[expert], downExps[expert], width, s.expertIn,
                        rows, f.g, f.u, s.expertOut);
                for (int r = 0; r < rows; r++) {
                    VectorMath.axpy(s.expertWeights[r], s.expertOut[r], 0, s.routed[s.expertRows[r]], 0, embd);
                }
            }
        }
        Blocks.addInto(out, s.routed, t);
    }

    /**
     * The chosen experts' gate and up products, and the shared experts', in one dispatch, then all the down
     * products in another, instead of three dispatches per chosen expert (measured: 14 dispatches per layer
     * and token took the worker threads' time as waiting on V2-Lite). Each chosen expert is a slot with its
     * own tokens and buffers.
     */
    private void fewTokens(float[][] x, int t, FeedForward.Scratch f, float[][] out) {
        Scratch s = f.moe;
        Slots slots = s.slots;
        int width = m.expertFeedForwardLength();
        int n = slots.fill(s, x, t, m.expertCount(), width, embd);
        slots.upper.clear();
        slots.lower.clear();
        if (shared != null) {
            slots.upper.add(shared.gate(), 0, shared.width(), x, 0, t, f.g, 0)
                    .add(shared.up(), 0, shared.width(), x, 0, t, f.u, 0);
        }
        for (int k = 0; k < n; k++) {
            int e = slots.expert[k];
            slots.upper.add(gateExps[e], 0, width, slots.in[k], 0, slots.rows[k], slots.g[k], 0)
                    .add(upExps[e], 0, width, slots.in[k], 0, slots.rows[k], slots.u[k], 0);
        }
        MatMul.mul(pool, slots.upper);
        if (shared != null) {
            for (int i = 0; i < t; i++) {
                VectorMath.siluMul(f.g[i], f.u[i], shared.width());
            }
            slots.lower.add(shared.down(), 0, embd, f.g, 0, t, out, 0);
        } else {
            zero(out, t);
        }
        for (int k = 0; k < n; k++) {
            for (int r = 0; r < slots.rows[k]; r++) {
                VectorMath.siluMul(slots.g[k][r], slots.u[k][r], width);
            }
            slots.lower.add(downExps[slots.expert[k]], 0, embd, slots.g[k], 0, slots.rows[k], slots.out[k], 0);
        }
        MatMul.mul(pool, slots.lower);
        // In expert order, as manyTokens sums them.
        zero(s.routed, t);
        for (int k = 0; k < n; k++) {
            for (int r = 0; r < slots.rows[k]; r++) {
                VectorMath.axpy(slots.weights[k][r], slots.out[k][r], 0, s.routed[slots.tokens[k][r]], 0, embd);
            }
        }
        Blocks.addInto(out, s.routed, t);
    }

    private static void zero(float[][] rows, int t) {
        for (int i = 0; i < t; i++) {
            Arrays.fill(rows[i], 0f);
        }
    }

    /** {@link #fewTokens}' slots: per chosen expert, its tokens (batch rows), gate weights, inputs and buffers. */
    static final class Slots {
        final MatMul.Products upper = new MatMul.Products(32);
        final MatMul.Products lower = new MatMul.Products(16);
        int[] expert = new int[0];
        int[] rows = new int[0];
        int[][] tokens = new int[0][];
        float[][] weights = new float[0][];
        float[][][] in = new float[0][][];
        float[][][] g = new float[0][][];
        float[][][] u = new float[0][][];
        float[][][] out = new float[0][][];

        /** One slot per expert chosen by any of the t tokens, in expert order; returns their count. */
        int fill(Scratch s, float[][] x, int t, int experts, int width, int embd) {
            int slots = 0;
            for (int e = 0; e < experts; e++) {
                int n = 0;
                for (int i = 0; i < t; i++) {
                    for (int k = 0; k < s.chosen[i].length; k++) {
                        if (s.chosen[i][k] == e) {
                            if (n == 0) {
                                ensure(slots, width, embd);
                            }
                            tokens[slots][n] = i;
                            weights[slots][n] = s.weights[i][k];
                            in[slots][n] = x[i];
                            n++;
                        }
                    }
                }
                if (n > 0) {
                    expert[slots] = e;
                    rows[slots] = n;
                    slots++;
                }
            }
            return slots;
        }

        /** Makes slot {@code s} exist. */
        private void ensure(int s, int width, int embd) {
            if (expert.length <= s) {
                int n = Math.max(s + 1, 2 * expert.length);
                expert = Arrays.copyOf(expert, n);
                rows = Arrays.copyOf(rows, n);
                tokens = Arrays.copyOf(tokens, n);
                weights = Arrays.copyOf(weights, n);
                in = Arrays.copyOf(in, n);
                g = Arrays.copyOf(g, n);
                u = Arrays.copyOf(u, n);
                out = Arrays.copyOf(out, n);
            }
            if (in[s] == null) {
                tokens[s] = new int[FEW_TOKENS];
                weights[s] = new float[FEW_TOKENS];
                in[s] = new float[FEW_TOKENS][];
                g[s] = new float[FEW_TOKENS][width];
                u[s] = new float[FEW_TOKENS][width];
                out[s] = new float[FEW_TOKENS][embd];
            }
        }
    }
}
