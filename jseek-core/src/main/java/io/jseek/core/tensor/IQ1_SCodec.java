package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

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
        super(IqGrid.IQ1, 50, true);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int qh = Bytes.u16(src, o + 34 + 2L * sub);
            float dl = d * (2 * (qh >> 12 & 7) + 1);
            float delta = (qh & 0x8000) != 0 ? -DELTA : DELTA;
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[k] = Bytes.u8(src, o + 2 + k) | (qh >> 3 * l & 7) << 8;
                g.scale[k] = dl;
                g.delta[k] = delta;
            }
        }
    }
}
