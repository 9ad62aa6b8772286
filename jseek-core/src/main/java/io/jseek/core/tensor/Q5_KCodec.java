package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q5_K: super-blocks of 256 = f16 d @0, f16 dmin @2, scales[12] @4, qh[32] @16, qs[128] @48; as Q4_K with
 * a fifth bit: q += 16·((qh[l] >> s) & 1) for sub-block s.
 */
final class Q5_KCodec implements BlockCodec, PackedLayout.Packable {
    static final Q5_KCodec INSTANCE = new Q5_KCodec();
    private static final int QK = 256;
    private static final int BYTES = 176;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float dmin = Bytes.f16(src, o + 2);
            int s0 = Bytes.u32(src, o + 4);
            int s1 = Bytes.u32(src, o + 8);
            int s2 = Bytes.u32(src, o + 12);
            int y = dstOffset + b * QK;
            for (int p = 0; p < 4; p++) {
                for (int k = 0; k < 2; k++) {
                    int s = 2 * p + k;
                    int sm = KQuants.scaleMin(s0, s1, s2, s);
                    float dl = d * (sm & 0xFF);
                    float ml = dmin * (sm >> 8);
                    for (int l = 0; l < 32; l++) {
                        int q = (Bytes.u8(src, o + 48 + 32 * p + l) >> (4 * k)) & 0xF;
                        q += ((Bytes.u8(src, o + 16 + l) >> s) & 1) << 4;
                        dst[y++] = dl * q - ml;
                    }
                }
            }
        }
    }

    private static final PackedLayout LAYOUT = PackedLayout.bytes(5, QK, 32, true, true, 0);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = (d·sc)·q − dmin·m: D = d, M = dmin; values q − 16 in natural order. */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset);
        out.m = src.get(Bytes.SHORT, offset + 2);
        KQuants.unpackScaleMin(src, offset + 4, out.scales, out.mins);
        byte[] q = out.values;
        for (int p = 0; p < 4; p++) {
            for (int k = 0; k < 2; k++) {
                for (int l = 0; l < 32; l++) {
                    int v = (Bytes.u8(src, offset + 48 + 32 * p + l) >> (4 * k)) & 0xF;
                    v |= ((Bytes.u8(src, offset + 16 + l) >> (2 * p + k)) & 1) << 4;
                    q[64 * p + 32 * k + l] = (byte) (v - 16);
                }
            }
        }
        out.putValues();
    }
}