package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Q2_0: blocks of 64 = f16 d @0, 16 bytes of 2-bit codes @2 (value j: bits 2·(j % 4) of byte j / 4); value = (q − 1) · d. */
final class Q2_0Codec implements BlockCodec {
    static final Q2_0Codec INSTANCE = new Q2_0Codec();
    private static final int QK = 64;
    private static final int BYTES = 18;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            for (int j = 0; j < QK; j++) {
                dst[dstOffset + b * QK + j] = ((Bytes.u8(src, o + 2 + j / 4) >> 2 * (j % 4) & 3) - 1) * d;
            }
        }
    }
}
