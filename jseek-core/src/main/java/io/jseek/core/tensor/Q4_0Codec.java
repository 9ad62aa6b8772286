package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/** Q4_0: blocks of 32 = f16 d @0, 16 bytes of nibbles @2 (byte j: value j low, value j+16 high); value = (q−8)·d. */
final class Q4_0Codec implements BlockCodec {
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
        if (Simd.USABLE) {
            // Same formula and order as the scalar loop below: ((q − 8) as float) · d, so the same bits.
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

    /** Per block: cut 16 bytes into low and high nibbles minus 8 (in int lanes), FMA with x, scale by d. */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (!Simd.USABLE) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
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
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * As {@link #dot}, two rows at a time (see {@link BlockCodec#dot2}): each 16 floats of x are loaded
     * once and used twice. Written out by hand: a helper taking or returning vectors would, once compiled
     * on its own, be called instead of inlined, and every vector crossing the call would be allocated.
     */
    @Override
    public void dot2(MemorySegment src, long offset, long rowStride, float[] x, int xOff, int n,
                     float[] y, int yOff, int yStride) {
        if (Simd.PARTS != 1) {
            BlockCodec.super.dot2(src, offset, rowStride, x, xOff, n, y, yOff, yStride);
            return;
        }
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
        y[yOff] = acc0.reduceLanes(VectorOperators.ADD);
        y[yOff + yStride] = acc1.reduceLanes(VectorOperators.ADD);
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
            float amax = 0;
            float max = 0;
            for (int j = 0; j < QK; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            Bytes.putF16(dst, o, d);
            for (int j = 0; j < QK / 2; j++) {
                int q0 = Math.min(15, (int) (src[x + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (src[x + QK / 2 + j] * id + 8.5f));
                Bytes.putU8(dst, o + 2 + j, q0 | (q1 << 4));
            }
        }
    }
}
