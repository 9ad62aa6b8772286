package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** Helpers shared by the K-quant layouts. */
final class KQuants {
    private KQuants() {
    }

    /**
     * The 6-bit scale of sub-block {@code j} (0..7) packed in the 12 bytes at {@code scales}: j < 4:
     * b[j] & 63; j ≥ 4: low 4 bits from b[j+4], high 2 bits from the top of b[j−4]. Used by Q4_K and Q5_K.
     */
    static int scale(MemorySegment src, long scales, int j) {
        return j < 4 ? Bytes.u8(src, scales + j) & 63
                : (Bytes.u8(src, scales + j + 4) & 0xF) | ((Bytes.u8(src, scales + j - 4) >> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j}: j < 4: b[j+4] & 63; j ≥ 4: b[j+4] >> 4 with the top of b[j]. */
    static int min(MemorySegment src, long scales, int j) {
        return j < 4 ? Bytes.u8(src, scales + j + 4) & 63
                : (Bytes.u8(src, scales + j + 4) >> 4) | ((Bytes.u8(src, scales + j) >> 6) << 4);
    }

    /** Packs eight 6-bit scales and mins into the 12-byte layout {@link #scale} and {@link #min} read. */
    static void packScaleMin(int[] sc, int[] m, MemorySegment dst, long scales) {
        for (int j = 0; j < 4; j++) {
            Bytes.putU8(dst, scales + j, (sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
            Bytes.putU8(dst, scales + j + 4, (m[j] & 63) | ((m[j + 4] >> 4) << 6));
            Bytes.putU8(dst, scales + j + 8, (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
    }
}
