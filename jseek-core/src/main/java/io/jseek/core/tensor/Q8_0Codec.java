package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Q8_0: blocks of 32 = f16 scale d @0, int8 qs[32] @2; value = qs[j]·d. */
final class Q8_0Codec implements BlockCodec {
    static final Q8_0Codec INSTANCE = new Q8_0Codec();
    private static final int QK = 32;
    private static final int BYTES = 34;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK; j++) {
                dst[y + j] = Bytes.i8(src, o + 2 + j) * d;
            }
        }
    }

    /** Per block: widen 32 int8 to floats, FMA with x, then scale the block's partial sums by d. */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (!Simd.USABLE) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            int xi = xOff + b * QK;
            FloatVector block = FloatVector.zero(Simd.F);
            for (int half = 0; half < 2; half++) {
                ByteVector q = Simd.load16(src, o + 2 + 16 * half);
                for (int part = 0; part < Simd.PARTS; part++) {
                    int xo = xi + 16 * half + part * Simd.F.length();
                    block = Simd.toFloat(Simd.widen(q, part)).fma(FloatVector.fromArray(Simd.F, x, xo), block);
                }
            }
            acc = block.fma(FloatVector.broadcast(Simd.F, Bytes.f16(src, o)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * As {@link #dot}, two rows at a time (see {@link BlockCodec#dot2}): each 16 floats of x are loaded
     * once and used twice, and the two rows' chains run side by side. Written out by hand: a helper
     * taking or returning vectors would, once compiled on its own, be called instead of inlined, and every
     * vector crossing the call would be allocated. Same operations in the same order as {@link #dot}.
     */
    @Override
    public void dot2(MemorySegment src, long offset, long rowStride, float[] x, int xOff, int n,
                     float[] y, int yOff, int yStride) {
        if (Simd.PARTS != 1) {
            BlockCodec.super.dot2(src, offset, rowStride, x, xOff, n, y, yOff, yStride);
            return;
        }
        FloatVector acc0 = FloatVector.zero(Simd.F);
        FloatVector acc1 = FloatVector.zero(Simd.F);
        long o0 = offset;
        long o1 = offset + rowStride;
        int blocks = n / QK;
        for (int b = 0; b < blocks; b++) {
            int xi = xOff + b * QK;
            FloatVector x0 = FloatVector.fromArray(Simd.F, x, xi);
            FloatVector x1 = FloatVector.fromArray(Simd.F, x, xi + 16);
            FloatVector s0 = Simd.toFloat(Simd.widen(Simd.load16(src, o0 + 2), 0)).mul(x0);
            FloatVector s1 = Simd.toFloat(Simd.widen(Simd.load16(src, o1 + 2), 0)).mul(x0);
            s0 = Simd.toFloat(Simd.widen(Simd.load16(src, o0 + 18), 0)).fma(x1, s0);
            s1 = Simd.toFloat(Simd.widen(Simd.load16(src, o1 + 18), 0)).fma(x1, s1);
            acc0 = s0.fma(FloatVector.broadcast(Simd.F, Bytes.f16(src, o0)), acc0);
            acc1 = s1.fma(FloatVector.broadcast(Simd.F, Bytes.f16(src, o1)), acc1);
            o0 += BYTES;
            o1 += BYTES;
        }
        y[yOff] = acc0.reduceLanes(VectorOperators.ADD);
        y[yOff + yStride] = acc1.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's reference quantizer: d = amax/127, q = roundf(x/d). Produces the same bytes as llama-quantize. */
    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int b = 0; b < n / QK; b++) {
            int x = srcOffset + b * QK;
            long o = offset + (long) b * BYTES;
            float amax = 0;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(src[x + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putF16(dst, o, d);
            for (int j = 0; j < QK; j++) {
                Bytes.putU8(dst, o + 2 + j, Bytes.roundf(src[x + j] * id));
            }
        }
    }
}
