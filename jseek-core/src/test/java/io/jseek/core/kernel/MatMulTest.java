package io.jseek.core.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The matmul against a float64 product of the decoded rows, on shapes that cross every boundary of its
 * blocking: odd row counts (two-row kernel pairs, the leftover row), row panels and token blocks (rows of
 * 4096 values make blocks of 32), register tiles with leftover tokens, the small-batch kernel's groups
 * of four tokens (2, 3, 5 and 8 tokens), one and several threads.
 */
class MatMulTest {
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
            float[] row = new float[n];
            for (int r = 0; r < rows; r++) {
                w.dequantizeRow(r, row);
                for (int t = 0; t < tokens; t++) {
                    double exact = 0;
                    double scale = 0;
                    for (int i = 0; i < n; i++) {
                        exact += (double) row[i] * x[t][5 + i];
                        scale += Math.abs((double) row[i] * x[t][5 + i]);
                    }
                    float got = y[t][3 + r];
                    assertTrue(Math.abs(got - exact) <= 1e-5 * scale,
                            type + " row " + r + " token " + t + ": " + got + " vs " + exact);
                }
            }
        }
    }
}
