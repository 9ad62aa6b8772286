package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * IQ1_M, 1.75 bits a value: super-blocks of 256 with no stored f16 of their own = 32 index bytes @0 (low 8
 * bits of an 11-bit index into {@link IqGrid#IQ1} per group of 8), 16 bytes @32 (one nibble per group: 3
 * high index bits, then the sign of its shift ±{@link IQ1_SCodec#DELTA}), 8 bytes @48 read as four u16 (here one u64):
 * 3-bit scales s (scale d · (2s + 1)), one per 16 values, in their low 12 bits, and the f16 d spread over
 * their top nibbles (nibble i of d in the top nibble of u16 i).
 */
final class IQ1_MCodec extends IqCodec {
    static final IQ1_MCodec INSTANCE = new IQ1_MCodec();

    private IQ1_MCodec() {
        super(IqGrid.IQ1, 56, true, VectorApi.USABLE ? Lanes::dot : null);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        long sc = src.get(Bytes.LONG, o + 48);
        int bits = (int) (sc >>> 12 & 0xF | sc >>> 24 & 0xF0 | sc >>> 36 & 0xF00 | sc >>> 48 & 0xF000);
        float d = Float.float16ToFloat((short) bits);
        for (int sub = 0; sub < 8; sub++) {
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                int nibble = Bytes.u8(src, o + 32 + k / 2) >> 4 * (k % 2) & 0x0F;
                int s = (int) (sc >>> 16 * (sub / 2) + 6 * (sub % 2) + 3 * (l / 2)) & 7;
                g.point[k] = Bytes.u8(src, o + k) | (nibble & 7) << 8;
                g.scale[k] = d * (2 * s + 1);
                g.delta[k] = IQ1_SCodec.shift((nibble & 8) << 12);
            }
        }
    }


    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes extends GroupLanes {
        /** Per sub-block: one u32 and one u16 read, four points shifted and scaled (two scales), into four chains. */
        static float dot(float[] p, MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector a0 = FloatVector.zero(F8);
            FloatVector a1 = FloatVector.zero(F8);
            FloatVector a2 = FloatVector.zero(F8);
            FloatVector a3 = FloatVector.zero(F8);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + 56L * b;
                long sc = src.get(Bytes.LONG, o + 48);
                float d = Float.float16ToFloat((short) (sc >>> 12 & 0xF | sc >>> 24 & 0xF0 | sc >>> 36 & 0xF00 | sc >>> 48 & 0xF000));
                for (int sub = 0; sub < 8; sub++) {
                    int qs = Bytes.u32(src, o + 4L * sub);
                    int qh = Bytes.u16(src, o + 32 + 2L * sub);
                    int s = (int) (sc >>> 16 * (sub / 2) + 6 * (sub % 2));
                    FloatVector dl1 = FloatVector.broadcast(F8, d * (2 * (s & 7) + 1));
                    FloatVector dl2 = FloatVector.broadcast(F8, d * (2 * (s >> 3 & 7) + 1));
                    int xi = xOff + QK * b + 32 * sub;
                    a0 = shifted8(p, qs & 0xFF | (qh & 7) << 8, IQ1_SCodec.shift((qh & 0x8) << 12), dl1, x, xi, a0);
                    a1 = shifted8(p, qs >>> 8 & 0xFF | (qh >> 4 & 7) << 8, IQ1_SCodec.shift((qh & 0x80) << 8), dl1, x, xi + 8, a1);
                    a2 = shifted8(p, qs >>> 16 & 0xFF | (qh >> 8 & 7) << 8, IQ1_SCodec.shift((qh & 0x800) << 4), dl2, x, xi + 16, a2);
                    a3 = shifted8(p, qs >>> 24 | (qh >> 12 & 7) << 8, IQ1_SCodec.shift(qh & 0x8000), dl2, x, xi + 24, a3);
                }
            }
            return sum(a0, a1, a2, a3);
        }
    }
}
