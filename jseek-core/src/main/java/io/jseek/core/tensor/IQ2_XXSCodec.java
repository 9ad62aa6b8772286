package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ2_XXS, 2.06 bits a value: super-blocks of 256 = f16 d @0, then per 32-value sub-block 8 bytes @2: four
 * grid indices (bytes 0–3, one point of {@link IqGrid#IQ2_XXS} per group of 8) and a u32 (bytes 4–7) of
 * four 7-bit sign fields (bits 7l..7l+6 for group l, eighth sign by parity) and a 4-bit scale s in bits
 * 28–31; the sub-block's scale is d · (0.5 + s) · 0.25.
 */
final class IQ2_XXSCodec extends IqCodec {
    static final IQ2_XXSCodec INSTANCE = new IQ2_XXSCodec();

    private IQ2_XXSCodec() {
        super(IqGrid.IQ2_XXS, 66, false);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            long q = o + 2 + 8L * sub;
            int aux = Bytes.u32(src, q + 4);
            float db = d * (0.5f + (aux >>> 28)) * 0.25f;
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                g.point[k] = Bytes.u8(src, q + l);
                g.signs[k] = IqGrid.evenSigns(aux >>> 7 * l & 127);
                g.scale[k] = db;
            }
        }
    }
}
