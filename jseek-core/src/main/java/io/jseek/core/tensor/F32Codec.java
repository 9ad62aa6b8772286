package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** F32: plain little-endian floats. */
final class F32Codec implements BlockCodec {
    static final F32Codec INSTANCE = new F32Codec();

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        MemorySegment.copy(src, Bytes.FLOAT, offset, dst, dstOffset, n);
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (VectorApi.USABLE) {
            return Lanes.dot(src, offset, x, xOff, n);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += src.get(Bytes.FLOAT, offset + 4L * i) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        MemorySegment.copy(src, srcOffset, dst, Bytes.FLOAT, offset, n);
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        static float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector acc = FloatVector.zero(Simd.F);
            int i = 0;
            for (int upper = Simd.F.loopBound(n); i < upper; i += Simd.F.length()) {
                FloatVector w = FloatVector.fromMemorySegment(Simd.F, src, offset + 4L * i, ByteOrder.LITTLE_ENDIAN);
                acc = w.fma(FloatVector.fromArray(Simd.F, x, xOff + i), acc);
            }
            float sum = io.jseek.core.kernel.LaneSums.sum(acc);
            for (; i < n; i++) {
                sum += src.get(Bytes.FLOAT, offset + 4L * i) * x[xOff + i];
            }
            return sum;
        }
    }
}
