package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ2_XS, 2.31 bits a value: super-blocks of 256 = f16 d @0, 32 u16 @2 (one per group of 8: a 9-bit index
 * into {@link IqGrid#IQ2_XS}, then 7 sign bits, eighth by parity), 8 scale bytes @66 (sub-block of 32 s:
 * low nibble for its first 16 values, high nibble for the last 16); a scale nibble c gives d · (0.5 + c) · 0.25.
 */
final class IQ2_XSCodec extends IqCodec {
    static final IQ2_XSCodec INSTANCE = new IQ2_XSCodec();

    private IQ2_XSCodec() {
        super(IqGrid.IQ2_XS, 74, false, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int sc = Bytes.u8(src, o + 66 + sub);
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                int q = Bytes.u16(src, o + 2 + 2L * k);
                g.point[k] = q & 511;
                g.signs[k] = IqGrid.evenSigns(q >>> 9);
                g.scale[k] = d * (0.5f + (sc >> 4 * (l / 2) & 0x0F)) * 0.25f;
            }
        }
    }


    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /** Per sub-block: one 8-byte read of four 16-bit groups and a scale byte; four chains as IQ2_XXS. */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F8);
            FloatVector a1 = FloatVector.zero(F8);
            FloatVector a2 = FloatVector.zero(F8);
            FloatVector a3 = FloatVector.zero(F8);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 74L * b;
                float d = Bytes.f16(src, o);
                for (int sub = 0; sub < 8; sub++) {
                    long v = src.get(Bytes.LONG, o + 2 + 8L * sub);
                    int sc = Bytes.u8(src, o + 66 + sub);
                    FloatVector db1 = FloatVector.broadcast(F8, d * (0.5f + (sc & 0x0F)) * 0.25f);
                    FloatVector db2 = FloatVector.broadcast(F8, d * (0.5f + (sc >> 4)) * 0.25f);
                    int xi = xOff + QK * b + 32 * sub;
                    int q0 = (int) v & 0xFFFF;
                    int q1 = (int) (v >>> 16) & 0xFFFF;
                    int q2 = (int) (v >>> 32) & 0xFFFF;
                    int q3 = (int) (v >>> 48);
                    a0 = signed8(p, q0 & 511, IqGrid.EVEN_SIGN_ROWS[q0 >>> 9], db1, x, xi, a0);
                    a1 = signed8(p, q1 & 511, IqGrid.EVEN_SIGN_ROWS[q1 >>> 9], db1, x, xi + 8, a1);
                    a2 = signed8(p, q2 & 511, IqGrid.EVEN_SIGN_ROWS[q2 >>> 9], db2, x, xi + 16, a2);
                    a3 = signed8(p, q3 & 511, IqGrid.EVEN_SIGN_ROWS[q3 >>> 9], db2, x, xi + 24, a3);
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
