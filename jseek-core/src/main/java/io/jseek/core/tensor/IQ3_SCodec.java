package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ3_S, 3.44 bits a value: super-blocks of 256 = f16 d @0, 64 index bytes @2 (low 8 bits of two 9-bit
 * indices into {@link IqGrid#IQ3_S} per group of 8), 8 bytes @66 of ninth bits (one byte per sub-block of
 * 32, bit i for its i-th point), 32 sign bytes @74 (all 8 signs of a group), 4 scale bytes @106 (sub-block
 * 2i the low nibble c of byte i, 2i + 1 the high; scale d · (1 + 2c)).
 */
final class IQ3_SCodec extends IqCodec {
    static final IQ3_SCodec INSTANCE = new IQ3_SCodec();

    private IQ3_SCodec() {
        super(IqGrid.IQ3_S, 110, false, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            float db = d * (1 + 2 * (Bytes.u8(src, o + 106 + sub / 2) >> 4 * (sub % 2) & 0x0F));
            int qh = Bytes.u8(src, o + 66 + sub);
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[2 * k] = Bytes.u8(src, o + 2 + 2L * k) | (qh >> 2 * l & 1) << 8;
                g.point[2 * k + 1] = Bytes.u8(src, o + 3 + 2L * k) | (qh >> 2 * l + 1 & 1) << 8;
                g.signs[k] = Bytes.u8(src, o + 74 + k);
                g.scale[k] = db;
            }
        }
    }


    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /** Per sub-block: an 8-byte read of its indices, a u32 of signs, its ninth bits and scale; as IQ3_XXS. */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F4);
            FloatVector a1 = FloatVector.zero(F4);
            FloatVector a2 = FloatVector.zero(F4);
            FloatVector a3 = FloatVector.zero(F4);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 110L * b;
                float d = Bytes.f16(src, o);
                for (int sub = 0; sub < 8; sub++) {
                    long v = src.get(Bytes.LONG, o + 2 + 8L * sub);
                    int qh = Bytes.u8(src, o + 66 + sub);
                    int sg = Bytes.u32(src, o + 74 + 4L * sub);
                    FloatVector db = FloatVector.broadcast(F4, d * (1 + 2 * (Bytes.u8(src, o + 106 + sub / 2) >> 4 * (sub % 2) & 0x0F)));
                    int xi = xOff + QK * b + 32 * sub;
                    for (int l = 0; l < 4; l += 2) {
                        int q = (int) (v >>> 16 * l);
                        int h = qh >> 2 * l;
                        int s0 = 8 * (sg >>> 8 * l & 0xFF);
                        int s1 = 8 * (sg >>> 8 * l + 8 & 0xFF);
                        a0 = signed4(p, q & 0xFF | (h & 1) << 8, s0, db, x, xi + 8 * l, a0);
                        a1 = signed4(p, q >>> 8 & 0xFF | (h >> 1 & 1) << 8, s0 + 4, db, x, xi + 8 * l + 4, a1);
                        a2 = signed4(p, q >>> 16 & 0xFF | (h >> 2 & 1) << 8, s1, db, x, xi + 8 * l + 8, a2);
                        a3 = signed4(p, q >>> 24 | (h >> 3 & 1) << 8, s1 + 4, db, x, xi + 8 * l + 12, a3);
                    }
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
