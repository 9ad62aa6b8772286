package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K: super-blocks of 256 = f16 d @0, f16 dmin @2, scales[12] @4 (eight 6-bit scale/min pairs), qs[128]
 * @16. Value 64p + 32k + l, sub-block s = 2p + k: q = (qs[32p + l] >> 4k) & 15 → (d·sc)·q − dmin·m.
 */
final class Q4_KCodec implements BlockCodec {
    static final Q4_KCodec INSTANCE = new Q4_KCodec();
    private static final int QK = 256;
    private static final int BYTES = 144;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float dmin = Bytes.f16(src, o + 2);
            int y = dstOffset + b * QK;
            for (int p = 0; p < 4; p++) {
                for (int k = 0; k < 2; k++) {
                    float dl = d * KQuants.scale(src, o + 4, 2 * p + k);
                    float ml = dmin * KQuants.min(src, o + 4, 2 * p + k);
                    for (int l = 0; l < 32; l++) {
                        int q = (Bytes.u8(src, o + 16 + 32 * p + l) >> (4 * k)) & 0xF;
                        dst[y++] = dl * q - ml;
                    }
                }
            }
        }
    }

    /**
     * Per sub-block s of 32: Σ (d·sc_s·q − dmin·m_s)·x = d·sc_s·Σ q·x − dmin·m_s·Σ x, with the nibbles of 32
     * bytes widened in registers.
     */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        if (!Simd.USABLE) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
        FloatVector acc = FloatVector.zero(Simd.F);
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o);
            float dmin = Bytes.f16(src, o + 2);
            for (int p = 0; p < 4; p++) {
                int xi = xOff + b * QK + 64 * p;
                FloatVector qxLo = FloatVector.zero(Simd.F);
                FloatVector qxHi = FloatVector.zero(Simd.F);
                for (int half = 0; half < 2; half++) {
                    ByteVector q = Simd.load16(src, o + 16 + 32 * p + 16 * half);
                    qxLo = Simd.dot16(q.and((byte) 0x0F), x, xi + 16 * half, qxLo);
                    qxHi = Simd.dot16(q.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F), x, xi + 32 + 16 * half, qxHi);
                }
                FloatVector sumLo = Simd.sum(x, xi, 32, FloatVector.zero(Simd.F));
                FloatVector sumHi = Simd.sum(x, xi + 32, 32, FloatVector.zero(Simd.F));
                int s0 = 2 * p;
                int s1 = 2 * p + 1;
                acc = qxLo.fma(FloatVector.broadcast(Simd.F, d * KQuants.scale(src, o + 4, s0)), acc);
                acc = qxHi.fma(FloatVector.broadcast(Simd.F, d * KQuants.scale(src, o + 4, s1)), acc);
                acc = sumLo.fma(FloatVector.broadcast(Simd.F, -dmin * KQuants.min(src, o + 4, s0)), acc);
                acc = sumHi.fma(FloatVector.broadcast(Simd.F, -dmin * KQuants.min(src, o + 4, s1)), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
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
}
