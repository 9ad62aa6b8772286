package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ2_S, 2.56 bits a value: super-blocks of 256 = f16 d @0, 32 index bytes @2 (low 8 bits of a 10-bit index
 * into {@link IqGrid#IQ2_S}, one per group of 8), 32 sign bytes @34 (all 8 signs of a group), 8 bytes @66 of
 * high index bits (2 per group, group l of a sub-block at bits 2l), 8 scale bytes @74 as in IQ2_XS.
 */
final class IQ2_SCodec extends IqCodec {
    static final IQ2_SCodec INSTANCE = new IQ2_SCodec();

    private IQ2_SCodec() {
        super(IqGrid.IQ2_S, 82, false);
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
}
