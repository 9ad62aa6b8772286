package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ1_S, 1.56 bits a value: super-blocks of 256 = f16 d @0, 32 index bytes @2 (low 8 bits of an 11-bit index
 * into {@link IqGrid#IQ1} per group of 8), per 32-value sub-block a u16 @34: the 3 high index bits of group
 * l at bits 3l, a 3-bit scale s at bits 12–14 (scale d · (2s + 1)) and at bit 15 the sign of the shift
 * ±{@link #DELTA} added to every value of the sub-block.
 */
final class IQ1_SCodec extends IqCodec {
    static final IQ1_SCodec INSTANCE = new IQ1_SCodec();
    /** The shift of the IQ1 types' points (ggml's {@code IQ1S_DELTA}). */
    static final float DELTA = 0.125f;

    private IQ1_SCodec() {
        super(IqGrid.IQ1, 50, true, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int qh = Bytes.u16(src, o + 34 + 2L * sub);
            int qs = Bytes.u32(src, o + 2 + 4L * sub);
            float dl = d * (2 * (qh >> 12 & 7) + 1);
            float delta = shift(qh & 0x8000);
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[k] = qs >>> 8 * l & 0xFF | (qh >> 3 * l & 7) << 8;
                g.scale[k] = dl;
                g.delta[k] = delta;
            }
        }
    }


    /** ±{@link #DELTA} without a branch (the sign bits are random, so a branch would mispredict half the time): − when {@code bit15} is 0x8000. */
    static float shift(int bit15) {
        return Float.intBitsToFloat(Float.floatToRawIntBits(DELTA) | bit15 << 16);
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /** Per sub-block: one u16 and one u32 read, four points shifted and scaled, into four accumulator chains. */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F8);
            FloatVector a1 = FloatVector.zero(F8);
            FloatVector a2 = FloatVector.zero(F8);
            FloatVector a3 = FloatVector.zero(F8);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 50L * b;
                float d = Bytes.f16(src, o);
                for (int sub = 0; sub < 8; sub++) {
                    int qh = Bytes.u16(src, o + 34 + 2L * sub);
                    int qs = Bytes.u32(src, o + 2 + 4L * sub);
                    FloatVector dl = FloatVector.broadcast(F8, d * (2 * (qh >> 12 & 7) + 1));
                    float delta = shift(qh & 0x8000);
                    int xi = xOff + QK * b + 32 * sub;
                    a0 = shifted8(p, qs & 0xFF | (qh & 7) << 8, delta, dl, x, xi, a0);
                    a1 = shifted8(p, qs >>> 8 & 0xFF | (qh >> 3 & 7) << 8, delta, dl, x, xi + 8, a1);
                    a2 = shifted8(p, qs >>> 16 & 0xFF | (qh >> 6 & 7) << 8, delta, dl, x, xi + 16, a2);
                    a3 = shifted8(p, qs >>> 24 | (qh >> 9 & 7) << 8, delta, dl, x, xi + 24, a3);
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
