package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** F16: IEEE binary16, converted with round-to-nearest-even like ggml's FP32_TO_FP16. */
final class F16Codec implements BlockCodec {
    static final F16Codec INSTANCE = new F16Codec();

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Bytes.f16(src, offset + 2L * i);
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int i = 0; i < n; i++) {
            Bytes.putF16(dst, offset + 2L * i, src[srcOffset + i]);
        }
    }
}
