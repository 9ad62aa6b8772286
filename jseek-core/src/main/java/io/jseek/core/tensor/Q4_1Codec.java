package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_1: blocks of 32 = f16 d @0, f16 m @2, nibbles @4 (Q4_0 order); value = q·d + m. */
final class Q4_1Codec implements BlockCodec, PackedLayout.Packable {
    static final Q4_1Codec INSTANCE = new Q4_1Codec();
    private static final int QK = 32;
    private static final int BYTES = 20;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float m = Bytes.f16(src, o + 2);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = Bytes.u8(src, o + 4 + j);
                dst[y + j] = (q & 0x0F) * d + m;
                dst[y + j + QK / 2] = (q >> 4) * d + m;
            }
        }
    }

    private static final PackedLayout LAYOUT = PackedLayout.nibbles(QK, QK, false, true, 0, 8, new int[] {0, 0},
            i -> i, QK / 2);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = d·q + m: D = d, M = −m (the sign bit flipped, exact). */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset);
        out.m = (short) (src.get(Bytes.SHORT, offset + 2) ^ 0x8000);
        out.copyPairs(src, offset + 4);
    }
}
