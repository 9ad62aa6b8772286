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

    /** True when {@link #quantize} is implemented. */
    default boolean canQuantize() {
        return false;
    }

    /** Encodes {@code n} values (a whole number of blocks) from {@code src[srcOffset..]} into {@code dst[offset..]}. */
    default void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no quantizer");
    }
}
