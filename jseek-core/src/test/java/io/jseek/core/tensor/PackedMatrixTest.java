package io.jseek.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The packed copies of ggml's reference blocks (every packable type; 2-D and 3-D tensors, rows that do not
 * fill a group) decode to exactly ggml's floats, and the integer kernels compute the product with the
 * int8-quantized activation exactly up to float rounding, and the true product within the quantization's
 * own bound.
 */
class PackedMatrixTest {

    private static JsonNode file(String type) {
        for (JsonNode f : TestData.json("quants/quants.json").get("files")) {
            if (f.get("type").asText().equals(type)) {
                return f;
            }
        }
        throw new IllegalArgumentException(type);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void decodesBitIdenticallyToGgml(String type) {
        Assumptions.assumeTrue(PackedMatrix.SUPPORTED, "vectors narrower than 256 bits: nothing is packed");
        JsonNode f = file(type);
        float[] expected = TestData.floats("quants/" + f.get("expected").asText());
        try (GgufFile g = GgufFile.open(TestData.file("quants/" + f.get("gguf").asText())); Arena arena = Arena.ofShared()) {
            int checked = 0;
            for (JsonNode t : f.get("tensors")) {
                Tensor tensor = g.tensor(t.get("name").asText());
                PackedMatrix p = PackedMatrix.allocate(tensor, arena::allocate);
                assertTrue(p.packGroups(0, p.groups()));
                int n = tensor.rowLength();
                int rowsPerMatrix = Math.toIntExact(tensor.dim(1));
                float[] panel = new float[PackedMatrix.GROUP * n];
                int off = t.get("expected_offset").asInt();
                for (long row = 0; row < tensor.rowCount(); row += rowsPerMatrix) {
                    for (int r0 = 0; r0 < rowsPerMatrix; r0 += PackedMatrix.GROUP) {
                        p.decodeGroup(p.groupOf(row + r0), 0, n, panel);
                        for (int r = r0; r < Math.min(rowsPerMatrix, r0 + PackedMatrix.GROUP); r++) {
                            for (int c = 0; c < n; c++) {
                                float want = expected[off + (int) ((row + r) * n) + c];
                                float got = panel[c * PackedMatrix.GROUP + r - r0];
                                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                                        type + " " + tensor.name() + " row " + (row + r) + " column " + c);
                                checked++;
                            }
                        }
                    }
                }
            }
            assertTrue(checked > 0);
        }
    }

    /** Tokens four and two at once (each group unpacked once for them) give each one's one-token result, bit for bit. */
    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void severalTokenKernelsEqualOneTokenKernels(String type) {
        Assumptions.assumeTrue(PackedMatrix.SUPPORTED, "vectors narrower than 256 bits: nothing is packed");
        JsonNode f = file(type);
        Random rnd = new Random(11);
        try (GgufFile g = GgufFile.open(TestData.file("quants/" + f.get("gguf").asText())); Arena arena = Arena.ofShared()) {
            for (JsonNode t : f.get("tensors")) {
                Tensor tensor = g.tensor(t.get("name").asText());
                PackedMatrix p = PackedMatrix.allocate(tensor, arena::allocate);
                assertTrue(p.packGroups(0, p.groups()));
                int n = tensor.rowLength();
                PackedActivation[] a = new PackedActivation[7];
                for (int k = 0; k < a.length; k++) {
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) {
                        x[i] = (float) (rnd.nextGaussian() * (i % 89 == k ? 30 : 1));
                    }
                    a[k] = new PackedActivation();
                    a[k].quantize(x, 0, n, p.layout());
                }
                for (long group = 0; group < p.groups(); group++) {
                    float[][] one = new float[a.length][PackedMatrix.GROUP];
                    float[][] together = new float[a.length][PackedMatrix.GROUP + 5];
                    for (int k = 0; k < a.length; k++) {
                        p.dotGroup(group, a[k], one[k], 0);
                    }
                    p.dotGroup(group, a, a.length, together, 5); // four, two, then one
                    for (int k = 0; k < a.length; k++) {
                        for (int r = 0; r < p.rowsIn(group); r++) {
                            assertEquals(Float.floatToRawIntBits(one[k][r]), Float.floatToRawIntBits(together[k][5 + r]),
                                    type + " " + tensor.name() + " group " + group + " token " + k + " row " + r);
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void integerKernelComputesTheQuantizedActivationProduct(String type) {
        Assumptions.assumeTrue(PackedMatrix.SUPPORTED, "vectors narrower than 256 bits: nothing is packed");
        JsonNode f = file(type);
        Random rnd = new Random(7);
        try (GgufFile g = GgufFile.open(TestData.file("quants/" + f.get("gguf").asText())); Arena arena = Arena.ofShared()) {
            for (JsonNode t : f.get("tensors")) {
                Tensor tensor = g.tensor(t.get("name").asText());
                PackedMatrix p = PackedMatrix.allocate(tensor, arena::allocate);
                assertTrue(p.packGroups(0, p.groups()));
                int n = tensor.rowLength();
                float[] x = new float[n + 2];
                for (int i = 0; i < x.length; i++) {
                    // Heavy tails in a few columns, as real activations have.
                    x[i] = (float) (rnd.nextGaussian() * (i % 97 == 3 ? 20 : 1));
                }
                PackedActivation a = new PackedActivation();
                a.quantize(x, 2, n, p.layout());
                Quantized xq = Quantized.of(x, 2, n, type);
                float[] y = new float[PackedMatrix.GROUP];
                float[] w = new float[n];
                int rowsPerMatrix = Math.toIntExact(tensor.dim(1));
                for (long row = 0; row < tensor.rowCount(); row += rowsPerMatrix) {
                    for (int r0 = 0; r0 < rowsPerMatrix; r0 += PackedMatrix.GROUP) {
                        p.dotGroup(p.groupOf(row + r0), a, y, 0);
                        for (int r = r0; r < Math.min(rowsPerMatrix, r0 + PackedMatrix.GROUP); r++) {
                            tensor.dequantizeRow(row + r, w);
                            double withQuantized = 0;
                            double exact = 0;
                            double scale = 0;
                            double bound = 0;
                            for (int c = 0; c < n; c++) {
                                withQuantized += (double) w[c] * xq.values[c];
                                exact += (double) w[c] * x[2 + c];
                                scale += Math.abs((double) w[c] * xq.values[c]);
                                bound += Math.abs((double) w[c]) * Math.abs(xq.values[c] - x[2 + c]);
                            }
                            withQuantized += xq.minCorrection(tensor, row + r);
                            String where = type + " " + tensor.name() + " row " + (row + r);
                            assertEquals(withQuantized, y[r - r0], 2e-6 * scale + 1e-30, where);
                            assertEquals(exact, y[r - r0], bound + 2e-6 * scale + 1e-30, where + " (true product)");
                        }
                    }
                }
            }
        }
    }

    /**
     * The activation as llama.cpp quantizes it for each type's dot product (ggml-cpu quantize_row_q8_0,
     * q8_1 and q8_K), written from that spec: {@code values} holds d·xq per column; for Q8_1 the min term
     * uses s = f16(d·Σxq) instead of d·Σxq ({@link #minCorrection}).
     */
    record Quantized(double[] values, double[] sCorrection, String type) {
        static Quantized of(float[] x, int off, int n, String type) {
            boolean k = type.endsWith("_K");
            int block = k ? 256 : 32;
            double[] v = new double[n];
            double[] corr = new double[n / block];
            for (int b = 0; b < n / block; b++) {
                float amax = 0;
                float max = 0;
                for (int i = 0; i < block; i++) {
                    float xi = x[off + b * block + i];
                    if (Math.abs(xi) > amax) {
                        amax = Math.abs(xi);
                        max = xi;
                    }
                }
                float d;
                float mul;
                if (k) {
                    mul = amax == 0 ? 0 : -127f / max;
                    d = amax == 0 ? 0 : 1 / mul;
                } else {
                    d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                    mul = amax == 0 ? 0 : 127f / amax;
                }
                int sum = 0;
                for (int i = 0; i < block; i++) {
                    int q = Math.min(127, (int) Math.rint(mul * x[off + b * block + i]));
                    v[b * block + i] = (double) d * q;
                    sum += q;
                }
                float s = Float.float16ToFloat(Float.floatToFloat16(amax / 127f * sum));
                corr[b] = (double) d * sum - s;
            }
            return new Quantized(v, corr, type);
        }

        /**
         * Q4_1/Q5_1 (w = d·q + m): llama.cpp adds m·s per block where Σ w·(d·xq) has m·d·Σxq; the difference
         * m·(s − d·Σxq). Zero for the other types.
         */
        double minCorrection(Tensor t, long row) {
            if (!type.equals("Q4_1") && !type.equals("Q5_1")) {
                return 0;
            }
            double c = 0;
            long rowBytes = t.rowBytes();
            for (int b = 0; b < sCorrection.length; b++) {
                float m = Float.float16ToFloat(t.data().get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED,
                        row * rowBytes + (long) b * t.type().blockBytes + 2));
                c -= m * sCorrection[b];
            }
            return c;
        }
    }
}
