package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;

/**
 * IQ4_XS: super-blocks of 256 = f16 d @0, the 2 high bits of eight 6-bit scales @2 (u16, 2 bits each), their
 * 4 low bits @4 (4 bytes, two per byte, low nibble first), 128 bytes of nibbles @8; sub-block b of 32 is
 * IQ4_NL's layout with scale d · (scale_b − 32).
 */
final class IQ4_XSCodec implements BlockCodec {
    static final IQ4_XSCodec INSTANCE = new IQ4_XSCodec();
    private static final int QK = 256;
    private static final int BYTES = 136;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            for (int sub = 0; sub < 8; sub++) {
                IQ4_NLCodec.nibbles(src, o + 8 + 16L * sub, scale(src, o, sub), dst, dstOffset + b * QK + 32 * sub);
            }
        }
    }

    /** Per 32-value sub-block: IQ4_NL's fused block product ({@link IQ4_NLCodec#blockDot}) times d · (scale − 32). */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (!VectorApi.USABLE) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            for (int sub = 0; sub < 8; sub++) {
                sum += scale(src, o, sub) * IQ4_NLCodec.Lanes.blockDot(src, o + 8 + 16L * sub, x, xOff + b * QK + 32 * sub);
            }
        }
        return sum;
    }

    /** Sub-block {@code sub}'s scale in the super-block at o: d · (its 6-bit scale − 32). */
    private static float scale(MemorySegment src, long o, int sub) {
        int high = Bytes.u8(src, o + 2 + sub / 4) >> 2 * (sub % 4) & 3;
        int low = Bytes.u8(src, o + 4 + sub / 2) >> 4 * (sub % 2) & 0x0F;
        return Bytes.f16(src, o) * ((low | high << 4) - 32);
    }
}
