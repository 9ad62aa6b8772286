package io.jseek.core.tensor;

/**
 * Activations as llama.cpp feeds them to a matrix product: ggml-cpu first converts the activation to the
 * weight type's {@code vec_dot_type} — F16 for F16 weights, BF16 for BF16, Q8_0 (and Q8_1, whose values
 * are the same) for the 32-value types, Q8_K for the K types — and multiplies by that. Rounding the
 * activation the same way makes every product here llama.cpp's up to the order of float additions
 * (docs/architecture.md, "Same numbers as llama.cpp").
 *
 * <p>The quantizers follow ggml-cpu's {@code quantize_row_q8_0} (AVX: d = max|x|/127 stored as f16,
 * xq = rint(x·127/max|x|)) and {@code quantize_row_q8_K_ref} (m the first value of largest magnitude,
 * iscale = −127/m, xq = min(127, rint(iscale·x)), d = 1/iscale).
 */
public final class Activations {
    private Activations() {
    }

    /** The activation format llama.cpp multiplies weights of each type by. */
    enum Format { F32, F16, BF16, Q8_0, Q8_K }

    static Format format(GgmlType type) {
        return switch (type) {
            case F16 -> Format.F16;
            case BF16 -> Format.BF16;
            case Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4, NVFP4, Q1_0, Q2_0 -> Format.Q8_0;
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, TQ1_0, TQ2_0,
                 IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S -> Format.Q8_K;
            default -> Format.F32;
        };
    }

    /** True when activations for weights of {@code type} are used as they are. */
    public static boolean exact(GgmlType type) {
        return format(type) == Format.F32;
    }

    /**
     * out[outOff + i] = x[xOff + i] rounded as llama.cpp rounds activations for weights of {@code type}, for
     * i in [0, n) (n a whole number of the type's blocks). out may be x.
     */
    public static void round(GgmlType type, float[] x, int xOff, int n, float[] out, int outOff) {
        switch (format(type)) {
            case F32 -> System.arraycopy(x, xOff, out, outOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[outOff + i] = Float.float16ToFloat(Float.floatToFloat16(x[xOff + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[outOff + i] = BF16Codec.round(x[xOff + i]);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n; b += 32) {
                    float mul = q8_0Multiplier(x, xOff + b, 32);
                    float d = q8_0Scale(x, xOff + b, 32);
                    for (int i = 0; i < 32; i++) {
                        out[outOff + b + i] = d * q8(mul, x[xOff + b + i]);
                    }
                }
            }
            case Q8_K -> {
                for (int b = 0; b < n; b += 256) {
                    float mul = q8_KMultiplier(x, xOff + b, 256);
                    float d = mul == 0 ? 0 : 1 / mul;
                    for (int i = 0; i < 256; i++) {
                        out[outOff + b + i] = d * q8(mul, x[xOff + b + i]);
                    }
                }
            }
        }
    }

    /**
     * Quantizes x[off, off + n) (n at most 32) as one Q8_0 block, as ggml-cpu quantizes it: the values into
     * q[qOff ..], the scale (f16 bits) returned. Unused values of a short block are 0.
     */
    public static short quantizeQ8_0(float[] x, int off, int n, byte[] q, int qOff) {
        float mul = q8_0Multiplier(x, off, n);
        for (int i = 0; i < 32; i++) {
            q[qOff + i] = i < n ? (byte) q8(mul, x[off + i]) : 0;
        }
        return Float.floatToFloat16(Extremes.maxAbs(x, off, n) / 127f);
    }

    /** Q8_0's d, as stored: f16(max|x|/127). */
    static float q8_0Scale(float[] x, int off, int n) {
        return Float.float16ToFloat(Float.floatToFloat16(Extremes.maxAbs(x, off, n) / 127f));
    }

    /** Q8_0's multiplier 127/max|x| (0 for an all-zero block). */
    static float q8_0Multiplier(float[] x, int off, int n) {
        float amax = Extremes.maxAbs(x, off, n);
        return amax != 0 ? 127f / amax : 0;
    }

    /** Q8_K's iscale = −127/m, m the first value of largest magnitude (0 for an all-zero block). */
    static float q8_KMultiplier(float[] x, int off, int n) {
        float max = Extremes.largest(x, off, n);
        return max == 0 ? 0 : -127f / max;
    }

    /** One quantized value: rint(mul·x), at most 127 (ties to even, as both quantizers round). */
    static int q8(float mul, float x) {
        return Math.min(127, (int) Math.rint(mul * x));
    }
}
