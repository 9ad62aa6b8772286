package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * MXFP4 (OCP microscaling, FP4 E2M1 with an E8M0 scale): blocks of 32 = the scale's exponent byte e @0, 16
 * bytes of nibbles @1 (byte j: value j low, value j+16 high); value = {@link #E2M1_DOUBLED}[q] · 2^(e − 128)
 * (the grid doubled, the scale halved, as ggml stores them).
 */
final class MXFP4Codec implements BlockCodec {
    static final MXFP4Codec INSTANCE = new MXFP4Codec();
    /** The 16 FP4 E2M1 values times 2 (so they are integers): sign bit 3, then 0, 0.5, 1, 1.5, 2, 3, 4, 6. */
    static final float[] E2M1_DOUBLED = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    private static final int QK = 32;
    private static final int BYTES = 17;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            // 2^(e − 128): exact for every e, the two smallest as subnormals.
            float d = Math.scalb(1f, Bytes.u8(src, o) - 128);
            nibbles(src, o + 1, 16, d, dst, dstOffset + b * QK);
        }
    }

    /** 2·half values from {@code half} bytes at qs: low nibbles first, then the high ones, times scale. */
    static void nibbles(MemorySegment src, long qs, int half, float scale, float[] dst, int y) {
        for (int j = 0; j < half; j++) {
            int q = Bytes.u8(src, qs + j);
            dst[y + j] = E2M1_DOUBLED[q & 0x0F] * scale;
            dst[y + j + half] = E2M1_DOUBLED[q >> 4] * scale;
        }
    }
}
