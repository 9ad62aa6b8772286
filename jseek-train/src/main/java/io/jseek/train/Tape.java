package io.jseek.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Reverse-mode automatic differentiation: each op computes its output now and records how to send the
 * output's gradient back to its inputs; {@link #backward} replays those records in reverse. One tape per
 * step. Every op's backward is written by hand and checked against finite differences (TapeGradientTest).
 * All matrices are row-major {@code rows × cols}; a weight matrix is stored as GGUF stores it, one row
 * per output ({@code y = x · Wᵀ}).
 */
public final class Tape {
    private final List<Runnable> backward = new ArrayList<>();

    /** Runs every recorded backward step, in reverse, from a 1×1 {@code loss} with gradient 1. */
    public void backward(Var loss) {
        if (loss.size() != 1) {
            throw new IllegalArgumentException("backward needs a scalar loss, got " + loss);
        }
        loss.grad()[0] = 1;
        for (int i = backward.size() - 1; i >= 0; i--) {
            backward.get(i).run();
        }
        backward.clear();
    }

    private void record(Runnable r) {
        backward.add(r);
    }

    private static Var out(int rows, int cols) {
        return new Var(null, rows, cols);
    }

    private static void sameShape(Var a, Var b) {
        if (a.rows != b.rows || a.cols != b.cols) {
            throw new IllegalArgumentException("shapes differ: " + a + " and " + b);
        }
    }

    // ---------------------------------------------------------------- linear algebra

    /** y = x · Wᵀ: x is {@code T × K}, W is {@code N × K} (one row per output), y is {@code T × N}. */
    public Var matmul(Var x, Var w) {
        if (x.cols != w.cols) {
            throw new IllegalArgumentException("matmul " + x + " · " + w + "ᵀ: inner sizes differ");
        }
        int t = x.rows;
        int k = x.cols;
        int n = w.rows;
        Var y = out(t, n);
        Linalg.mulT(x.v, w.v, y.v, t, k, n);
        record(() -> {
            if (y.g == null) {
                return;
            }
            // dx += dy · W ; dW += dyᵀ · x
            Linalg.mulAdd(y.g, w.v, x.grad(), t, n, k);
            Linalg.mulTransAdd(y.g, x.v, w.grad(), t, n, k);
        });
        return y;
    }

    /** a + b, same shapes. */
    public Var add(Var a, Var b) {
        sameShape(a, b);
        Var y = out(a.rows, a.cols);
        for (int i = 0; i < y.v.length; i++) {
            y.v[i] = a.v[i] + b.v[i];
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] ga = a.grad();
            double[] gb = b.grad();
            for (int i = 0; i < y.g.length; i++) {
                ga[i] += y.g[i];
                gb[i] += y.g[i];
            }
        });
        return y;
    }

    /** a ⊙ b, same shapes. */
    public Var mul(Var a, Var b) {
        sameShape(a, b);
        Var y = out(a.rows, a.cols);
        for (int i = 0; i < y.v.length; i++) {
            y.v[i] = a.v[i] * b.v[i];
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] ga = a.grad();
            double[] gb = b.grad();
            for (int i = 0; i < y.g.length; i++) {
                ga[i] += y.g[i] * b.v[i];
                gb[i] += y.g[i] * a.v[i];
            }
        });
        return y;
    }

    /** silu(x) = x · sigmoid(x). */
    public Var silu(Var x) {
        Var y = out(x.rows, x.cols);
        for (int i = 0; i < y.v.length; i++) {
            y.v[i] = x.v[i] * sigmoid(x.v[i]);
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gx = x.grad();
            for (int i = 0; i < y.g.length; i++) {
                double s = sigmoid(x.v[i]);
                gx[i] += y.g[i] * s * (1 + x.v[i] * (1 - s));
            }
        });
        return y;
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** Each row of x RMS-normalized, times w (a {@code 1 × cols} weight): x / sqrt(mean(x²) + eps) ⊙ w. */
    public Var rmsNorm(Var x, Var w, double eps) {
        if (w.size() != x.cols) {
            throw new IllegalArgumentException("rmsNorm weight " + w + " for rows of " + x.cols);
        }
        int n = x.cols;
        Var y = out(x.rows, n);
        double[] inv = new double[x.rows];
        for (int r = 0; r < x.rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) {
                double v = x.v[r * n + i];
                ss += v * v;
            }
            inv[r] = 1 / Math.sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) {
                y.v[r * n + i] = x.v[r * n + i] * inv[r] * w.v[i];
            }
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gx = x.grad();
            double[] gw = w.grad();
            for (int r = 0; r < x.rows; r++) {
                // y_i = x_i·s·w_i with s = (mean x² + eps)^-1/2: dx_j = s·w_j·dy_j − x_j·s³/n·Σ_i dy_i w_i x_i
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += y.g[r * n + i] * w.v[i] * x.v[r * n + i];
                    gw[i] += y.g[r * n + i] * x.v[r * n + i] * inv[r];
                }
                double s = inv[r];
                double c = dot * s * s * s / n;
                for (int i = 0; i < n; i++) {
                    gx[r * n + i] += s * w.v[i] * y.g[r * n + i] - x.v[r * n + i] * c;
                }
            }
        });
        return y;
    }

    /** Rows {@code ids[t]} of {@code table} ({@code V × D}) → {@code T × D}. */
    public Var embedding(Var table, int[] ids) {
        int d = table.cols;
        Var y = out(ids.length, d);
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= table.rows) {
                throw new IllegalArgumentException("token id " + ids[t] + " outside the " + table.rows + "-row table");
            }
            System.arraycopy(table.v, ids[t] * d, y.v, t * d, d);
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gt = table.grad();
            for (int t = 0; t < ids.length; t++) {
                for (int i = 0; i < d; i++) {
                    gt[ids[t] * d + i] += y.g[t * d + i];
                }
            }
        });
        return y;
    }

    /** Columns [from, to) of x. */
    public Var columns(Var x, int from, int to) {
        int w = to - from;
        Var y = out(x.rows, w);
        for (int r = 0; r < x.rows; r++) {
            System.arraycopy(x.v, r * x.cols + from, y.v, r * w, w);
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gx = x.grad();
            for (int r = 0; r < x.rows; r++) {
                for (int i = 0; i < w; i++) {
                    gx[r * x.cols + from + i] += y.g[r * w + i];
                }
            }
        });
        return y;
    }

    /**
     * Rotary embedding, ggml's NORM mode (pairs {@code (2i, 2i+1)}, as deepseek2 uses), of {@code dims}
     * columns starting at {@code offset} within each of {@code heads} groups of {@code stride} columns;
     * row r is at position {@code positions[r]}.
     */
    public Var rope(Var x, int heads, int stride, int offset, int dims, int[] positions, double base) {
        Var y = out(x.rows, x.cols);
        System.arraycopy(x.v, 0, y.v, 0, x.v.length);
        rotate(y.v, x.cols, heads, stride, offset, dims, positions, base, 1);
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] back = y.g.clone();
            rotate(back, x.cols, heads, stride, offset, dims, positions, base, -1);
            double[] gx = x.grad();
            for (int i = 0; i < back.length; i++) {
                gx[i] += back[i];
            }
        });
        return y;
    }

    private static void rotate(double[] v, int cols, int heads, int stride, int offset, int dims, int[] positions,
                               double base, int sign) {
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < dims / 2; i++) {
                double theta = positions[r] * Math.pow(base, -2.0 * i / dims);
                double cos = Math.cos(theta);
                double sin = sign * Math.sin(theta);
                for (int h = 0; h < heads; h++) {
                    int a = r * cols + h * stride + offset + 2 * i;
                    double x0 = v[a];
                    double x1 = v[a + 1];
                    v[a] = x0 * cos - x1 * sin;
                    v[a + 1] = x0 * sin + x1 * cos;
                }
            }
        }
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
    public Var mlaAttention(Var q, Var kv, Var kRope, int heads, int nope, int rot, int vd, double scale, int[] seqStart) {
        int t = q.rows;
        int qk = nope + rot;
        int kvw = nope + vd;
        Var y = out(t, heads * vd);
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
        record(() -> {
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

    /** Each row's softmax into {@code probs}; returns each row's log Σ exp (its log-normaliser). */
    private static double[] softmaxRows(Var logits, double[] probs) {
        int v = logits.cols;
        double[] lse = new double[logits.rows];
        for (int r = 0; r < logits.rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < v; i++) {
                max = Math.max(max, logits.v[r * v + i]);
            }
            double sum = 0;
            for (int i = 0; i < v; i++) {
                probs[r * v + i] = Math.exp(logits.v[r * v + i] - max);
                sum += probs[r * v + i];
            }
            for (int i = 0; i < v; i++) {
                probs[r * v + i] /= sum;
            }
            lse[r] = max + Math.log(sum);
        }
        return lse;
    }

    /**
     * Mean cross-entropy of softmax(logits) against {@code targets} over the rows whose target is ≥ 0
     * (−1 masks a row out). Returns a 1×1 Var.
     */
    public Var crossEntropy(Var logits, int[] targets) {
        int v = logits.cols;
        int counted = 0;
        double loss = 0;
        double[] probs = new double[logits.v.length];
        double[] lse = softmaxRows(logits, probs);
        for (int r = 0; r < logits.rows; r++) {
            if (targets[r] >= 0) {
                loss -= logits.v[r * v + targets[r]] - lse[r];
                counted++;
            }
        }
        int n = Math.max(1, counted);
        Var y = out(1, 1);
        y.v[0] = loss / n;
        record(() -> {
            double[] gl = logits.grad();
            double g = y.grad()[0] / n;
            for (int r = 0; r < logits.rows; r++) {
                if (targets[r] < 0) {
                    continue;
                }
                for (int i = 0; i < v; i++) {
                    gl[r * v + i] += g * (probs[r * v + i] - (i == targets[r] ? 1 : 0));
                }
            }
        });
        return y;
    }

    /**
     * Log-probabilities of {@code targets} under softmax(logits), one per row (rows with target −1 get 0
     * and no gradient): {@code T × 1}.
     */
    public Var logProbs(Var logits, int[] targets) {
        int v = logits.cols;
        Var y = out(logits.rows, 1);
        double[] probs = new double[logits.v.length];
        double[] lse = softmaxRows(logits, probs);
        for (int r = 0; r < logits.rows; r++) {
            if (targets[r] >= 0) {
                y.v[r] = logits.v[r * v + targets[r]] - lse[r];
            }
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gl = logits.grad();
            for (int r = 0; r < logits.rows; r++) {
                if (targets[r] < 0 || y.g[r] == 0) {
                    continue;
                }
                for (int i = 0; i < v; i++) {
                    gl[r * v + i] += y.g[r] * ((i == targets[r] ? 1 : 0) - probs[r * v + i]);
                }
            }
        });
        return y;
    }

    /**
     * The GRPO objective as a loss (docs/training.md §1): per token t with weight {@code weight[t]} (0 for
     * tokens that do not count: prompts, padding, masked sequences; else the aggregation's normaliser),
     * ratio ρ = exp(lp − oldLp), surrogate min(ρ·A, clip(ρ, 1−εlo, 1+εhi)·A) with the token's advantage A,
     * minus β times the k3 estimate of KL to the reference, exp(refLp − lp) − (refLp − lp) − 1. The loss is
     * −Σ_t weight·(surrogate − β·KL); {@code lp} is a {@code T × 1} Var of the policy's log-probabilities.
     */
    public Var grpoLoss(Var lp, double[] oldLp, double[] refLp, double[] advantage, double[] weight,
                        double epsLow, double epsHigh, double beta) {
        int t = lp.rows;
        double loss = 0;
        double[] dl = new double[t];
        for (int i = 0; i < t; i++) {
            if (weight[i] == 0) {
                continue;
            }
            double a = advantage[i];
            double ratio = Math.exp(lp.v[i] - oldLp[i]);
            double clipped = Math.min(Math.max(ratio, 1 - epsLow), 1 + epsHigh);
            double surrogate;
            double dSurrogate;
            if (ratio * a <= clipped * a) {
                surrogate = ratio * a;
                dSurrogate = ratio * a;
            } else {
                surrogate = clipped * a;
                dSurrogate = 0;
            }
            double kl = 0;
            double dKl = 0;
            if (beta != 0) {
                double diff = refLp[i] - lp.v[i];
                kl = Math.exp(diff) - diff - 1;
                dKl = -Math.exp(diff) + 1;
            }
            loss -= weight[i] * (surrogate - beta * kl);
            dl[i] = -weight[i] * (dSurrogate - beta * dKl);
        }
        Var y = out(1, 1);
        y.v[0] = loss;
        record(() -> {
            double g = y.grad()[0];
            double[] glp = lp.grad();
            for (int i = 0; i < t; i++) {
                glp[i] += g * dl[i];
            }
        });
        return y;
    }

    /** Σ of all values, as a 1×1 Var (for tests and composite losses). */
    public Var sum(Var x) {
        Var y = out(1, 1);
        for (double d : x.v) {
            y.v[0] += d;
        }
        record(() -> {
            double[] gx = x.grad();
            for (int i = 0; i < gx.length; i++) {
                gx[i] += y.grad()[0];
            }
        });
        return y;
    }

    /**
     * DeepSeekMoE's routed experts (docs/deepseek.md §3): router logits {@code h · Rᵀ}, gate probabilities
     * (sigmoid or softmax), top-k experts by probability plus {@code bias} (V3's selection bias, not
     * differentiated; ties to the lower id), gate weights = chosen probabilities, normalized to sum 1 when
     * {@code normalize}, times {@code scale}; out = Σ_k weight_k · down_e(silu(gate_e h) ⊙ up_e h). The
     * choice itself is not differentiated; gradients flow through the chosen weights and the experts.
     * {@code load} (if not null) receives how many tokens each expert got.
     *
     * @param gate  {@code X·F × D}: expert e's rows e·F..e·F+F−1 (GGUF's ffn_gate_exps)
     * @param up    {@code X·F × D}
     * @param down  {@code X·D × F}: expert e's rows e·D..
     */
    public Var moe(Var h, Var router, double[] bias, Var gate, Var up, Var down, int experts, int k,
                   boolean sigmoidGating, boolean normalize, double scale, int[] load) {
        int t = h.rows;
        int d = h.cols;
        int f = gate.rows / experts;
        double[] logits = new double[t * experts];
        Linalg.mulT(h.v, router.v, logits, t, d, experts);
        double[] probs = new double[t * experts];
        int[][] chosen = new int[t][k];
        double[][] weights = new double[t][k];
        double[][] sums = new double[t][1];
        Var y = out(t, d);
        for (int i = 0; i < t; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[i * experts + e]);
            }
            double z = 0;
            for (int e = 0; e < experts; e++) {
                double l = logits[i * experts + e];
                probs[i * experts + e] = sigmoidGating ? sigmoid(l) : Math.exp(l - max);
                z += probs[i * experts + e];
            }
            if (!sigmoidGating) {
                for (int e = 0; e < experts; e++) {
                    probs[i * experts + e] /= z;
                }
            }
            boolean[] taken = new boolean[experts];
            double sum = 0;
            for (int s = 0; s < k; s++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    double sel = probs[i * experts + e] + (bias != null ? bias[e] : 0);
                    if (!taken[e] && (best < 0 || sel > probs[i * experts + best] + (bias != null ? bias[best] : 0))) {
                        best = e;
                    }
                }
                taken[best] = true;
                chosen[i][s] = best;
                sum += probs[i * experts + best];
                if (load != null) {
                    load[best]++;
                }
            }
            sums[i][0] = sum;
            for (int s = 0; s < k; s++) {
                double p = probs[i * experts + chosen[i][s]];
                weights[i][s] = (normalize ? p / sum : p) * scale;
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
                mv[j] = av[j] * sigmoid(av[j]) * bv[j];
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
        record(() -> {
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
                    double sg = sigmoid(a);
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
                double sum = sums[i][0];
                if (normalize) {
                    double cross = 0;
                    for (int s = 0; s < k; s++) {
                        cross += dw[i][s] * probs[i * experts + chosen[i][s]];
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
