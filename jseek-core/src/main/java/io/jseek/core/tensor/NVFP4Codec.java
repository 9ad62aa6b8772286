package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * NVFP4: blocks of 64 = four UE4M3 scale bytes @0 (one per 16 values), 32 bytes of FP4 E2M1 nibbles @4; each
 * 16-value group is MXFP4's nibble layout (8 bytes: value j low, value j+8 high) with its own scale.
 */
final class NVFP4Codec implements BlockCodec {
    static final NVFP4Codec INSTANCE = new NVFP4Codec();
    private static final int QK = 64;
    private static final int BYTES = 36;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            for (int g = 0; g < 4; g++) {
                MXFP4Codec.nibbles(src, o + 4 + 8L * g, 8, ue4m3Half(Bytes.u8(src, o + g)), dst, dstOffset + b * QK + 16 * g);
            }
        }
    }

    /**
     * Half of an unsigned E4M3 value (4 exponent bits, bias 7, 3 mantissa bits; 0x7F, its NaN, reads as 0), halved
     * to match the doubled E2M1 grid.
     */
    static float ue4m3Half(int x) {
        if (x == 0 || x == 0x7F) {
            return 0f;
        }
        int exp = x >> 3 & 0x0F;
        int man = x & 7;
        float raw = exp == 0 ? Math.scalb((float) man, -9) : Math.scalb(1f + man / 8f, exp - 7);
        return raw * 0.5f;
    }
}
