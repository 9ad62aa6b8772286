package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q3_K: super-blocks of 256 = hmask[32] @0, qs[64] @32 (low 2 bits), scales[12] @96 (16 signed 6-bit
 * scales), f16 d @108. Value 128h + 32j + 16k + l: q = ((qs[32h + 16k + l] >> 2j) & 3) − (bit 4h+j of
 * hmask[16k + l] ? 0 : 4) → (d·scale[8h + 2j + k])·q.
 */
final class Q3_KCodec implements BlockCodec {
    static final Q3_KCodec INSTANCE = new Q3_KCodec();
    private static final int QK = 256;
    private static final int BYTES = 110;

    /** Signed 6-bit scale i: low 4 bits from byte i (i < 8, low nibble) or i − 8 (high nibble), high 2 bits from byte 8 + i % 4. */
    private static int scale(MemorySegment src, long scales, int i) {
        int low = i < 8 ? Bytes.u8(src, scales + i) & 15 : Bytes.u8(src, scales + i - 8) >> 4;
        int high = (Bytes.u8(src, scales + 8 + i % 4) >> (2 * (i / 4))) & 3;
        return (low | high << 4) - 32;
    }

    /**
     * Each run of 16 values: with SIMD two 16-byte loads (low bits, high-bit mask), their fields cut in int
     * lanes, q = low + 4·hbit − 4; otherwise value by value.
     */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o + 108);
            int y = dstOffset + b * QK;
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    for (int k = 0; k < 2; k++) {
                        float dl = d * scale(src, o + 96, 8 * h + 2 * j + k);
                        long qs = o + 32 + 32 * h + 16 * k;
                        long hm = o + 16 * k;
                        if (VectorApi.USABLE) {
                            Lanes.run(src, qs, hm, h, j, dl, dst, y);
                        } else {
                            for (int l = 0; l < 16; l++) {
                                int low = (Bytes.u8(src, qs + l) >> (2 * j)) & 3;
                                int hbit = (Bytes.u8(src, hm + l) >> (4 * h + j)) & 1;
                                dst[y + l] = dl * (low + 4 * hbit - 4);
                            }
                        }
                        y += 16;
                    }
                }
            }
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /** The run of 16 values with low bits at qs (field j) and high bits at hm (bit 4h + j): dl·q into dst[y..y+16). */
        static void run(MemorySegment src, long qs, long hm, int h, int j, float dl, float[] dst, int y) {
            int lanes = Simd.F.length();
            ByteVector low = Simd.load16(src, qs);
            ByteVector high = Simd.load16(src, hm);
            for (int part = 0; part < Simd.PARTS; part++) {
                IntVector l = Simd.widen(low, part).lanewise(VectorOperators.LSHR, 2 * j).and(3);
                IntVector hb = Simd.widen(high, part).lanewise(VectorOperators.LSHR, 4 * h + j).and(1);
                IntVector q = l.add(hb.lanewise(VectorOperators.LSHL, 2)).sub(4);
                Simd.toFloat(q).mul(dl).intoArray(dst, y + part * lanes);
            }
        }
    }
}
