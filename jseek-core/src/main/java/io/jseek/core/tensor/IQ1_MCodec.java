package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

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
        super(IqGrid.IQ1, 56, true);
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
                g.delta[k] = (nibble & 8) != 0 ? -IQ1_SCodec.DELTA : IQ1_SCodec.DELTA;
            }
        }
    }
}
