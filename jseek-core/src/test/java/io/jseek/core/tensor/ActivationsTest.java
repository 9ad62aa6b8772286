package io.jseek.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jseek.core.TestData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Activations are rounded exactly as llama.cpp rounds them before a product with each weight type:
 * against ggml-cpu's own quantizers (from_float then back to floats), bit for bit, on vectors with ties,
 * an all-zero block, tiny and huge values, and blocks holding both +max and −max (testdata/activations).
 */
class ActivationsTest {
    @ParameterizedTest(name = "{0} weights: {1}")
    @CsvSource({"F16, f16", "BF16, bf16", "Q8_0, q8_0", "Q4_0, q8_0", "Q5_1, q8_0", "Q4_K, q8_k", "Q6_K, q8_k"})
    void roundsAsLlamaCpp(String weightType, String format) {
        float[] x = TestData.floats("activations/act-input.f32");
        float[] want = TestData.floats("activations/act-" + format + ".f32");
        float[] got = new float[x.length + 3];
        Activations.round(GgmlType.valueOf(weightType), x, 0, x.length, got, 3);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[3 + i]),
                    weightType + " value " + i + " (" + x[i] + "): " + want[i] + " vs " + got[3 + i]);
        }
    }
}
