package io.jseek.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every fused SIMD dot kernel agrees with the scalar reference decoder followed by a float64 dot product. */
class FusedDotTest {
    @ParameterizedTest
    @ValueSource(strings = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
        "IQ4_NL", "IQ4_XS", "MXFP4", "NVFP4", "TQ1_0", "TQ2_0", "Q1_0", "Q2_0",
        "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S"})
    void fusedDotMatchesDecodeThenDot(String name) {
        GgmlType type = GgmlType.valueOf(name);
        JsonNode file = null;
        for (JsonNode f : TestData.json("quants/quants.json").get("files")) {
            if (f.get("type").asText().equals(name)) {
                file = f;
            }
        }
        if (type == GgmlType.F32) {
            file = null;
        }
        Random rnd = new Random(1);
        if (file == null) {
            // F32 has no reference file: use a quantized copy of random values.
            float[] w = new float[4096];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian();
            }
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                var seg = arena.allocate(type.bytesFor(w.length));
                type.codec().quantize(w, 0, seg, 0, w.length);
                check(new Tensor("w", type, new long[] {1024, 4}, seg), rnd);
            }
            return;
        }
        try (GgufFile g = GgufFile.open(TestData.file("quants/" + file.get("gguf").asText()))) {
            for (Tensor t : g.tensors()) {
                check(t, rnd);
            }
        }
    }

    private static void check(Tensor t, Random rnd) {
        int n = t.rowLength();
        int rows = Math.toIntExact(t.rowCount());
        float[] x = new float[n + 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] row = new float[n];
        double[] exact = new double[rows];
        double[] scale = new double[rows];
        for (int r = 0; r < rows; r++) {
            t.dequantizeRow(r, row);
            for (int i = 0; i < n; i++) {
                exact[r] += (double) row[i] * x[3 + i];
                scale[r] += Math.abs((double) row[i] * x[3 + i]);
            }
            assertClose(t, "dotRow", r, t.dotRow(r, x, 3), exact[r], scale[r]);
        }
        // The two-row kernels, rows half the tensor apart as the matmul pairs them.
        int apart = rows / 2;
        float[] y = new float[rows + 1];
        for (int r = 0; r < apart; r++) {
            t.dotRows2(r, apart, x, 3, y, r + 1);
            assertClose(t, "dotRows2 (first)", r, y[r + 1], exact[r], scale[r]);
            assertClose(t, "dotRows2 (second)", r + apart, y[r + 1 + apart], exact[r + apart], scale[r + apart]);
        }
        // Two rows times four vectors: the first vector is x, the others are x scaled, so their exact
        // products are known without another pass.
        float[][] xs = new float[4][x.length];
        float[][] ys = new float[4][rows + 1];
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < x.length; i++) {
                xs[k][i] = x[i] * (1 << k);
            }
        }
        for (int r = 0; r < apart; r++) {
            t.dotRows2x4(r, apart, xs, 3, ys, r + 1);
            for (int k = 0; k < 4; k++) {
                double f = 1 << k;
                assertClose(t, "dotRows2x4 (first, vector " + k + ")", r, ys[k][r + 1], f * exact[r], f * scale[r]);
                assertClose(t, "dotRows2x4 (second, vector " + k + ")", r + apart, ys[k][r + 1 + apart],
                        f * exact[r + apart], f * scale[r + apart]);
            }
        }
        // Two rows times two vectors: the four-vector kernel's products for those two vectors, bit for bit (a batch
        // of two rounds as the same two tokens in a batch of four).
        float[][] ys2 = new float[2][rows + 1];
        for (int r = 0; r < apart; r++) {
            t.dotRows2x2(r, apart, new float[][] {xs[1], xs[2]}, 3, ys2, r + 1);
            t.dotRows2x4(r, apart, new float[][] {xs[1], xs[2], xs[2], xs[2]}, 3, ys, r + 1);
            for (int k = 0; k < 2; k++) {
                assertEquals(ys[k][r + 1], ys2[k][r + 1], t.type() + " dotRows2x2 (first, vector " + k + ") row " + r);
                assertEquals(ys[k][r + 1 + apart], ys2[k][r + 1 + apart],
                        t.type() + " dotRows2x2 (second, vector " + k + ") row " + r);
            }
        }
    }

    private static void assertClose(Tensor t, String kernel, int r, float fused, double exact, double scale) {
        assertTrue(Math.abs(fused - exact) <= 1e-5 * scale + 1e-30,
                t.type() + " " + t.name() + " " + kernel + " row " + r + ": " + fused + " vs " + exact);
    }
}
