package io.jseek.train;

/**
 * A matrix of {@code rows × cols} doubles in a computation, row-major, with its gradient (allocated on
 * first use). Parameters are Vars that live across steps; every other Var is made by an op of a
 * {@link Tape} and lives for one step.
 */
public final class Var {
    public final int rows;
    public final int cols;
    public final double[] v;
    double[] g;
    /** A parameter's name (its GGUF tensor name), or null. */
    public final String name;

    public Var(String name, int rows, int cols) {
        this(name, rows, cols, new double[Math.multiplyExact(rows, cols)]);
    }

    Var(String name, int rows, int cols, double[] v) {
        if (v.length != rows * cols) {
            throw new IllegalArgumentException(rows + "×" + cols + " needs " + rows * cols + " values, got " + v.length);
        }
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.v = v;
    }

    /** The gradient, allocated (zero) on first use. */
    public double[] grad() {
        if (g == null) {
            g = new double[v.length];
        }
        return g;
    }

    public void zeroGrad() {
        if (g != null) {
            java.util.Arrays.fill(g, 0);
        }
    }

    public int size() {
        return v.length;
    }

    @Override
    public String toString() {
        return (name != null ? name : "var") + "[" + rows + "×" + cols + "]";
    }
}
