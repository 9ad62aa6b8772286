package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Knows one ggml block layout. The scalar dequantizer is the reference every faster kernel is tested
 * against; it reproduces ggml's {@code to_float} bit for bit (same evaluation order, so signed zeros and
 * subnormal fp16 scales come out the same).
 */
public interface BlockCodec {

    /** Decodes {@code n} values (a whole number of blocks) stored at {@code src[offset..]} into {@code dst[dstOffset..]}. */
    void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n);

    /**
     * Σ_i w[i] · x[xOff + i] over the {@code n} values stored at {@code src[offset..]}: one weight row times
     * one activation vector, decoding each weight byte once in registers. The default decodes into a
     * scratch row first; types on the hot path override it with a fused SIMD kernel.
     */
    default float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        float[] row = Scratch.row(n);
        dequantize(src, offset, row, 0, n);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += row[i] * x[xOff + i];
        }
        return sum;
    }

    /** True when {@link #quantize} is implemented. */
    default boolean canQuantize() {
        return false;
    }

    /** Encodes {@code n} values (a whole number of blocks) from {@code src[srcOffset..]} into {@code dst[offset..]}. */
    default void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no quantizer");
    }
}
