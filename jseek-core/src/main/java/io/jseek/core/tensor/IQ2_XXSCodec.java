package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ2_XXS, 2.06 bits a value: super-blocks of 256 = f16 d @0, then per 32-value sub-block 8 bytes @2: four
 * grid indices (bytes 0–3, one point of {@link IqGrid#IQ2_XXS} per group of 8) and a u32 (bytes 4–7) of
 * four 7-bit sign fields (bits 7l..7l+6 for group l, eighth sign by parity) and a 4-bit scale s in bits
 * 28–31; the sub-block's scale is d · (0.5 + s) · 0.25.
 */
final class IQ2_XXSCodec extends IqCodec {
    static final IQ2_XXSCodec INSTANCE = new IQ2_XXSCodec();

    private IQ2_XXSCodec() {
        super(IqGrid.IQ2_XXS, 66, false, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            long v = src.get(Bytes.LONG, o + 2 + 8L * sub);
            int aux = (int) (v >>> 32);
            float db = d * (0.5f + (aux >>> 28)) * 0.25f;
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[k] = (int) (v >>> 8 * l) & 0xFF;
                g.signs[k] = IqGrid.evenSigns(aux >>> 7 * l & 127);
                g.scale[k] = db;
            }
        }
    }


    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /** Per sub-block: one 8-byte read, four points times their signs, scaled, into four accumulator chains. */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F8);
            FloatVector a1 = FloatVector.zero(F8);
            FloatVector a2 = FloatVector.zero(F8);
            FloatVector a3 = FloatVector.zero(F8);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 66L * b;
                float d = Bytes.f16(src, o);
                for (int sub = 0; sub < 8; sub++) {
                    long v = src.get(Bytes.LONG, o + 2 + 8L * sub);
                    int aux = (int) (v >>> 32);
                    FloatVector db = FloatVector.broadcast(F8, d * (0.5f + (aux >>> 28)) * 0.25f);
                    int xi = xOff + QK * b + 32 * sub;
                    a0 = signed8(p, (int) v & 0xFF, IqGrid.EVEN_SIGN_ROWS[aux & 127], db, x, xi, a0);
                    a1 = signed8(p, (int) (v >>> 8) & 0xFF, IqGrid.EVEN_SIGN_ROWS[aux >>> 7 & 127], db, x, xi + 8, a1);
                    a2 = signed8(p, (int) (v >>> 16) & 0xFF, IqGrid.EVEN_SIGN_ROWS[aux >>> 14 & 127], db, x, xi + 16, a2);
                    a3 = signed8(p, (int) (v >>> 24) & 0xFF, IqGrid.EVEN_SIGN_ROWS[aux >>> 21 & 127], db, x, xi + 24, a3);
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
