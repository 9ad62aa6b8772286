package io.jseek.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import java.util.function.Function;

/** Finite-difference gradient checks in double precision: analytic gradients against central differences. */
final class GradCheck {
    private GradCheck() {
    }

    static Var random(String name, int rows, int cols, Random rnd, double scale) {
        Var v = new Var(name, rows, cols);
        for (int i = 0; i < v.v.length; i++) {
            v.v[i] = rnd.nextGaussian() * scale;
        }
        return v;
    }

    /**
     * Checks d loss / d input for every value of every input (at most {@code maxPerInput}, spread over the
     * input), where {@code loss} builds a scalar on the given tape.
     */
    static void check(List<Var> inputs, Function<Tape, Var> loss, int maxPerInput, double tol) {
        for (Var in : inputs) {
            in.zeroGrad();
        }
        Tape tape = new Tape();
        Var l = loss.apply(tape);
        tape.backward(l);
        double h = 1e-6;
        for (Var in : inputs) {
            double[] analytic = in.grad().clone();
            int step = Math.max(1, in.size() / maxPerInput);
            for (int i = 0; i < in.size(); i += step) {
                double keep = in.v[i];
                in.v[i] = keep + h;
                double up = loss.apply(new Tape()).v[0];
                in.v[i] = keep - h;
                double down = loss.apply(new Tape()).v[0];
                in.v[i] = keep;
                double numeric = (up - down) / (2 * h);
                double scale = Math.max(1, Math.max(Math.abs(numeric), Math.abs(analytic[i])));
                assertEquals(numeric, analytic[i], tol * scale, in + " value " + i);
            }
        }
    }

    /** Σ (y ⊙ R) for a fixed random R: an arbitrary upstream gradient for op y. */
    static Var project(Tape t, Var y, long seed) {
        Var r = random(null, y.rows, y.cols, new Random(seed), 1);
        return t.sum(t.mul(y, r));
    }
}
