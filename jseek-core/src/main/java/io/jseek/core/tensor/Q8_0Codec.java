package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import io.jseek.core.kernel.LaneSums;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

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

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (VectorApi.USABLE) {
            return Lanes.dot(src, offset, x, xOff, n);
        }
        // The vector kernel's order: per block Σ q·x (here in four chains), then times d.
        float acc = 0;
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            int xi = xOff + b * QK;
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            for (int j = 0; j < QK; j += 4) {
                s0 += Bytes.i8(src, o + 2 + j) * x[xi + j];
                s1 += Bytes.i8(src, o + 3 + j) * x[xi + j + 1];
                s2 += Bytes.i8(src, o + 4 + j) * x[xi + j + 2];
                s3 += Bytes.i8(src, o + 5 + j) * x[xi + j + 3];
            }
            acc += ((s0 + s1) + (s2 + s3)) * Bytes.f16(src, o);
        }
        return acc;
    }

    @Override
    public void dot2(MemorySegment src, long offset, long rowStride, float[] x, int xOff, int n,
                     float[] y, int yOff, int yStride) {
        if (VectorApi.USABLE && Lanes.PAIRED) {
            Lanes.dot2(src, offset, rowStride, x, xOff, n, y, yOff, yStride);
        } else {
            BlockCodec.super.dot2(src, offset, rowStride, x, xOff, n, y, yOff, yStride);
        }
    }

    @Override
    public void dot2x4(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                       float[][] ys, int yOff, int yStride) {
        if (VectorApi.USABLE && Lanes.PAIRED) {
            Lanes.dot2x4(src, offset, rowStride, n, xs, xOff, ys, yOff, yStride);
        } else {
            BlockCodec.super.dot2x4(src, offset, rowStride, n, xs, xOff, ys, yOff, yStride);
        }
    }

    @Override
    public boolean hasDot2x4() {
        return VectorApi.USABLE && Lanes.PAIRED;
    }

    @Override
    public void dot2x2(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                       float[][] ys, int yOff, int yStride) {
        if (VectorApi.USABLE && Lanes.PAIRED) {
            Lanes.dot2x2(src, offset, rowStride, n, xs, xOff, ys, yOff, yStride);
        } else {
            BlockCodec.super.dot2x2(src, offset, rowStride, n, xs, xOff, ys, yOff, yStride);
        }
    }

    @Override
    public boolean hasDot2x2() {
        return VectorApi.USABLE && Lanes.PAIRED;
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
            float amax = Extremes.maxAbs(src, x, QK);
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putF16(dst, o, d);
            for (int j = 0; j < QK; j++) {
                Bytes.putU8(dst, o + 2 + j, Bytes.roundf(src[x + j] * id));
            }
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /** The two-row kernels are written for 16-lane halves of a block: one float vector per 16 values. */
        static final boolean PAIRED = Simd.PARTS == 1;

        /** Per block: widen 32 int8 to floats, FMA with x, then scale the block's partial sums by d. */
        static float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
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
            return io.jseek.core.kernel.LaneSums.sum(acc);
        }

        /**
         * As {@link #dot}, two rows at a time (see {@link BlockCodec#dot2}): each 16 floats of x are loaded
         * once and used twice, and the two rows' chains run side by side. Written out by hand: a helper
         * taking or returning vectors would, once compiled on its own, be called instead of inlined, and every
         * vector crossing the call would be allocated. Same operations in the same order as {@link #dot}.
         */
        static void dot2(MemorySegment src, long offset, long rowStride, float[] x, int xOff, int n,
                         float[] y, int yOff, int yStride) {
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
            y[yOff] = io.jseek.core.kernel.LaneSums.sum(acc0);
            y[yOff + yStride] = io.jseek.core.kernel.LaneSums.sum(acc1);
        }

        /**
         * Two rows times four tokens (see {@link BlockCodec#dot2x4}): each block of both rows is bytes converted and scaled
         * once, each 16 floats of a token's x loaded once for both rows; 16 accumulators, one FMA per chain per
         * block (two chained FMAs per block were latency-bound). Written out by hand for the same reason as
         * {@link #dot2}: vectors must not cross calls or live in arrays.
         */
        static void dot2x4(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                           float[][] ys, int yOff, int yStride) {
            float[] x0 = xs[0];
            float[] x1 = xs[1];
            float[] x2 = xs[2];
            float[] x3 = xs[3];
            FloatVector zero = FloatVector.zero(Simd.F);
            FloatVector a0 = zero;
            FloatVector b0 = zero;
            FloatVector c0 = zero;
            FloatVector e0 = zero;
            FloatVector a1 = zero;
            FloatVector b1 = zero;
            FloatVector c1 = zero;
            FloatVector e1 = zero;
            FloatVector a2 = zero;
            FloatVector b2 = zero;
            FloatVector c2 = zero;
            FloatVector e2 = zero;
            FloatVector a3 = zero;
            FloatVector b3 = zero;
            FloatVector c3 = zero;
            FloatVector e3 = zero;
            long o0 = offset;
            long o1 = offset + rowStride;
            int blocks = n / QK;
            for (int b = 0; b < blocks; b++) {
                int xi = xOff + b * QK;
                FloatVector d0 = FloatVector.broadcast(Simd.F, Bytes.f16(src, o0));
                FloatVector d1 = FloatVector.broadcast(Simd.F, Bytes.f16(src, o1));
                FloatVector lo0 = Simd.toFloat(Simd.widen(Simd.load16(src, o0 + 2), 0)).mul(d0);
                FloatVector hi0 = Simd.toFloat(Simd.widen(Simd.load16(src, o0 + 18), 0)).mul(d0);
                FloatVector lo1 = Simd.toFloat(Simd.widen(Simd.load16(src, o1 + 2), 0)).mul(d1);
                FloatVector hi1 = Simd.toFloat(Simd.widen(Simd.load16(src, o1 + 18), 0)).mul(d1);
                FloatVector u0 = FloatVector.fromArray(Simd.F, x0, xi);
                a0 = lo0.fma(u0, a0);
                c0 = lo1.fma(u0, c0);
                FloatVector u1 = FloatVector.fromArray(Simd.F, x1, xi);
                a1 = lo0.fma(u1, a1);
                c1 = lo1.fma(u1, c1);
                FloatVector u2 = FloatVector.fromArray(Simd.F, x2, xi);
                a2 = lo0.fma(u2, a2);
                c2 = lo1.fma(u2, c2);
                FloatVector u3 = FloatVector.fromArray(Simd.F, x3, xi);
                a3 = lo0.fma(u3, a3);
                c3 = lo1.fma(u3, c3);
                FloatVector v0 = FloatVector.fromArray(Simd.F, x0, xi + 16);
                b0 = hi0.fma(v0, b0);
                e0 = hi1.fma(v0, e0);
                FloatVector v1 = FloatVector.fromArray(Simd.F, x1, xi + 16);
                b1 = hi0.fma(v1, b1);
                e1 = hi1.fma(v1, e1);
                FloatVector v2 = FloatVector.fromArray(Simd.F, x2, xi + 16);
                b2 = hi0.fma(v2, b2);
                e2 = hi1.fma(v2, e2);
                FloatVector v3 = FloatVector.fromArray(Simd.F, x3, xi + 16);
                b3 = hi0.fma(v3, b3);
                e3 = hi1.fma(v3, e3);
                o0 += BYTES;
                o1 += BYTES;
            }
            // The eight lane sums folded side by side, in LaneSums.sum's order (upper half onto lower half): C2 inlines
            // no further call into a kernel this size, and LaneSums.sum called with a vector was compiled on its own,
            // boxing every vector (most of a 2-token pass's time on the embedded model).
            FloatVector s0 = a0.add(b0);
            FloatVector s1 = c0.add(e0);
            FloatVector s2 = a1.add(b1);
            FloatVector s3 = c1.add(e1);
            FloatVector s4 = a2.add(b2);
            FloatVector s5 = c2.add(e2);
            FloatVector s6 = a3.add(b3);
            FloatVector s7 = c3.add(e3);
            int w = Simd.F.length();
            for (int h = w / 2; h >= 1; h /= 2) {
                VectorShuffle<Float> half = h == 8 ? LaneSums.F8 : h == 4 ? LaneSums.F4 : h == 2 ? LaneSums.F2 : LaneSums.F1;
                s0 = s0.add(s0.rearrange(half));
                s1 = s1.add(s1.rearrange(half));
                s2 = s2.add(s2.rearrange(half));
                s3 = s3.add(s3.rearrange(half));
                s4 = s4.add(s4.rearrange(half));
                s5 = s5.add(s5.rearrange(half));
                s6 = s6.add(s6.rearrange(half));
                s7 = s7.add(s7.rearrange(half));
            }
            ys[0][yOff] = s0.lane(0);
            ys[0][yOff + yStride] = s1.lane(0);
            ys[1][yOff] = s2.lane(0);
            ys[1][yOff + yStride] = s3.lane(0);
            ys[2][yOff] = s4.lane(0);
            ys[2][yOff + yStride] = s5.lane(0);
            ys[3][yOff] = s6.lane(0);
            ys[3][yOff + yStride] = s7.lane(0);
        }

        /**
         * {@link #dot2x4}'s arithmetic for two tokens (each token's accumulators, FMAs and lane sums exactly as there, so
         * the same bits): a 2-token pass — a speculative verify with one draft — without the two padding tokens' work.
         * Written out by hand for the same reason.
         */
        static void dot2x2(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                           float[][] ys, int yOff, int yStride) {
            float[] x0 = xs[0];
            float[] x1 = xs[1];
            FloatVector zero = FloatVector.zero(Simd.F);
            FloatVector a0 = zero;
            FloatVector b0 = zero;
            FloatVector c0 = zero;
            FloatVector e0 = zero;
            FloatVector a1 = zero;
            FloatVector b1 = zero;
            FloatVector c1 = zero;
            FloatVector e1 = zero;
            long o0 = offset;
            long o1 = offset + rowStride;
            int blocks = n / QK;
            for (int b = 0; b < blocks; b++) {
                int xi = xOff + b * QK;
                FloatVector d0 = FloatVector.broadcast(Simd.F, Bytes.f16(src, o0));
                FloatVector d1 = FloatVector.broadcast(Simd.F, Bytes.f16(src, o1));
                FloatVector lo0 = Simd.toFloat(Simd.widen(Simd.load16(src, o0 + 2), 0)).mul(d0);
                FloatVector hi0 = Simd.toFloat(Simd.widen(Simd.load16(src, o0 + 18), 0)).mul(d0);
                FloatVector lo1 = Simd.toFloat(Simd.widen(Simd.load16(src, o1 + 2), 0)).mul(d1);
                FloatVector hi1 = Simd.toFloat(Simd.widen(Simd.load16(src, o1 + 18), 0)).mul(d1);
                FloatVector u0 = FloatVector.fromArray(Simd.F, x0, xi);
                a0 = lo0.fma(u0, a0);
                c0 = lo1.fma(u0, c0);
                FloatVector u1 = FloatVector.fromArray(Simd.F, x1, xi);
                a1 = lo0.fma(u1, a1);
                c1 = lo1.fma(u1, c1);
                FloatVector v0 = FloatVector.fromArray(Simd.F, x0, xi + 16);
                b0 = hi0.fma(v0, b0);
                e0 = hi1.fma(v0, e0);
                FloatVector v1 = FloatVector.fromArray(Simd.F, x1, xi + 16);
                b1 = hi0.fma(v1, b1);
                e1 = hi1.fma(v1, e1);
                o0 += BYTES;
                o1 += BYTES;
            }
            FloatVector s0 = a0.add(b0);
            FloatVector s1 = c0.add(e0);
            FloatVector s2 = a1.add(b1);
            FloatVector s3 = c1.add(e1);
            int w = Simd.F.length();
            for (int h = w / 2; h >= 1; h /= 2) {
                VectorShuffle<Float> half = h == 8 ? LaneSums.F8 : h == 4 ? LaneSums.F4 : h == 2 ? LaneSums.F2 : LaneSums.F1;
                s0 = s0.add(s0.rearrange(half));
                s1 = s1.add(s1.rearrange(half));
                s2 = s2.add(s2.rearrange(half));
                s3 = s3.add(s3.rearrange(half));
            }
            ys[0][yOff] = s0.lane(0);
            ys[0][yOff + yStride] = s1.lane(0);
            ys[1][yOff] = s2.lane(0);
            ys[1][yOff + yStride] = s3.lane(0);
        }
    }
}
