package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * I32: 32-bit integers — index tables, not weights (DeepSeek-V4's token-id → experts table, {@code ffn_gate_tid2eid}).
 * Decoded to floats, exact for magnitudes below 2^24 (expert and token ids); never multiplied.
 */
final class I32Codec implements BlockCodec {
    static final I32Codec INSTANCE = new I32Codec();

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = src.get(Bytes.INT, offset + 4L * i);
        }
    }
}
