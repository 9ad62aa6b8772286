package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Q1_0, one sign bit per weight: blocks of 128 = f16 d @0, 16 bytes of bits @2 (value j: bit j % 8 of byte j / 8); value = ±d. */
final class Q1_0Codec implements BlockCodec {
    static final Q1_0Codec INSTANCE = new Q1_0Codec();
    private static final int QK = 128;
    private static final int BYTES = 18;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float negative = -d;
            for (int j = 0; j < QK; j++) {
                dst[dstOffset + b * QK + j] = (Bytes.u8(src, o + 2 + j / 8) >> j % 8 & 1) != 0 ? d : negative;
            }
        }
    }
}
