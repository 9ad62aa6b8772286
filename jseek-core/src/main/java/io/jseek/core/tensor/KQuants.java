package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Helpers shared by the K-quant layouts. */
final class KQuants {
    private KQuants() {
    }

    /**
     * Scale (low 8 bits) and min (next 8 bits) of sub-block j (0..7) from the 12 scale bytes b, given as
     * three little-endian ints: j < 4: sc = b[j] & 63, m = b[j+4] & 63; j ≥ 4: low 4 bits from b[j+4],
     * high 2 bits from the top of b[j−4] (scale) and b[j] (min). Used by Q4_K and Q5_K.
     */
    static int scaleMin(int s0, int s1, int s2, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = byteOf(s0, s1, s2, j) & 63;
            m = byteOf(s0, s1, s2, j + 4) & 63;
        } else {
            int b = byteOf(s0, s1, s2, j + 4);
            sc = (b & 0xF) | ((byteOf(s0, s1, s2, j - 4) >> 6) << 4);
            m = (b >> 4) | ((byteOf(s0, s1, s2, j) >> 6) << 4);
        }
        return sc | m << 8;
    }

    private static int byteOf(int s0, int s1, int s2, int i) {
        int w = i < 4 ? s0 : i < 8 ? s1 : s2;
        return (w >>> (8 * (i & 3))) & 0xFF;
    }

    /** The eight scales and mins of the 12 bytes at {@code src[scales..]} (the layout {@link #scaleMin} reads). */
    static void unpackScaleMin(MemorySegment src, long scales, byte[] sc, byte[] m) {
        int s0 = Bytes.u32(src, scales);
        int s1 = Bytes.u32(src, scales + 4);
        int s2 = Bytes.u32(src, scales + 8);
        for (int j = 0; j < 8; j++) {
            int sm = scaleMin(s0, s1, s2, j);
            sc[j] = (byte) (sm & 0xFF);
            m[j] = (byte) (sm >> 8);
        }
    }

    /** Packs eight 6-bit scales and mins into the 12-byte layout {@link #scaleMin} reads. */
    static void packScaleMin(int[] sc, int[] m, MemorySegment dst, long scales) {
        for (int j = 0; j < 4; j++) {
            Bytes.putU8(dst, scales + j, (sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
            Bytes.putU8(dst, scales + j + 4, (m[j] & 63) | ((m[j + 4] >> 4) << 6));
            Bytes.putU8(dst, scales + j + 8, (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
    }
}
