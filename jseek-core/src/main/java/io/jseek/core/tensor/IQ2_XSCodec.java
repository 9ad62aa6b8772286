package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ2_XS, 2.31 bits a value: super-blocks of 256 = f16 d @0, 32 u16 @2 (one per group of 8: a 9-bit index
 * into {@link IqGrid#IQ2_XS}, then 7 sign bits, eighth by parity), 8 scale bytes @66 (sub-block of 32 s:
 * low nibble for its first 16 values, high nibble for the last 16); a scale nibble c gives d · (0.5 + c) · 0.25.
 */
final class IQ2_XSCodec extends IqCodec {
    static final IQ2_XSCodec INSTANCE = new IQ2_XSCodec();

    private IQ2_XSCodec() {
        super(IqGrid.IQ2_XS, 74, false);
    }

    @Override
    void read(MemorySegment src, long o, Groups g) {
        float d = Bytes.f16(src, o);
        for (int sub = 0; sub < 8; sub++) {
            int sc = Bytes.u8(src, o + 66 + sub);
            for (int l = 0; l < 4; l++) {
                int k = 4 * sub + l;
                int q = Bytes.u16(src, o + 2 + 2L * k);
                g.point[k] = q & 511;
                g.signs[k] = IqGrid.evenSigns(q >>> 9);
                g.scale[k] = d * (0.5f + (sc >> 4 * (l / 2) & 0x0F)) * 0.25f;
            }
        }
    }
}
