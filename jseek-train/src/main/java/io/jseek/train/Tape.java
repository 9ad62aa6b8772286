package io.jseek.train;

import io.jseek.model.Rope;
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

    void record(Runnable r) {
        backward.add(r);
    }

    static Var out(int rows, int cols) {
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

    /** [a ‖ b]: the columns of a, then those of b (same rows). */
    public Var concat(Var a, Var b) {
        if (a.rows != b.rows) {
            throw new IllegalArgumentException("concat " + a + " and " + b + ": rows differ");
        }
        int w = a.cols + b.cols;
        Var y = out(a.rows, w);
        for (int r = 0; r < a.rows; r++) {
            System.arraycopy(a.v, r * a.cols, y.v, r * w, a.cols);
            System.arraycopy(b.v, r * b.cols, y.v, r * w + a.cols, b.cols);
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] ga = a.grad();
            double[] gb = b.grad();
            for (int r = 0; r < a.rows; r++) {
                for (int i = 0; i < a.cols; i++) {
                    ga[r * a.cols + i] += y.g[r * w + i];
                }
                for (int i = 0; i < b.cols; i++) {
                    gb[r * b.cols + i] += y.g[r * w + a.cols + i];
                }
            }
        });
        return y;
    }

    /**
     * Rotary embedding as the engine computes it ({@link Rope}: its angles, magnitude and pairing), of
     * {@code rope.dims()} columns starting at {@code offset} within each of {@code heads} groups of
     * {@code stride} columns; row r is at position {@code positions[r]}.
     */
    public Var rope(Var x, int heads, int stride, int offset, int[] positions, Rope rope) {
        Var y = out(x.rows, x.cols);
        System.arraycopy(x.v, 0, y.v, 0, x.v.length);
        rotate(y.v, x.cols, heads, stride, offset, positions, rope, 1);
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] back = y.g.clone();
            rotate(back, x.cols, heads, stride, offset, positions, rope, -1);
            double[] gx = x.grad();
            for (int i = 0; i < back.length; i++) {
                gx[i] += back[i];
            }
        });
        return y;
    }

    /** Rotates by each pair's angle times {@code sign} and scales by the magnitude (its own transpose at −1). */
    private static void rotate(double[] v, int cols, int heads, int stride, int offset, int[] positions, Rope rope,
                               int sign) {
        int half = rope.dims() / 2;
        double m = rope.magnitude();
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < half; i++) {
                double theta = rope.angle(positions[r], i);
                double cos = Math.cos(theta) * m;
                double sin = sign * Math.sin(theta) * m;
                for (int h = 0; h < heads; h++) {
                    int base = r * cols + h * stride + offset;
                    int a = rope.neox() ? base + i : base + 2 * i;
                    int b = rope.neox() ? base + i + half : base + 2 * i + 1;
                    double x0 = v[a];
                    double x1 = v[b];
                    v[a] = x0 * cos - x1 * sin;
                    v[b] = x0 * sin + x1 * cos;
                }
            }
        }
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

    /** c · x for a constant c (a loss's weight). */
    public Var scale(Var x, double c) {
        Var y = out(x.rows, x.cols);
        for (int i = 0; i < x.v.length; i++) {
            y.v[i] = c * x.v[i];
        }
        record(() -> {
            if (y.g == null) {
                return;
            }
            double[] gx = x.grad();
            for (int i = 0; i < gx.length; i++) {
                gx[i] += c * y.g[i];
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

}
