package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ3_XXS, 3.06 bits a value: super-blocks of 256 = f16 d @0, 64 index bytes @2 (two 4-value points of
 * {@link IqGrid#IQ3_XXS} per group of 8), then per 32-value sub-block a u32 @66 with four 7-bit sign fields
 * (eighth sign by parity) and a 4-bit scale s in bits 28–31; the sub-block's scale is d · (0.5 + s) · 0.5.
 */
final class IQ3_XXSCodec extends IqCodec {
    static final IQ3_XXSCodec INSTANCE = new IQ3_XXSCodec();

    private IQ3_XXSCodec() {
        super(IqGrid.IQ3_XXS, 98, false, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int aux = Bytes.u32(src, o + 66 + 4L * sub);
            float db = d * (0.5f + (aux >>> 28)) * 0.5f;
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[2 * k] = Bytes.u8(src, o + 2 + 2L * k);
                g.point[2 * k + 1] = Bytes.u8(src, o + 3 + 2L * k);
                g.signs[k] = IqGrid.evenSigns(aux >>> 7 * l & 127);
                g.scale[k] = db;
            }
        }
    }


    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /**
         * Per sub-block: one 8-byte read of its indices and a u32 of signs and scale; each group is two 4-wide
         * points (128-bit vectors) times their signs, scaled, into four accumulator chains.
         */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F4);
            FloatVector a1 = FloatVector.zero(F4);
            FloatVector a2 = FloatVector.zero(F4);
            FloatVector a3 = FloatVector.zero(F4);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 98L * b;
                float d = Bytes.f16(src, o);
                for (int sub = 0; sub < 8; sub++) {
                    long v = src.get(Bytes.LONG, o + 2 + 8L * sub);
                    int aux = Bytes.u32(src, o + 66 + 4L * sub);
                    FloatVector db = FloatVector.broadcast(F4, d * (0.5f + (aux >>> 28)) * 0.5f);
                    int xi = xOff + QK * b + 32 * sub;
                    for (int l = 0; l < 4; l += 2) {
                        int s0 = IqGrid.EVEN_SIGN_ROWS[aux >>> 7 * l & 127];
                        int s1 = IqGrid.EVEN_SIGN_ROWS[aux >>> 7 * l + 7 & 127];
                        int q = (int) (v >>> 16 * l);
                        a0 = signed4(p, q & 0xFF, s0, db, x, xi + 8 * l, a0);
                        a1 = signed4(p, q >>> 8 & 0xFF, s0 + 4, db, x, xi + 8 * l + 4, a1);
                        a2 = signed4(p, q >>> 16 & 0xFF, s1, db, x, xi + 8 * l + 8, a2);
                        a3 = signed4(p, q >>> 24, s1 + 4, db, x, xi + 8 * l + 12, a3);
                    }
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
