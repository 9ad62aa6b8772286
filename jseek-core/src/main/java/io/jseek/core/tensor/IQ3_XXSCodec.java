package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ3_XXS, 3.06 bits a value: super-blocks of 256 = f16 d @0, 64 index bytes @2 (two 4-value points of
 * {@link IqGrid#IQ3_XXS} per group of 8), then per 32-value sub-block a u32 @66 with four 7-bit sign fields
 * (eighth sign by parity) and a 4-bit scale s in bits 28–31; the sub-block's scale is d · (0.5 + s) · 0.5.
 */
final class IQ3_XXSCodec extends IqCodec {
    static final IQ3_XXSCodec INSTANCE = new IQ3_XXSCodec();

    private IQ3_XXSCodec() {
        super(IqGrid.IQ3_XXS, 98, false);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int aux = Bytes.u32(src, o + 66 + 4L * sub);
            float db = d * (0.5f + (aux >>> 28)) * 0.5f;
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[2 * k] = Bytes.u8(src, o + 2 + 2L * k);
                g.point[2 * k + 1] = Bytes.u8(src, o + 3 + 2L * k);
                g.signs[k] = IqGrid.evenSigns(aux >>> 7 * l & 127);
                g.scale[k] = db;
            }
        }
    }
}
