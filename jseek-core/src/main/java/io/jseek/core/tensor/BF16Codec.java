package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** BF16: the top 16 bits of a float32. */
final class BF16Codec implements BlockCodec {
    static final BF16Codec INSTANCE = new BF16Codec();

    /** Bulk copy then a plain loop, which the JIT vectorizes. */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        short[] h = Scratch.halves(n);
        MemorySegment.copy(src, Bytes.SHORT, offset, h, 0, n);
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.intBitsToFloat(h[i] << 16);
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int i = 0; i < n; i++) {
            dst.set(Bytes.SHORT, offset + 2L * i, (short) bits(src[srcOffset + i]));
        }
    }

    /** Round to nearest even, NaN kept quiet, as ggml's GGML_FP32_TO_BF16. */
    private static int bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (bits >>> 16) | 64;
        }
        return (bits + (0x7FFF + ((bits >>> 16) & 1))) >>> 16;
    }

    /** {@code f} rounded to BF16 and back. */
    static float round(float f) {
        return Float.intBitsToFloat(bits(f) << 16);
    }
}
