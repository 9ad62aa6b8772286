package io.jseek.train;

/** The dense products the tape needs, row-major, in double precision. */
final class Linalg {
    private Linalg() {
    }

    /** y[t×n] = x[t×k] · w[n×k]ᵀ. */
    static void mulT(double[] x, double[] w, double[] y, int t, int k, int n) {
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                int xo = i * k;
                int wo = j * k;
                for (int c = 0; c < k; c++) {
                    s += x[xo + c] * w[wo + c];
                }
                y[i * n + j] = s;
            }
        }
    }

    /** dx[t×k] += dy[t×n] · w[n×k]. */
    static void mulAdd(double[] dy, double[] w, double[] dx, int t, int n, int k) {
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                double g = dy[i * n + j];
                if (g == 0) {
                    continue;
                }
                int wo = j * k;
                int xo = i * k;
                for (int c = 0; c < k; c++) {
                    dx[xo + c] += g * w[wo + c];
                }
            }
        }
    }

    /** dw[n×k] += dy[t×n]ᵀ · x[t×k]. */
    static void mulTransAdd(double[] dy, double[] x, double[] dw, int t, int n, int k) {
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                double g = dy[i * n + j];
                if (g == 0) {
                    continue;
                }
                int wo = j * k;
                int xo = i * k;
                for (int c = 0; c < k; c++) {
                    dw[wo + c] += g * x[xo + c];
                }
            }
        }
    }
}
