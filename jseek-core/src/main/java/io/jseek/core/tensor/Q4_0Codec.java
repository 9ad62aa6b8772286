package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import io.jseek.core.kernel.LaneSums;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/** Q4_0: blocks of 32 = f16 d @0, 16 bytes of nibbles @2 (byte j: value j low, value j+16 high); value = (q−8)·d. */
final class Q4_0Codec implements BlockCodec, PackedLayout.Packable {
    static final Q4_0Codec INSTANCE = new Q4_0Codec();
    private static final int QK = 32;
    private static final int BYTES = 18;
    /** Float bits of q − 8 for q = 0..15 (the lookup table of the two-row kernel). */
    private static final int[] NIBBLE_FLOAT_BITS = new int[16];

    static {
        for (int q = 0; q < 16; q++) {
            NIBBLE_FLOAT_BITS[q] = Float.floatToIntBits(q - 8);
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        if (VectorApi.USABLE) {
            Lanes.dequantize(src, offset, dst, dstOffset, n);
            return;
        }
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = Bytes.u8(src, o + 2 + j);
                dst[y + j] = ((q & 0x0F) - 8) * d;
                dst[y + j + QK / 2] = ((q >> 4) - 8) * d;
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        return VectorApi.USABLE ? Lanes.dot(src, offset, x, xOff, n) : BlockCodec.super.dot(src, offset, x, xOff, n);
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

    private static final PackedLayout LAYOUT = PackedLayout.nibbles(QK, QK, false, false, 8, 8, new int[] {0, 0},
            i -> i, QK / 2);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = d·(q − 8): D = d, zero point 8; the 16 nibble bytes as they are. */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset);
        out.copyPairs(src, offset + 2);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * ggml's reference quantizer: d = (value of largest magnitude)/−8, q = min(15, trunc(x/d + 8.5)).
     * Produces the same bytes as llama-quantize without an importance matrix.
     */
    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int b = 0; b < n / QK; b++) {
            int x = srcOffset + b * QK;
            long o = offset + (long) b * BYTES;
            float d = Extremes.largest(src, x, QK) / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putF16(dst, o, d);
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(15, (int) (src[x + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (src[x + QK / 2 + j] * id + 8.5f));
                Bytes.putU8(dst, o + 2 + j, q0 | (q1 << 4));
            }
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /** The two-row kernels are written for 16-lane halves of a block: one float vector per 16 values. */
        static final boolean PAIRED = Simd.PARTS == 1;

        static void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
            // Same formula and order as the scalar loop of dequantize: ((q − 8) as float) · d, so the same bits.
            for (int b = 0; b < n / QK; b++) {
                long o = offset + (long) b * BYTES;
                FloatVector d = FloatVector.broadcast(Simd.F, Bytes.f16(src, o));
                ByteVector q = Simd.load16(src, o + 2);
                int y = dstOffset + b * QK;
                for (int part = 0; part < Simd.PARTS; part++) {
                    IntVector qi = Simd.widen(q, part);
                    int yo = y + part * Simd.F.length();
                    Simd.toFloat(qi.and(15).sub(8)).mul(d).intoArray(dst, yo);
                    Simd.toFloat(qi.lanewise(VectorOperators.LSHR, 4).and(15).sub(8)).mul(d).intoArray(dst, yo + 16);
                }
            }
        }

        /** Per block: cut 16 bytes into low and high nibbles minus 8 (in int lanes), FMA with x, scale by d. */
        static float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector acc = FloatVector.zero(Simd.F);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + (long) b * BYTES;
                int xi = xOff + b * QK;
                ByteVector q = Simd.load16(src, o + 2);
                FloatVector block = FloatVector.zero(Simd.F);
                for (int part = 0; part < Simd.PARTS; part++) {
                    IntVector qi = Simd.widen(q, part);
                    int xo = xi + part * Simd.F.length();
                    block = Simd.toFloat(qi.and(15).sub(8)).fma(FloatVector.fromArray(Simd.F, x, xo), block);
                    block = Simd.toFloat(qi.lanewise(VectorOperators.LSHR, 4).and(15).sub(8))
                            .fma(FloatVector.fromArray(Simd.F, x, xo + 16), block);
                }
                acc = block.fma(FloatVector.broadcast(Simd.F, Bytes.f16(src, o)), acc);
            }
            return io.jseek.core.kernel.LaneSums.sum(acc);
        }

        /**
         * As {@link #dot}, two rows at a time (see {@link BlockCodec#dot2}): each 16 floats of x are loaded
         * once and used twice. Written out by hand: a helper taking or returning vectors would, once compiled
         * on its own, be called instead of inlined, and every vector crossing the call would be allocated.
         */
        static void dot2(MemorySegment src, long offset, long rowStride, float[] x, int xOff, int n,
                         float[] y, int yOff, int yStride) {
            // Nibble → (nibble − 8) as float bits, looked up 16 lanes at a time: selectFrom uses each index lane
            // modulo 16, so the low nibble needs no mask and neither needs a subtraction or a conversion.
            IntVector table = IntVector.fromArray(Simd.I, NIBBLE_FLOAT_BITS, 0);
            FloatVector acc0 = FloatVector.zero(Simd.F);
            FloatVector acc1 = FloatVector.zero(Simd.F);
            long o0 = offset;
            long o1 = offset + rowStride;
            int blocks = n / QK;
            for (int b = 0; b < blocks; b++) {
                int xi = xOff + b * QK;
                FloatVector x0 = FloatVector.fromArray(Simd.F, x, xi);
                FloatVector x1 = FloatVector.fromArray(Simd.F, x, xi + 16);
                IntVector q0 = Simd.widen(Simd.load16(src, o0 + 2), 0);
                IntVector q1 = Simd.widen(Simd.load16(src, o1 + 2), 0);
                FloatVector s0 = q0.selectFrom(table).reinterpretAsFloats().mul(x0);
                FloatVector s1 = q1.selectFrom(table).reinterpretAsFloats().mul(x0);
                s0 = q0.lanewise(VectorOperators.ASHR, 4).selectFrom(table).reinterpretAsFloats().fma(x1, s0);
                s1 = q1.lanewise(VectorOperators.ASHR, 4).selectFrom(table).reinterpretAsFloats().fma(x1, s1);
                acc0 = s0.fma(FloatVector.broadcast(Simd.F, Bytes.f16(src, o0)), acc0);
                acc1 = s1.fma(FloatVector.broadcast(Simd.F, Bytes.f16(src, o1)), acc1);
                o0 += BYTES;
                o1 += BYTES;
            }
            y[yOff] = io.jseek.core.kernel.LaneSums.sum(acc0);
            y[yOff + yStride] = io.jseek.core.kernel.LaneSums.sum(acc1);
        }

        /**
         * Two rows times four tokens (see {@link BlockCodec#dot2x4}): each block of both rows is nibbles looked up and scaled
         * once, each 16 floats of a token's x loaded once for both rows; 16 accumulators, one FMA per chain per
         * block (two chained FMAs per block were latency-bound). Written out by hand for the same reason as
         * {@link #dot2}: vectors must not cross calls or live in arrays.
         */
        static void dot2x4(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                           float[][] ys, int yOff, int yStride) {
            IntVector table = IntVector.fromArray(Simd.I, NIBBLE_FLOAT_BITS, 0);
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
                IntVector q0 = Simd.widen(Simd.load16(src, o0 + 2), 0);
                IntVector q1 = Simd.widen(Simd.load16(src, o1 + 2), 0);
                FloatVector d0 = FloatVector.broadcast(Simd.F, Bytes.f16(src, o0));
                FloatVector d1 = FloatVector.broadcast(Simd.F, Bytes.f16(src, o1));
                FloatVector lo0 = q0.selectFrom(table).reinterpretAsFloats().mul(d0);
                FloatVector hi0 = q0.lanewise(VectorOperators.ASHR, 4).selectFrom(table).reinterpretAsFloats().mul(d0);
                FloatVector lo1 = q1.selectFrom(table).reinterpretAsFloats().mul(d1);
                FloatVector hi1 = q1.lanewise(VectorOperators.ASHR, 4).selectFrom(table).reinterpretAsFloats().mul(d1);
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
            // boxing every vector (as in Q8_0Codec.dot2x4).
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
    }
}
