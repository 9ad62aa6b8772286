package io.jseek.core.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.tensor.Activations;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.PackedMatrix;
import io.jseek.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The matmul against a float64 product of the decoded rows and the activation as llama.cpp rounds it for
 * the weight type ({@link Activations}, tested against llama.cpp's own quantizer in ActivationsTest), on shapes that cross every boundary of its
 * blocking: odd row counts (two-row kernel pairs, the leftover row), row panels and token blocks (rows of
 * 4096 values make blocks of 32), register tiles with leftover tokens, the small-batch kernel's groups
 * of four tokens (2, 3, 5 and 8 tokens), one and several threads.
 */
class MatMulTest {
    /** Packed copies: several groups, a last group partly padding, slices of a 3-D tensor; both the integer and the panel path. */
    @ParameterizedTest
    @CsvSource({
        "Q4_0, 512, 70, 1, 1, 2", "Q4_0, 512, 70, 3, 1, 1", "Q4_0, 512, 64, 20, 1, 2", "Q4_K, 1024, 50, 1, 1, 2",
        "Q4_K, 512, 48, 5, 3, 2", "Q4_K, 2560, 33, 40, 1, 2", "Q6_K, 768, 40, 1, 2, 2", "Q6_K, 256, 36, 9, 1, 1",
    })
    void packedMatchesFloat64Product(String typeName, int n, int rows, int tokens, int matrices, int threads) {
        org.junit.jupiter.api.Assumptions.assumeTrue(PackedMatrix.SUPPORTED, "vectors narrower than 256 bits: nothing is packed");
        GgmlType type = GgmlType.valueOf(typeName);
        Random rnd = new Random(n * 31L + rows * 7L + tokens);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            long rowBytes = type.bytesFor(n);
            MemorySegment data = arena.allocate(rowBytes * rows * matrices, 64);
            float[] src = new float[n];
            for (int r = 0; r < rows * matrices; r++) {
                for (int i = 0; i < n; i++) {
                    src[i] = (float) rnd.nextGaussian();
                }
                type.codec().quantize(src, 0, data, r * rowBytes, n);
            }
            Tensor w = new Tensor("w", type, matrices == 1 ? new long[] {n, rows} : new long[] {n, rows, matrices}, data);
            PackedMatrix p = PackedMatrix.allocate(w, arena::allocate);
            pool.forRange(Math.toIntExact(p.groups()), (from, to) -> p.packGroups(from, to));
            float[][] x = new float[tokens][n + 5];
            for (float[] xt : x) {
                for (int i = 0; i < xt.length; i++) {
                    xt[i] = (float) rnd.nextGaussian();
                }
            }
            for (int m = 0; m < matrices; m++) {
                float[][] y = new float[tokens][rows + 3];
                MatMul.mul(pool, (Matrix) p, (long) m * rows, rows, x, 5, tokens, y, 3);
                check(w, (long) m * rows, rows, x, tokens, y);
            }
        }
    }

    /** y against Σ W[first + r]·round(x[t]) in float64, to 1e-5 of Σ |w·x|. */
    private static void check(Tensor w, long first, int rows, float[][] x, int tokens, float[][] y) {
        int n = w.rowLength();
        float[] row = new float[n];
        float[] xr = new float[n];
        for (int t = 0; t < tokens; t++) {
            Activations.round(w.type(), x[t], 5, n, xr, 0);
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(first + r, row);
                double exact = 0;
                double scale = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) row[i] * xr[i];
                    scale += Math.abs((double) row[i] * xr[i]);
                }
                float got = y[t][3 + r];
                assertTrue(Math.abs(got - exact) <= 1e-5 * scale,
                        w.type() + " row " + (first + r) + " token " + t + ": " + got + " vs " + exact);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
        "Q8_0, 4096, 71, 1, 2", "Q4_0, 4096, 71, 1, 2", "Q6_K, 4096, 33, 1, 1", "F32, 4096, 9, 1, 2",
        "Q8_0, 4096, 71, 75, 2", "Q4_0, 4096, 70, 38, 1", "Q4_K, 4096, 37, 5, 2", "F16, 256, 300, 70, 2",
        "Q4_0, 512, 41, 2, 2", "Q4_0, 512, 41, 3, 1", "Q4_0, 256, 40, 5, 2", "Q8_0, 512, 33, 8, 2", "Q8_0, 256, 9, 3, 2",
    })
    void matchesFloat64Product(String typeName, int n, int rows, int tokens, int threads) {
        GgmlType type = GgmlType.valueOf(typeName);
        Random rnd = new Random(n * 31L + rows * 7L + tokens);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            long rowBytes = type.bytesFor(n);
            MemorySegment data = arena.allocate(rowBytes * rows, 64);
            float[] src = new float[n];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < n; i++) {
                    src[i] = (float) rnd.nextGaussian();
                }
                type.codec().quantize(src, 0, data, r * rowBytes, n);
            }
            Tensor w = new Tensor("w", type, new long[] {n, rows}, data);
            float[][] x = new float[tokens][n + 5];
            for (float[] xt : x) {
                for (int i = 0; i < xt.length; i++) {
                    xt[i] = (float) rnd.nextGaussian();
                }
            }
            float[][] y = new float[tokens][rows + 3];
            MatMul.mul(pool, w, 0, rows, x, 5, tokens, y, 3);
            check(w, 0, rows, x, tokens, y);
        }
    }
}
