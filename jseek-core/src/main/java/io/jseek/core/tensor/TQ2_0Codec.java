package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * TQ2_0, ternary weights at 2 bits: super-blocks of 256 = 64 bytes of 2-bit codes @0, f16 d @64; value =
 * (q − 1) · d. Values run in two halves of 32 bytes: bits 0–1 of each byte, then bits 2–3, 4–5, 6–7.
 */
final class TQ2_0Codec implements BlockCodec {
    static final TQ2_0Codec INSTANCE = new TQ2_0Codec();
    private static final int QK = 256;
    private static final int BYTES = 66;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o + 64);
            int y = dstOffset + b * QK;
            for (int half = 0; half < 2; half++) {
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int m = 0; m < 32; m++) {
                        dst[y++] = ((Bytes.u8(src, o + 32 * half + m) >> shift & 3) - 1) * d;
                    }
                }
            }
        }
    }
}
