package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** F16: IEEE binary16, converted with round-to-nearest-even like ggml's FP32_TO_FP16. */
final class F16Codec implements BlockCodec {
    static final F16Codec INSTANCE = new F16Codec();

    /** Bulk copy then a plain conversion loop, which the JIT compiles to vector conversions (vcvtph2ps). */
    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        short[] h = Scratch.halves(n);
        MemorySegment.copy(src, Bytes.SHORT, offset, h, 0, n);
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(h[i]);
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
