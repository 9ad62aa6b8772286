package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q2_K: super-blocks of 256 = scales[16] @0 (low nibble scale, high nibble min), qs[64] @16 (2-bit),
 * f16 d @80, f16 dmin @82. Value 128h + 32j + 16k + l: q = (qs[32h + 16k + l] >> 2j) & 3,
 * sub-block s = 8h + 2j + k → (d·(sc & 15))·q − dmin·(sc >> 4).
 */
final class Q2_KCodec implements BlockCodec {
    static final Q2_KCodec INSTANCE = new Q2_KCodec();
    private static final int QK = 256;
    private static final int BYTES = 84;

    /**
     * Each run of 16 values: with SIMD one 16-byte load, its 2-bit fields cut in int lanes and scaled;
     * otherwise value by value. Both round as dl·q − ml.
     */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o + 80);
            float dmin = Bytes.f16(src, o + 82);
            int y = dstOffset + b * QK;
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 4; j++) {
                    for (int k = 0; k < 2; k++) {
                        int sc = Bytes.u8(src, o + 8 * h + 2 * j + k);
                        float dl = d * (sc & 0xF);
                        float ml = dmin * (sc >> 4);
                        long qs = o + 16 + 32 * h + 16 * k;
                        if (VectorApi.USABLE) {
                            Lanes.run(src, qs, j, dl, ml, dst, y);
                        } else {
                            for (int l = 0; l < 16; l++) {
                                dst[y + l] = dl * ((Bytes.u8(src, qs + l) >> (2 * j)) & 3) - ml;
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
        /** The run of 16 values at qs, field j: dl·q − ml into dst[y..y+16). */
        static void run(MemorySegment src, long qs, int j, float dl, float ml, float[] dst, int y) {
            int lanes = Simd.F.length();
            ByteVector q = Simd.load16(src, qs);
            for (int part = 0; part < Simd.PARTS; part++) {
                IntVector qi = Simd.widen(q, part).lanewise(VectorOperators.LSHR, 2 * j).and(3);
                Simd.toFloat(qi).mul(dl).sub(ml).intoArray(dst, y + part * lanes);
            }
        }
    }
}
