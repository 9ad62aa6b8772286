package io.jseek.train;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) with global-norm gradient clipping and a linear
 * warm-up then cosine decay of the learning rate. Weight decay applies to matrices only, not to norm
 * weights (1-row parameters), as is usual.
 */
public final class AdamW {
    /**
     * @param minLrFraction the cosine decays from lr to lr × this at {@code totalSteps}
     * @param clip          largest global gradient norm (≤ 0: no clipping)
     */
    public record Settings(double lr, double beta1, double beta2, double eps, double weightDecay, double clip,
                           int warmupSteps, int totalSteps, double minLrFraction) {
    }

    private final List<Var> params;
    private final Settings s;
    private final Map<Var, double[][]> moments = new IdentityHashMap<>();
    private int step;

    public AdamW(List<Var> params, Settings settings) {
        this.params = List.copyOf(params);
        this.s = settings;
    }

    /** The learning rate at step {@code t} (0-based). */
    public double learningRate(int t) {
        if (t < s.warmupSteps()) {
            return s.lr() * (t + 1) / s.warmupSteps();
        }
        double progress = Math.min(1, (t - s.warmupSteps()) / (double) Math.max(1, s.totalSteps() - s.warmupSteps()));
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return s.lr() * (s.minLrFraction() + (1 - s.minLrFraction()) * cosine);
    }

    /** Global L2 norm of the gradients. */
    public double gradNorm() {
        double ss = 0;
        for (Var p : params) {
            if (p.g != null) {
                for (double g : p.g) {
                    ss += g * g;
                }
            }
        }
        return Math.sqrt(ss);
    }

    /** One update from the current gradients, which are then zeroed. Returns the gradient norm before clipping. */
    public double step() {
        double norm = gradNorm();
        double clipScale = s.clip() > 0 && norm > s.clip() ? s.clip() / norm : 1;
        double lr = learningRate(step);
        step++;
        double b1t = 1 - Math.pow(s.beta1(), step);
        double b2t = 1 - Math.pow(s.beta2(), step);
        for (Var p : params) {
            if (p.g == null) {
                continue;
            }
            double[][] m = moments.computeIfAbsent(p, k -> new double[][] {new double[k.size()], new double[k.size()]});
            double decay = p.rows > 1 ? s.weightDecay() : 0;
            for (int i = 0; i < p.v.length; i++) {
                double g = p.g[i] * clipScale;
                m[0][i] = s.beta1() * m[0][i] + (1 - s.beta1()) * g;
                m[1][i] = s.beta2() * m[1][i] + (1 - s.beta2()) * g * g;
                double mh = m[0][i] / b1t;
                double vh = m[1][i] / b2t;
                p.v[i] -= lr * (mh / (Math.sqrt(vh) + s.eps()) + decay * p.v[i]);
            }
            p.zeroGrad();
        }
        return norm;
    }

    public int steps() {
        return step;
    }

    /** The optimizer's resumable state: its step and every parameter's two moments. */
    public record State(int step, java.util.List<double[][]> moments) {
        static State read(java.io.DataInputStream in, List<Var> params) throws java.io.IOException {
            int step = in.readInt();
            java.util.List<double[][]> m = new java.util.ArrayList<>();
            for (Var p : params) {
                boolean has = in.readBoolean();
                if (!has) {
                    m.add(null);
                    continue;
                }
                double[][] mv = new double[2][p.size()];
                for (int k = 0; k < 2; k++) {
                    for (int i = 0; i < p.size(); i++) {
                        mv[k][i] = in.readDouble();
                    }
                }
                m.add(mv);
            }
            return new State(step, m);
        }
    }

    void save(java.io.DataOutputStream out) throws java.io.IOException {
        out.writeInt(step);
        for (Var p : params) {
            double[][] m = moments.get(p);
            out.writeBoolean(m != null);
            if (m != null) {
                for (double[] a : m) {
                    for (double d : a) {
                        out.writeDouble(d);
                    }
                }
            }
        }
    }

    /** Continues from a saved state (same parameters, in the same order). */
    public void restore(State state) {
        step = state.step();
        for (int i = 0; i < params.size(); i++) {
            if (state.moments().get(i) != null) {
                moments.put(params.get(i), state.moments().get(i));
            }
        }
    }
}
