package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ4_NL: blocks of 32 = f16 d @0, 16 bytes of nibbles @2 (byte j: value j low, value j+16 high); value =
 * d · {@link #LEVELS}[q], a non-uniform 4-bit grid.
 */
final class IQ4_NLCodec implements BlockCodec {
    static final IQ4_NLCodec INSTANCE = new IQ4_NLCodec();
    /** The 16 levels of the IQ4 types, denser near zero (ggml's {@code kvalues_iq4nl}). */
    static final float[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final int QK = 32;
    private static final int BYTES = 18;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            nibbles(src, o + 2, Bytes.f16(src, o), dst, dstOffset + b * QK);
        }
    }

    /** 32 values from the 16 bytes at {@code qs}: dst[y + j] = scale · LEVELS[low nibble of byte j], dst[y + 16 + j] the high. */
    static void nibbles(MemorySegment src, long qs, float scale, float[] dst, int y) {
        for (int j = 0; j < 16; j++) {
            int q = Bytes.u8(src, qs + j);
            dst[y + j] = scale * LEVELS[q & 0x0F];
            dst[y + j + 16] = scale * LEVELS[q >> 4];
        }
    }
}
