package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * One activation vector quantized for the integer kernels of {@link PackedMatrix} exactly as llama.cpp
 * quantizes it for the weight type's own dot product ({@link Activations}: Q8_0 for Q4_0/Q5_0, Q8_1 —
 * Q8_0's values plus s = f16(d·Σ xq) for the min term — for Q4_1/Q5_1, Q8_K for the K types), so the
 * kernels' integer sums are llama.cpp's.
 *
 * <p>Values are stored two to an int ({@code pairs}), in the layout's kernel order, so a kernel broadcasts
 * one int to give every row its pair of columns; every layout's kernel pairs are pairs of adjacent columns,
 * so the kernel order is a permutation of the natural pairs. {@code sums} holds Σ xq per sub-block
 * (natural order) for the zero-point and min terms. Reused: {@link #quantize} overwrites it.
 */
public final class PackedActivation {
    /** 1.5·2^23: adding it rounds a float of magnitude below 2^22 to an integer, ties to even (ggml's nearest_int). */
    private static final float ROUND = 12582912f;

    int[] pairs = new int[0];
    /** Per superblock: d. */
    float[] scales = new float[0];
    /** Per superblock (Q8_1 only): s. */
    float[] minTerms = new float[0];
    /** Per sub-block: Σ xq. */
    int[] sums = new int[0];
    private int[] values = new int[0];
    private int[] natural = new int[0];

    /** Quantizes {@code x[xOff, xOff + n)} for matrices of {@code layout}. */
    public void quantize(float[] x, int xOff, int n, PackedLayout layout) {
        int sb = layout.superblock();
        int sub = layout.subBlock();
        int blocks = n / sb;
        if (pairs.length < n / 2) {
            pairs = new int[n / 2];
            natural = new int[n / 2];
        }
        if (scales.length < blocks) {
            scales = new float[blocks];
            minTerms = new float[blocks];
        }
        if (sums.length < n / sub) {
            sums = new int[n / sub];
        }
        if (values.length < sb) {
            values = new int[sb];
        }
        int[] pairMap = layout.pairMap();
        boolean k = layout.activation() == PackedLayout.Activation.Q8_K;
        for (int b = 0; b < blocks; b++) {
            int base = xOff + b * sb;
            float mul;
            if (k) {
                mul = Activations.q8_KMultiplier(x, base, sb);
                scales[b] = mul == 0 ? 0 : 1 / mul;
            } else {
                mul = Activations.q8_0Multiplier(x, base, sb);
                scales[b] = Activations.q8_0Scale(x, base, sb);
            }
            round(x, base, sb, mul, values);
            int total = 0;
            for (int j = 0; j < sb / sub; j++) {
                int sum = 0;
                for (int i = j * sub; i < (j + 1) * sub; i++) {
                    sum += values[i];
                }
                sums[b * (sb / sub) + j] = sum;
                total += sum;
            }
            // Q8_1's s = f16(d·Σ xq), d before its own f16 rounding.
            minTerms[b] = Float.float16ToFloat(Float.floatToFloat16(Extremes.maxAbs(x, base, sb) / 127f * total));
            int p = b * (sb / 2);
            for (int i = 0; i < sb / 2; i++) {
                natural[p + i] = (values[2 * i] & 0xFFFF) | values[2 * i + 1] << 16;
            }
            for (int i = 0; i < sb / 2; i++) {
                pairs[p + i] = natural[p + pairMap[i]];
            }
        }
    }

    /** v[i] = min(127, rint(mul·x[off + i])) for i in [0, n), n a multiple of the vector length. */
    private static void round(float[] x, int off, int n, float mul, int[] v) {
        if (VectorApi.USABLE) {
            Lanes.round(x, off, n, mul, v);
            return;
        }
        for (int i = 0; i < n; i++) {
            v[i] = Math.min(127, (Float.floatToRawIntBits(x[off + i] * mul + ROUND) & 0x7FFFFF) - 0x400000);
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

        static void round(float[] x, int off, int n, float mul, int[] v) {
            FloatVector m = FloatVector.broadcast(F, mul);
            for (int i = 0; i < n; i += F.length()) {
                IntVector bits = FloatVector.fromArray(F, x, off + i).mul(m).add(ROUND).reinterpretAsInts();
                bits.and(0x7FFFFF).sub(0x400000).min(127).intoArray(v, i);
            }
        }
    }
}
