package io.jseek.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Quantizers, checked against ggml's own blocks and ggml's own quantization error on the same source values. */
class QuantizationTest {
    private static final float[] SOURCE = TestData.floats("quants/quant-source.f32");

    private static JsonNode fileOf(GgmlType type) {
        for (JsonNode f : TestData.json("quants/quants.json").get("files")) {
            if (f.get("type").asText().equals(type.name())) {
                return f;
            }
        }
        throw new IllegalArgumentException(type.name());
    }

    /** These use ggml's reference algorithm, so the bytes must equal what llama-quantize writes. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "Q8_0", "Q4_0", "Q5_0"})
    void quantizesToTheSameBytesAsGgml(String name) {
        GgmlType type = GgmlType.valueOf(name);
        JsonNode file = fileOf(type);
        try (GgufFile gguf = GgufFile.open(TestData.file("quants/" + file.get("gguf").asText()));
             Arena arena = Arena.ofConfined()) {
            for (JsonNode t : file.get("tensors")) {
                Tensor ref = gguf.tensor(t.get("name").asText());
                int n = (int) ref.elementCount();
                MemorySegment out = arena.allocate(type.bytesFor(n));
                type.codec().quantize(SOURCE, t.get("source_offset").asInt(), out, 0, n);
                assertEquals(-1, out.mismatch(ref.data()), type + " " + ref.name() + ": first differing byte");
            }
        }
    }

    /** Our K-quantizers are simpler than ggml's searched ones: their error may be at most 1.5x ggml's. */
    @ParameterizedTest
    @ValueSource(strings = {"Q4_K", "Q6_K"})
    void quantizationErrorIsCloseToGgmls(String name) {
        GgmlType type = GgmlType.valueOf(name);
        for (JsonNode t : fileOf(type).get("tensors")) {
            String tensor = t.get("name").asText();
            if (tensor.equals("edge.weight")) {
                continue; // pathological rows; covered by the round-trip check below
            }
            int n = t.get("n_elements").asInt();
            int off = t.get("source_offset").asInt();
            float[] back = roundTrip(type, off, n);
            double rms = rms(back, off, n);
            double ggml = t.get("rms_error_vs_source").asDouble();
            assertTrue(rms <= 1.5 * ggml, String.format("%s %s: rms error %.6g vs ggml's %.6g", type, tensor, rms, ggml));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void quantizedValuesStayWithinHalfAStepOfTheSource(String name) {
        GgmlType type = GgmlType.valueOf(name);
        int n = 8192; // gauss.weight: realistic weights, rows of 1024 with std 0.006 .. 0.2
        float[] back = roundTrip(type, 0, n);
        double relBound = switch (type) {
            case F16 -> 1e-3;
            case BF16 -> 1e-2;
            case Q8_0 -> 1.5e-2;
            case Q6_K -> 6e-2;
            default -> 0.25;
        };
        for (int row = 0; row < 8; row++) {
            double maxAbs = 0;
            double maxErr = 0;
            for (int j = 0; j < 1024; j++) {
                maxAbs = Math.max(maxAbs, Math.abs(SOURCE[row * 1024 + j]));
                maxErr = Math.max(maxErr, Math.abs(back[row * 1024 + j] - SOURCE[row * 1024 + j]));
            }
            assertTrue(maxErr <= relBound * maxAbs, String.format("%s row %d: max error %.4g for max |x| %.4g", type, row, maxErr, maxAbs));
        }
    }

    private static float[] roundTrip(GgmlType type, int off, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(type.bytesFor(n));
            type.codec().quantize(SOURCE, off, q, 0, n);
            float[] back = new float[n];
            type.codec().dequantize(q, 0, back, 0, n);
            return back;
        }
    }

    private static double rms(float[] back, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double d = back[i] - SOURCE[off + i];
            s += d * d;
        }
        return Math.sqrt(s / n);
    }
}
