package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ3_S, 3.44 bits a value: super-blocks of 256 = f16 d @0, 64 index bytes @2 (low 8 bits of two 9-bit
 * indices into {@link IqGrid#IQ3_S} per group of 8), 8 bytes @66 of ninth bits (one byte per sub-block of
 * 32, bit i for its i-th point), 32 sign bytes @74 (all 8 signs of a group), 4 scale bytes @106 (sub-block
 * 2i the low nibble c of byte i, 2i + 1 the high; scale d · (1 + 2c)).
 */
final class IQ3_SCodec extends IqCodec {
    static final IQ3_SCodec INSTANCE = new IQ3_SCodec();

    private IQ3_SCodec() {
        super(IqGrid.IQ3_S, 110, false);
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
}
