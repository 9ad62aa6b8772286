package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Helpers shared by the K-quant layouts. */
final class KQuants {
    private KQuants() {
    }

    /**
     * The 6-bit scale (index 0) and min (index 1) of sub-block {@code j} (0..7) packed in the 12 bytes at
     * {@code scales}: s < 4: sc = b[s] & 63, m = b[s+4] & 63; s ≥ 4: low 4 bits from b[s+4], high 2 bits from
     * the top of b[s−4] (scale) and b[s] (min). Used by Q4_K and Q5_K.
     */
    static void scaleMin(MemorySegment src, long scales, int j, int[] out) {
        if (j < 4) {
            out[0] = Bytes.u8(src, scales + j) & 63;
            out[1] = Bytes.u8(src, scales + j + 4) & 63;
        } else {
            out[0] = (Bytes.u8(src, scales + j + 4) & 0xF) | ((Bytes.u8(src, scales + j - 4) >> 6) << 4);
            out[1] = (Bytes.u8(src, scales + j + 4) >> 4) | ((Bytes.u8(src, scales + j) >> 6) << 4);
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
