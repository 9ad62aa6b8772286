package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** BF16: the top 16 bits of a float32. */
final class BF16Codec implements BlockCodec {
    static final BF16Codec INSTANCE = new BF16Codec();

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.intBitsToFloat((src.get(Bytes.SHORT, offset + 2L * i) & 0xFFFF) << 16);
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** Round to nearest even, NaN kept quiet, as ggml's GGML_FP32_TO_BF16. */
    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits(src[srcOffset + i]);
            int h;
            if ((bits & 0x7FFFFFFF) > 0x7F800000) {
                h = (bits >>> 16) | 64;
            } else {
                h = (bits + (0x7FFF + ((bits >>> 16) & 1))) >>> 16;
            }
            dst.set(Bytes.SHORT, offset + 2L * i, (short) h);
        }
    }
}
