package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K: super-blocks of 256 = f16 d @0, f16 dmin @2, scales[12] @4 (eight 6-bit scale/min pairs), qs[128]
 * @16. Value 64p + 32k + l, sub-block s = 2p + k: q = (qs[32p + l] >> 4k) & 15 → (d·sc)·q − dmin·m.
 */
final class Q4_KCodec implements BlockCodec, PackedLayout.Packable {
    static final Q4_KCodec INSTANCE = new Q4_KCodec();
    private static final int QK = 256;
    private static final int BYTES = 144;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float dmin = Bytes.f16(src, o + 2);
            int s0 = Bytes.u32(src, o + 4);
            int s1 = Bytes.u32(src, o + 8);
            int s2 = Bytes.u32(src, o + 12);
            int y = dstOffset + b * QK;
            for (int p = 0; p < 4; p++) {
                for (int k = 0; k < 2; k++) {
                    int sm = KQuants.scaleMin(s0, s1, s2, 2 * p + k);
                    float dl = d * (sm & 0xFF);
                    float ml = dmin * (sm >> 8);
                    for (int l = 0; l < 32; l++) {
                        int q = (Bytes.u8(src, o + 16 + 32 * p + l) >> (4 * k)) & 0xF;
                        dst[y++] = dl * q - ml;
                    }
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        return VectorApi.USABLE ? Lanes.dot(src, offset, x, xOff, n) : BlockCodec.super.dot(src, offset, x, xOff, n);
    }

    /** Byte i of the nibble area holds column 64·(i / 32) + i % 32 (low) and 32 more (high); runs are the 32-byte quarters. */
    private static final PackedLayout LAYOUT = PackedLayout.nibbles(QK, 32, true, true, 0, 16,
            new int[] {0, 1, 2, 3, 4, 5, 6, 7}, i -> 64 * (i / 32) + i % 32, 32);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = (d·sc)·q − dmin·m: D = d, M = dmin, the 6-bit scales and mins per sub-block of 32. */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset);
        out.m = src.get(Bytes.SHORT, offset + 2);
        KQuants.unpackScaleMin(src, offset + 4, out.scales, out.mins);
        out.copyPairs(src, offset + 16);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * A straightforward quantizer (not ggml's searched one): each sub-block of 32 maps [min(0, lo), hi] onto
     * 0..15; the sub-block scales and mins are then quantized to 6 bits against the super-block's largest.
     * Its error is close to ggml's; the bytes differ.
     */
    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        float[] scales = new float[8];
        float[] mins = new float[8];
        int[] sc = new int[8];
        int[] m = new int[8];
        for (int b = 0; b < n / QK; b++) {
            int x = srcOffset + b * QK;
            long o = offset + (long) b * BYTES;
            float maxScale = 0;
            float maxMin = 0;
            for (int s = 0; s < 8; s++) {
                float lo = 0;
                float hi = -Float.MAX_VALUE;
                for (int l = 0; l < 32; l++) {
                    lo = Math.min(lo, src[x + 32 * s + l]);
                    hi = Math.max(hi, src[x + 32 * s + l]);
                }
                scales[s] = (hi - lo) / 15;
                mins[s] = -lo;
                maxScale = Math.max(maxScale, scales[s]);
                maxMin = Math.max(maxMin, mins[s]);
            }
            float d = Float.float16ToFloat(Float.floatToFloat16(maxScale / 63));
            float dmin = Float.float16ToFloat(Float.floatToFloat16(maxMin / 63));
            for (int s = 0; s < 8; s++) {
                sc[s] = d > 0 ? Math.min(63, Bytes.roundf(scales[s] / d)) : 0;
                m[s] = dmin > 0 ? Math.min(63, Bytes.roundf(mins[s] / dmin)) : 0;
            }
            Bytes.putF16(dst, o, d);
            Bytes.putF16(dst, o + 2, dmin);
            KQuants.packScaleMin(sc, m, dst, o + 4);
            for (int p = 0; p < 4; p++) {
                for (int l = 0; l < 32; l++) {
                    int q0 = quant(src[x + 64 * p + l], d * sc[2 * p], dmin * m[2 * p]);
                    int q1 = quant(src[x + 64 * p + 32 + l], d * sc[2 * p + 1], dmin * m[2 * p + 1]);
                    Bytes.putU8(dst, o + 16 + 32 * p + l, q0 | (q1 << 4));
                }
            }
        }
    }

    private static int quant(float v, float scale, float min) {
        if (scale == 0) {
            return 0;
        }
        return Math.clamp(Bytes.roundf((v + min) / scale), 0, 15);
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /**
         * Per sub-block s of 32, the weights d·sc_s·q − dmin·m_s are formed in registers (one FMA from the
         * nibbles) and FMA'd with x; nibbles are cut in int lanes.
         */
        static float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
            int lanes = Simd.F.length();
            // Independent accumulators, so consecutive FMAs do not wait on each other.
            FloatVector acc = FloatVector.zero(Simd.F);
            FloatVector acc2 = FloatVector.zero(Simd.F);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + (long) b * BYTES;
                float d = Bytes.f16(src, o);
                float dmin = Bytes.f16(src, o + 2);
                int s0 = Bytes.u32(src, o + 4);
                int s1 = Bytes.u32(src, o + 8);
                int s2 = Bytes.u32(src, o + 12);
                for (int p = 0; p < 4; p++) {
                    int sm0 = KQuants.scaleMin(s0, s1, s2, 2 * p);
                    int sm1 = KQuants.scaleMin(s0, s1, s2, 2 * p + 1);
                    FloatVector a0 = FloatVector.broadcast(Simd.F, d * (sm0 & 0xFF));
                    FloatVector b0 = FloatVector.broadcast(Simd.F, -dmin * (sm0 >> 8));
                    FloatVector a1 = FloatVector.broadcast(Simd.F, d * (sm1 & 0xFF));
                    FloatVector b1 = FloatVector.broadcast(Simd.F, -dmin * (sm1 >> 8));
                    int xi = xOff + b * QK + 64 * p;
                    for (int half = 0; half < 2; half++) {
                        ByteVector q = Simd.load16(src, o + 16 + 32 * p + 16 * half);
                        for (int part = 0; part < Simd.PARTS; part++) {
                            IntVector qi = Simd.widen(q, part);
                            int xo = xi + 16 * half + part * lanes;
                            FloatVector lo = Simd.toFloat(qi.and(15)).fma(a0, b0);
                            FloatVector hi = Simd.toFloat(qi.lanewise(VectorOperators.LSHR, 4).and(15)).fma(a1, b1);
                            acc = lo.fma(FloatVector.fromArray(Simd.F, x, xo), acc);
                            acc2 = hi.fma(FloatVector.fromArray(Simd.F, x, xo + 32), acc2);
                        }
                    }
                }
            }
            return io.jseek.core.kernel.LaneSums.sum(acc.add(acc2));
        }
    }
}
