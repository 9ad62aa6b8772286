package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Q5_1: blocks of 32 = f16 d @0, f16 m @2, u32 qh @4, nibbles @8; value = q·d + m (5-bit q as in Q5_0). */
final class Q5_1Codec implements BlockCodec, PackedLayout.Packable {
    static final Q5_1Codec INSTANCE = new Q5_1Codec();
    private static final int QK = 32;
    private static final int BYTES = 24;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float m = Bytes.f16(src, o + 2);
            int qh = Bytes.u32(src, o + 4);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = Bytes.u8(src, o + 8 + j);
                int h0 = ((qh >>> j) << 4) & 0x10;
                int h1 = (qh >>> (j + 12)) & 0x10;
                dst[y + j] = ((q & 0x0F) | h0) * d + m;
                dst[y + j + QK / 2] = ((q >> 4) | h1) * d + m;
            }
        }
    }

    private static final PackedLayout LAYOUT = PackedLayout.bytes(5, QK, QK, false, true, 0);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = d·q + m: D = d, M = −m. */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset);
        out.m = (short) (src.get(Bytes.SHORT, offset + 2) ^ 0x8000);
        Q5_0Codec.unpackFiveBit(src, offset + 4, offset + 8, out);
    }
}
