package io.jseek.train;

import io.jseek.model.ModelConfig;
import io.jseek.model.Router;

/**
 * The DeepSeek-specific ops of {@link TrainableDeepSeek} on a {@link Tape}: MLA's naive attention and
 * DeepSeekMoE's routed experts, each with its hand-written backward (checked against finite differences by
 * TapeGradientTest). Routing is the engine's {@link Router}.
 */
final class DeepSeekOps {
    private DeepSeekOps() {
    }

    /**
     * Causal multi-head attention in MLA's naive form (docs/deepseek.md §2.2), for the sequences of one
     * batch laid out one after another ({@code seqStart[r]}: the first row of row r's sequence):
     * per head h, score(i, j) = scale · (q_nope(i,h)·k_nope(j,h) + q_rope(i,h)·k_rope(j)) for j ≤ i in
     * the same sequence, softmax over j, out(i,h) = Σ_j p·v(j,h).
     *
     * @param q     {@code T × H·(nope+rot)}: per head [nope | rope]
     * @param kv    {@code T × H·(nope+vd)}: per head [k_nope | v]
     * @param kRope {@code T × rot}: the rope key every head shares
     * @return {@code T × H·vd}
     */
    static Var mlaAttention(Tape tape, Var q, Var kv, Var kRope, int heads, int nope, int rot, int vd, double scale,
                            int[] seqStart) {
        int t = q.rows;
        int qk = nope + rot;
        int kvw = nope + vd;
        Var y = Tape.out(t, heads * vd);
        double[][] probs = new double[t * heads][];
        for (int i = 0; i < t; i++) {
            int s0 = seqStart[i];
            for (int h = 0; h < heads; h++) {
                double[] p = new double[i - s0 + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = s0; j <= i; j++) {
                    double s = 0;
                    for (int d = 0; d < nope; d++) {
                        s += q.v[i * heads * qk + h * qk + d] * kv.v[j * heads * kvw + h * kvw + d];
                    }
                    for (int d = 0; d < rot; d++) {
                        s += q.v[i * heads * qk + h * qk + nope + d] * kRope.v[j * rot + d];
                    }
                    p[j - s0] = s * scale;
                    max = Math.max(max, p[j - s0]);
                }
                double sum = 0;
                for (int j = 0; j < p.length; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int j = 0; j < p.length; j++) {
                    p[j] /= sum;
                    for (int d = 0; d < vd; d++) {
                        y.v[i * heads * vd + h * vd + d] += p[j] * kv.v[(s0 + j) * heads * kvw + h * kvw + nope + d];
                    }
                }
                probs[i * heads + h] = p;
            }
        }
        tape.record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gq = q.grad();
            double[] gkv = kv.grad();
            double[] gkr = kRope.grad();
            for (int i = 0; i < t; i++) {
                int s0 = seqStart[i];
                for (int h = 0; h < heads; h++) {
                    double[] p = probs[i * heads + h];
                    double[] dp = new double[p.length];
                    double dot = 0;
                    for (int j = 0; j < p.length; j++) {
                        int jr = s0 + j;
                        double acc = 0;
                        for (int d = 0; d < vd; d++) {
                            double go = y.g[i * heads * vd + h * vd + d];
                            acc += go * kv.v[jr * heads * kvw + h * kvw + nope + d];
                            gkv[jr * heads * kvw + h * kvw + nope + d] += p[j] * go;
                        }
                        dp[j] = acc;
                        dot += acc * p[j];
                    }
                    for (int j = 0; j < p.length; j++) {
                        int jr = s0 + j;
                        double ds = p[j] * (dp[j] - dot) * scale;
                        for (int d = 0; d < nope; d++) {
                            gq[i * heads * qk + h * qk + d] += ds * kv.v[jr * heads * kvw + h * kvw + d];
                            gkv[jr * heads * kvw + h * kvw + d] += ds * q.v[i * heads * qk + h * qk + d];
                        }
                        for (int d = 0; d < rot; d++) {
                            gq[i * heads * qk + h * qk + nope + d] += ds * kRope.v[jr * rot + d];
                            gkr[jr * rot + d] += ds * q.v[i * heads * qk + h * qk + nope + d];
                        }
                    }
                }
            }
        });
        return y;
    }

    /**
     * DeepSeekMoE's routed experts (docs/deepseek.md §3): router logits {@code h · Rᵀ}; the experts each token
     * goes to chosen by the engine's {@link Router} (groups, selection bias, ties to the lower id: one spec
     * for engine and trainer), on the logits rounded to float as the engine sees them; gate weights = the
     * chosen experts' probabilities (sigmoid or softmax, in double), normalized when the model says (the sum
     * clamped to {@link Router#WEIGHT_SUM_MIN}), times {@link Router#weightScale}; out = Σ_k weight_k ·
     * down_e(silu(gate_e h) ⊙ up_e h). The choice itself is not differentiated; gradients flow through the
     * chosen weights and the experts. {@code load} (if not null) receives how many tokens each expert got.
     *
     * @param gate  {@code X·F × D}: expert e's rows e·F..e·F+F−1 (GGUF's ffn_gate_exps)
     * @param up    {@code X·F × D}
     * @param down  {@code X·D × F}: expert e's rows e·D..
     */
    static Var moe(Tape tape, Var h, Var router, ModelConfig.Moe m, Router routing, Var gate, Var up, Var down,
                   int[] load) {
        int experts = m.expertCount();
        int k = m.expertUsedCount();
        boolean sigmoidGating = m.gating() == ModelConfig.Moe.Gating.SIGMOID;
        boolean normalize = m.weightsNorm();
        double scale = Router.weightScale(m);
        int t = h.rows;
        int d = h.cols;
        int f = gate.rows / experts;
        double[] logits = new double[t * experts];
        Linalg.mulT(h.v, router.v, logits, t, d, experts);
        double[] probs = new double[t * experts];
        int[][] chosen = new int[t][k];
        double[][] weights = new double[t][k];
        double[] sums = new double[t];
        boolean[] clamped = new boolean[t];
        Var y = Tape.out(t, d);
        Router.Scratch scratch = new Router.Scratch(m);
        float[] rowLogits = new float[experts];
        float[] unusedWeights = new float[k];
        float[] unusedScores = new float[experts];
        for (int i = 0; i < t; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[i * experts + e]);
                rowLogits[e] = (float) logits[i * experts + e];
            }
            double z = 0;
            for (int e = 0; e < experts; e++) {
                double l = logits[i * experts + e];
                probs[i * experts + e] = sigmoidGating ? Tape.sigmoid(l) : Math.exp(l - max);
                z += probs[i * experts + e];
            }
            if (!sigmoidGating) {
                for (int e = 0; e < experts; e++) {
                    probs[i * experts + e] /= z;
                }
            }
            routing.route(rowLogits, null, scratch, chosen[i], unusedWeights, unusedScores);
            double sum = 0;
            for (int s = 0; s < k; s++) {
                sum += probs[i * experts + chosen[i][s]];
                if (load != null) {
                    load[chosen[i][s]]++;
                }
            }
            // The clamped denominator: below the clamp the weights do not depend on the sum.
            clamped[i] = sum < Router.WEIGHT_SUM_MIN;
            sums[i] = Math.max(sum, Router.WEIGHT_SUM_MIN);
            for (int s = 0; s < k; s++) {
                double p = probs[i * experts + chosen[i][s]];
                weights[i][s] = (normalize ? p / sums[i] : p) * scale;
            }
        }
        // The batch's tokens grouped by expert, each expert run once over its rows as matrix products.
        int[][] rowsOf = new int[experts][];
        int[][] slotOf = new int[experts][];
        {
            int[] count = new int[experts];
            for (int i = 0; i < t; i++) {
                for (int s = 0; s < k; s++) {
                    count[chosen[i][s]]++;
                }
            }
            for (int e = 0; e < experts; e++) {
                rowsOf[e] = new int[count[e]];
                slotOf[e] = new int[count[e]];
                count[e] = 0;
            }
            for (int i = 0; i < t; i++) {
                for (int s = 0; s < k; s++) {
                    int e = chosen[i][s];
                    rowsOf[e][count[e]] = i;
                    slotOf[e][count[e]++] = s;
                }
            }
        }
        double[][] xe = new double[experts][];
        double[][] ae = new double[experts][];
        double[][] be = new double[experts][];
        double[][] me = new double[experts][];
        double[][] ye = new double[experts][];
        for (int e = 0; e < experts; e++) {
            int n = rowsOf[e].length;
            if (n == 0) {
                continue;
            }
            double[] xs = new double[n * d];
            for (int r = 0; r < n; r++) {
                System.arraycopy(h.v, rowsOf[e][r] * d, xs, r * d, d);
            }
            double[] av = new double[n * f];
            double[] bv = new double[n * f];
            Linalg.mulT(xs, 0, gate.v, e * f * d, av, 0, n, d, f);
            Linalg.mulT(xs, 0, up.v, e * f * d, bv, 0, n, d, f);
            double[] mv = new double[n * f];
            for (int j = 0; j < mv.length; j++) {
                mv[j] = av[j] * Tape.sigmoid(av[j]) * bv[j];
            }
            double[] yv = new double[n * d];
            Linalg.mulT(mv, 0, down.v, e * d * f, yv, 0, n, f, d);
            for (int r = 0; r < n; r++) {
                int i = rowsOf[e][r];
                double w = weights[i][slotOf[e][r]];
                for (int c = 0; c < d; c++) {
                    y.v[i * d + c] += w * yv[r * d + c];
                }
            }
            xe[e] = xs;
            ae[e] = av;
            be[e] = bv;
            me[e] = mv;
            ye[e] = yv;
        }
        tape.record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gh = h.grad();
            double[] gr = router.grad();
            double[] gg = gate.grad();
            double[] gu = up.grad();
            double[] gd = down.grad();
            double[][] dw = new double[t][k];
            for (int e = 0; e < experts; e++) {
                int n = rowsOf[e].length;
                if (n == 0) {
                    continue;
                }
                double[] dy = new double[n * d];
                for (int r = 0; r < n; r++) {
                    int i = rowsOf[e][r];
                    int s = slotOf[e][r];
                    double w = weights[i][s];
                    double acc = 0;
                    for (int c = 0; c < d; c++) {
                        acc += y.g[i * d + c] * ye[e][r * d + c];
                        dy[r * d + c] = w * y.g[i * d + c];
                    }
                    dw[i][s] = acc;
                }
                double[] dm = new double[n * f];
                Linalg.mulAdd(dy, 0, down.v, e * d * f, dm, 0, n, d, f);
                Linalg.mulTransAdd(dy, 0, me[e], 0, gd, e * d * f, n, d, f);
                double[] da = new double[n * f];
                double[] db = new double[n * f];
                for (int j = 0; j < da.length; j++) {
                    double a = ae[e][j];
                    double sg = Tape.sigmoid(a);
                    da[j] = dm[j] * be[e][j] * sg * (1 + a * (1 - sg));
                    db[j] = dm[j] * a * sg;
                }
                Linalg.mulTransAdd(da, 0, xe[e], 0, gg, e * f * d, n, f, d);
                Linalg.mulTransAdd(db, 0, xe[e], 0, gu, e * f * d, n, f, d);
                double[] dx = new double[n * d];
                Linalg.mulAdd(da, 0, gate.v, e * f * d, dx, 0, n, f, d);
                Linalg.mulAdd(db, 0, up.v, e * f * d, dx, 0, n, f, d);
                for (int r = 0; r < n; r++) {
                    int i = rowsOf[e][r];
                    for (int c = 0; c < d; c++) {
                        gh[i * d + c] += dx[r * d + c];
                    }
                }
            }
            for (int i = 0; i < t; i++) {
                // Gate weights back to the probabilities of the chosen experts.
                double[] dp = new double[experts];
                double sum = sums[i];
                if (normalize) {
                    double cross = 0;
                    for (int s = 0; s < k; s++) {
                        cross += clamped[i] ? 0 : dw[i][s] * probs[i * experts + chosen[i][s]];
                    }
                    for (int s = 0; s < k; s++) {
                        dp[chosen[i][s]] += scale * (dw[i][s] / sum - cross / (sum * sum));
                    }
                } else {
                    for (int s = 0; s < k; s++) {
                        dp[chosen[i][s]] += scale * dw[i][s];
                    }
                }
                // Probabilities back to the router logits.
                double[] dl = new double[experts];
                if (sigmoidGating) {
                    for (int e = 0; e < experts; e++) {
                        double p = probs[i * experts + e];
                        dl[e] = dp[e] * p * (1 - p);
                    }
                } else {
                    double dot = 0;
                    for (int e = 0; e < experts; e++) {
                        dot += dp[e] * probs[i * experts + e];
                    }
                    for (int e = 0; e < experts; e++) {
                        dl[e] = probs[i * experts + e] * (dp[e] - dot);
                    }
                }
                for (int e = 0; e < experts; e++) {
                    if (dl[e] == 0) {
                        continue;
                    }
                    for (int c = 0; c < d; c++) {
                        gr[e * d + c] += dl[e] * h.v[i * d + c];
                        gh[i * d + c] += dl[e] * router.v[e * d + c];
                    }
                }
            }
        });
        return y;
    }
}
