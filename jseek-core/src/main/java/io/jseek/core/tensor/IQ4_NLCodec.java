package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * IQ4_NL: blocks of 32 = f16 d @0, 16 bytes of nibbles @2 (byte j: value j low, value j+16 high); value =
 * d · {@link #LEVELS}[q], a non-uniform 4-bit grid.
 */
final class IQ4_NLCodec implements BlockCodec {
    static final IQ4_NLCodec INSTANCE = new IQ4_NLCodec();
    /** The 16 levels of the IQ4 types, denser near zero (ggml's {@code kvalues_iq4nl}). */
    static final float[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    /** The levels as bytes, for looking 16 nibbles up at once. */
    private static final byte[] LEVEL_BYTES = new byte[16];

    static {
        for (int i = 0; i < 16; i++) {
            LEVEL_BYTES[i] = (byte) LEVELS[i];
        }
    }
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

    /** Per block: the fused block product ({@link Lanes#blockDot}) times d. */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (!VectorApi.USABLE) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
        float sum = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            sum += Bytes.f16(src, o) * Lanes.blockDot(src, o + 2, x, xOff + b * QK);
        }
        return sum;
    }

    /** The Vector API kernels (IQ4_XS's too): loaded only when {@link VectorApi#USABLE} (see there). */
    static final class Lanes {
        /**
         * Σ_j LEVELS[q_j]·x[xi + j] over the 32 values whose nibbles are the 16 bytes at qs: the nibbles looked up
         * in byte lanes (16 at a time), widened, multiplied in float lanes. No vector crosses the method's
         * boundary (a vector argument or result of a method C2 does not inline is allocated; docs/architecture.md).
         */
        static float blockDot(MemorySegment src, long qs, float[] x, int xi) {
            ByteVector levels = ByteVector.fromArray(Simd.B16, LEVEL_BYTES, 0);
            ByteVector q = Simd.load16(src, qs);
            ByteVector low = q.and((byte) 0x0F).selectFrom(levels);
            ByteVector high = q.lanewise(VectorOperators.LSHR, 4).selectFrom(levels);
            FloatVector sum = FloatVector.zero(Simd.F);
            for (int part = 0; part < Simd.PARTS; part++) {
                int xo = xi + part * Simd.F.length();
                sum = Simd.toFloat(Simd.widen(low, part)).fma(FloatVector.fromArray(Simd.F, x, xo), sum);
                sum = Simd.toFloat(Simd.widen(high, part)).fma(FloatVector.fromArray(Simd.F, x, xo + 16), sum);
            }
            return io.jseek.core.kernel.LaneSums.sum(sum);
        }
    }
}
