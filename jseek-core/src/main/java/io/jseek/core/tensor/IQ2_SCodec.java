package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ2_S, 2.56 bits a value: super-blocks of 256 = f16 d @0, 32 index bytes @2 (low 8 bits of a 10-bit index
 * into {@link IqGrid#IQ2_S}, one per group of 8), 32 sign bytes @34 (all 8 signs of a group), 8 bytes @66 of
 * high index bits (2 per group, group l of a sub-block at bits 2l), 8 scale bytes @74 as in IQ2_XS.
 */
final class IQ2_SCodec extends IqCodec {
    static final IQ2_SCodec INSTANCE = new IQ2_SCodec();

    private IQ2_SCodec() {
        super(IqGrid.IQ2_S, 82, false, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int sc = Bytes.u8(src, o + 74 + sub);
            int qh = Bytes.u8(src, o + 66 + sub);
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[k] = Bytes.u8(src, o + 2 + k) | (qh >> 2 * l & 3) << 8;
                g.signs[k] = Bytes.u8(src, o + 34 + k);
                g.scale[k] = d * (0.5f + (sc >> 4 * (l / 2) & 0x0F)) * 0.25f;
            }
        }
    }


    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /** Per sub-block: u32 reads of its index bytes and sign bytes, its high bits and scale byte; four chains. */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F8);
            FloatVector a1 = FloatVector.zero(F8);
            FloatVector a2 = FloatVector.zero(F8);
            FloatVector a3 = FloatVector.zero(F8);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 82L * b;
                float d = Bytes.f16(src, o);
                for (int sub = 0; sub < 8; sub++) {
                    int qs = Bytes.u32(src, o + 2 + 4L * sub);
                    int sg = Bytes.u32(src, o + 34 + 4L * sub);
                    int qh = Bytes.u8(src, o + 66 + sub);
                    int sc = Bytes.u8(src, o + 74 + sub);
                    FloatVector db1 = FloatVector.broadcast(F8, d * (0.5f + (sc & 0x0F)) * 0.25f);
                    FloatVector db2 = FloatVector.broadcast(F8, d * (0.5f + (sc >> 4)) * 0.25f);
                    int xi = xOff + QK * b + 32 * sub;
                    a0 = signed8(p, qs & 0xFF | (qh & 3) << 8, 8 * (sg & 0xFF), db1, x, xi, a0);
                    a1 = signed8(p, qs >>> 8 & 0xFF | (qh >> 2 & 3) << 8, 8 * (sg >>> 8 & 0xFF), db1, x, xi + 8, a1);
                    a2 = signed8(p, qs >>> 16 & 0xFF | (qh >> 4 & 3) << 8, 8 * (sg >>> 16 & 0xFF), db2, x, xi + 16, a2);
                    a3 = signed8(p, qs >>> 24 | (qh >> 6) << 8, 8 * (sg >>> 24), db2, x, xi + 24, a3);
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
