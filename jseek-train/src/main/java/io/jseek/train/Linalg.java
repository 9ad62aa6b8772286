package io.jseek.train;

import io.jseek.core.VectorApi;
import java.util.stream.IntStream;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dense products the tape needs, row-major, in double precision: SIMD (Vector API) or scalar inner loops,
 * rows split over the common fork-join pool when a product is large enough to pay for it. Matrices are
 * given as (array, offset) so that slices of stacked expert weights need no copies.
 */
final class Linalg {
    /** Below this many multiply-adds a product runs on the calling thread. */
    private static final long PARALLEL_WORK = 1 << 16;

    private Linalg() {
    }

    private static IntStream range(int n, long work) {
        IntStream s = IntStream.range(0, n);
        return work >= PARALLEL_WORK && n > 1 ? s.parallel() : s;
    }

    /** y[t×n] = x[t×k] · w[n×k]ᵀ. */
    static void mulT(double[] x, double[] w, double[] y, int t, int k, int n) {
        mulT(x, 0, w, 0, y, 0, t, k, n);
    }

    static void mulT(double[] x, int xo, double[] w, int wo, double[] y, int yo, int t, int k, int n) {
        range(t, (long) t * k * n).forEach(i -> {
            if (VectorApi.USABLE) {
                Lanes.mulTRow(x, xo + i * k, w, wo, y, yo + i * n, k, n);
            } else {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int c = 0; c < k; c++) {
                        sum += x[xo + i * k + c] * w[wo + j * k + c];
                    }
                    y[yo + i * n + j] = sum;
                }
            }
        });
    }

    /** dx[t×k] += dy[t×n] · w[n×k]. */
    static void mulAdd(double[] dy, double[] w, double[] dx, int t, int n, int k) {
        mulAdd(dy, 0, w, 0, dx, 0, t, n, k);
    }

    static void mulAdd(double[] dy, int dyo, double[] w, int wo, double[] dx, int dxo, int t, int n, int k) {
        range(t, (long) t * k * n).forEach(i -> accumulate(dx, dxo + i * k, k, n, j -> dy[dyo + i * n + j], w, wo));
    }

    /** dw[n×k] += dy[t×n]ᵀ · x[t×k]. */
    static void mulTransAdd(double[] dy, double[] x, double[] dw, int t, int n, int k) {
        mulTransAdd(dy, 0, x, 0, dw, 0, t, n, k);
    }

    static void mulTransAdd(double[] dy, int dyo, double[] x, int xo, double[] dw, int dwo, int t, int n, int k) {
        range(n, (long) t * k * n).forEach(j -> accumulate(dw, dwo + j * k, k, t, i -> dy[dyo + i * n + j], x, xo));
    }

    /** out[o, o+k) += Σ_r coef(r) · m[mo + r·k, +k) for r < rows. */
    private static void accumulate(double[] out, int o, int k, int rows, java.util.function.IntToDoubleFunction coef,
                                   double[] m, int mo) {
        if (VectorApi.USABLE) {
            Lanes.accumulate(out, o, k, rows, coef, m, mo);
            return;
        }
        for (int c = 0; c < k; c++) {
            double s = out[o + c];
            for (int r = 0; r < rows; r++) {
                s += coef.applyAsDouble(r) * m[mo + r * k + c];
            }
            out[o + c] = s;
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

        /** Row i of y = x·wᵀ: x's row at xi, y's at yRow; four columns of w at a time. */
        static void mulTRow(double[] x, int xi, double[] w, int wo, double[] y, int yRow, int k, int n) {
            int j = 0;
            for (; j + 4 <= n; j += 4) {
                int w0 = wo + j * k;
                DoubleVector a0 = DoubleVector.zero(D);
                DoubleVector a1 = a0;
                DoubleVector a2 = a0;
                DoubleVector a3 = a0;
                int c = 0;
                for (; c + D.length() <= k; c += D.length()) {
                    DoubleVector xv = DoubleVector.fromArray(D, x, xi + c);
                    a0 = xv.fma(DoubleVector.fromArray(D, w, w0 + c), a0);
                    a1 = xv.fma(DoubleVector.fromArray(D, w, w0 + k + c), a1);
                    a2 = xv.fma(DoubleVector.fromArray(D, w, w0 + 2 * k + c), a2);
                    a3 = xv.fma(DoubleVector.fromArray(D, w, w0 + 3 * k + c), a3);
                }
                double s0 = io.jseek.core.kernel.LaneSums.sum(a0);
                double s1 = io.jseek.core.kernel.LaneSums.sum(a1);
                double s2 = io.jseek.core.kernel.LaneSums.sum(a2);
                double s3 = io.jseek.core.kernel.LaneSums.sum(a3);
                for (; c < k; c++) {
                    double xc = x[xi + c];
                    s0 += xc * w[w0 + c];
                    s1 += xc * w[w0 + k + c];
                    s2 += xc * w[w0 + 2 * k + c];
                    s3 += xc * w[w0 + 3 * k + c];
                }
                y[yRow + j] = s0;
                y[yRow + j + 1] = s1;
                y[yRow + j + 2] = s2;
                y[yRow + j + 3] = s3;
            }
            for (; j < n; j++) {
                y[yRow + j] = dot(x, xi, w, wo + j * k, k);
            }
        }

        private static double dot(double[] a, int ao, double[] b, int bo, int k) {
            DoubleVector acc = DoubleVector.zero(D);
            int c = 0;
            for (; c + D.length() <= k; c += D.length()) {
                acc = DoubleVector.fromArray(D, a, ao + c).fma(DoubleVector.fromArray(D, b, bo + c), acc);
            }
            double s = io.jseek.core.kernel.LaneSums.sum(acc);
            for (; c < k; c++) {
                s += a[ao + c] * b[bo + c];
            }
            return s;
        }

        /** out[o, o+k) += Σ_r coef(r) · m[mo + r·k, +k) for r < rows, with the accumulators in registers. */
        static void accumulate(double[] out, int o, int k, int rows, java.util.function.IntToDoubleFunction coef,
                                       double[] m, int mo) {
            int c = 0;
            int step = 4 * D.length();
            for (; c + step <= k; c += step) {
                DoubleVector a0 = DoubleVector.fromArray(D, out, o + c);
                DoubleVector a1 = DoubleVector.fromArray(D, out, o + c + D.length());
                DoubleVector a2 = DoubleVector.fromArray(D, out, o + c + 2 * D.length());
                DoubleVector a3 = DoubleVector.fromArray(D, out, o + c + 3 * D.length());
                for (int r = 0; r < rows; r++) {
                    double g = coef.applyAsDouble(r);
                    if (g == 0) {
                        continue;
                    }
                    DoubleVector gv = DoubleVector.broadcast(D, g);
                    int base = mo + r * k + c;
                    a0 = DoubleVector.fromArray(D, m, base).fma(gv, a0);
                    a1 = DoubleVector.fromArray(D, m, base + D.length()).fma(gv, a1);
                    a2 = DoubleVector.fromArray(D, m, base + 2 * D.length()).fma(gv, a2);
                    a3 = DoubleVector.fromArray(D, m, base + 3 * D.length()).fma(gv, a3);
                }
                a0.intoArray(out, o + c);
                a1.intoArray(out, o + c + D.length());
                a2.intoArray(out, o + c + 2 * D.length());
                a3.intoArray(out, o + c + 3 * D.length());
            }
            for (; c < k; c++) {
                double s = out[o + c];
                for (int r = 0; r < rows; r++) {
                    s += coef.applyAsDouble(r) * m[mo + r * k + c];
                }
                out[o + c] = s;
            }
        }
    }
}
