package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/** F32: plain little-endian floats. */
final class F32Codec implements BlockCodec {
    static final F32Codec INSTANCE = new F32Codec();

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        MemorySegment.copy(src, Bytes.FLOAT, offset, dst, dstOffset, n);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        MemorySegment.copy(src, srcOffset, dst, Bytes.FLOAT, offset, n);
    }
}
