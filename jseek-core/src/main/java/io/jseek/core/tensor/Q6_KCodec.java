package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K: super-blocks of 256 = ql[128] @0 (low 4 bits), qh[64] @128 (high 2 bits), int8 scales[16] @192,
 * f16 d @208. Value 128h + 32g + l: low bits from ql[64h + l] (g = 0 low nibble, g = 2 high) or
 * ql[64h + 32 + l] (g = 1 low, g = 3 high), high bits (qh[32h + l] >> 2g) & 3, q = (low | high << 4) − 32
 * → d·scales[8h + 2g + l/16]·q (evaluated left to right, as ggml does).
 */
final class Q6_KCodec implements BlockCodec, PackedLayout.Packable {
    static final Q6_KCodec INSTANCE = new Q6_KCodec();
    private static final int QK = 256;
    private static final int BYTES = 210;

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int b = 0; b < n / QK; b++) {
            long o = offset + (long) b * BYTES;
            float d = Bytes.f16(src, o + 208);
            int y = dstOffset + b * QK;
            for (int h = 0; h < 2; h++) {
                for (int g = 0; g < 4; g++) {
                    for (int l = 0; l < 32; l++) {
                        int qlByte = Bytes.u8(src, o + 64 * h + 32 * (g & 1) + l);
                        int low = g < 2 ? qlByte & 0xF : qlByte >> 4;
                        int high = (Bytes.u8(src, o + 128 + 32 * h + l) >> (2 * g)) & 3;
                        int q = (low | high << 4) - 32;
                        int sc = Bytes.i8(src, o + 192 + 8 * h + 2 * g + l / 16);
                        dst[y + 128 * h + 32 * g + l] = d * sc * q;
                    }
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        return VectorApi.USABLE ? Lanes.dot(src, offset, x, xOff, n) : BlockCodec.super.dot(src, offset, x, xOff, n);
    }

    private static final PackedLayout LAYOUT = PackedLayout.bytes(6, QK, 16, true, false, 32);

    @Override
    public PackedLayout layout() {
        return LAYOUT;
    }

    /** w = (d·sc)·(q − 32): D = d, the int8 scales, values q − 32 in natural order. */
    @Override
    public void unpack(MemorySegment src, long offset, PackedLayout.Superblock out) {
        out.d = src.get(Bytes.SHORT, offset + 208);
        for (int j = 0; j < 16; j++) {
            out.scales[j] = (byte) Bytes.i8(src, offset + 192 + j);
        }
        byte[] q = out.values;
        for (int h = 0; h < 2; h++) {
            for (int g = 0; g < 4; g++) {
                for (int l = 0; l < 32; l++) {
                    int qlByte = Bytes.u8(src, offset + 64 * h + 32 * (g & 1) + l);
                    int low = g < 2 ? qlByte & 0xF : qlByte >> 4;
                    int high = (Bytes.u8(src, offset + 128 + 32 * h + l) >> (2 * g)) & 3;
                    q[128 * h + 32 * g + l] = (byte) ((low | high << 4) - 32);
                }
            }
        }
        out.putValues();
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /**
     * A straightforward quantizer (not ggml's searched one): each sub-block of 16 gets the scale that maps
     * its value of largest magnitude to −32; the 16 scales are then quantized to int8 against the largest.
     */
    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        float[] scales = new float[16];
        for (int b = 0; b < n / QK; b++) {
            int x = srcOffset + b * QK;
            long o = offset + (long) b * BYTES;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int s = 0; s < 16; s++) {
                scales[s] = Extremes.largest(src, x + 16 * s, 16) / -32;
                if (Math.abs(scales[s]) > maxAbsScale) {
                    maxAbsScale = Math.abs(scales[s]);
                    maxScale = scales[s];
                }
            }
            float d = maxAbsScale == 0 ? 0 : Float.float16ToFloat(Float.floatToFloat16(maxScale / -128));
            MemorySegment.copy(new byte[BYTES], 0, dst, java.lang.foreign.ValueLayout.JAVA_BYTE, o, BYTES);
            Bytes.putF16(dst, o + 208, d);
            for (int s = 0; s < 16; s++) {
                int sc = d == 0 ? 0 : Math.clamp(Bytes.roundf(scales[s] / d), -128, 127);
                Bytes.putU8(dst, o + 192 + s, sc);
                float step = d * sc;
                for (int l = 0; l < 16; l++) {
                    int i = 16 * s + l;
                    int q = step == 0 ? 32 : Math.clamp(Bytes.roundf(src[x + i] / step) + 32, 0, 63);
                    int h = i / 128;
                    int g = (i % 128) / 32;
                    int li = i % 32;
                    long ql = o + 64 * h + 32 * (g & 1) + li;
                    int lowBits = q & 0xF;
                    Bytes.putU8(dst, ql, g < 2 ? (Bytes.u8(dst, ql) & 0xF0) | lowBits : (Bytes.u8(dst, ql) & 0x0F) | (lowBits << 4));
                    long qh = o + 128 + 32 * h + li;
                    Bytes.putU8(dst, qh, Bytes.u8(dst, qh) | ((q >> 4) << (2 * g)));
                }
            }
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /**
         * Per 16 values: 4 low bits from ql, 2 high bits from qh, minus 32, widened in registers; each group of
         * 16 has its own int8 scale, applied as d·scale to the group's partial sums.
         */
        static float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
            FloatVector acc = FloatVector.zero(Simd.F);
            for (int b = 0; b < n / QK; b++) {
                long o = offset + (long) b * BYTES;
                float d = Bytes.f16(src, o + 208);
                long scalesLo = src.get(Bytes.LONG, o + 192);
                long scalesHi = src.get(Bytes.LONG, o + 200);
                for (int h = 0; h < 2; h++) {
                    for (int l0 = 0; l0 < 32; l0 += 16) {
                        ByteVector qlA = Simd.load16(src, o + 64 * h + l0);
                        ByteVector qlB = Simd.load16(src, o + 64 * h + 32 + l0);
                        ByteVector qh = Simd.load16(src, o + 128 + 32 * h + l0);
                        for (int part = 0; part < Simd.PARTS; part++) {
                            IntVector la = Simd.widen(qlA, part);
                            IntVector lb = Simd.widen(qlB, part);
                            IntVector hb = Simd.widen(qh, part);
                            for (int g = 0; g < 4; g++) {
                                IntVector ql = (g & 1) == 0 ? la : lb;
                                IntVector low = g < 2 ? ql.and(15) : ql.lanewise(VectorOperators.LSHR, 4).and(15);
                                IntVector high = hb.lanewise(VectorOperators.LSHR, 2 * g).and(3).lanewise(VectorOperators.LSHL, 4);
                                int xi = xOff + b * QK + 128 * h + 32 * g + l0 + part * Simd.F.length();
                                int si = 2 * g + l0 / 16;
                                float scale = d * (byte) ((h == 0 ? scalesLo : scalesHi) >> (8 * si));
                                FloatVector w = Simd.toFloat(low.or(high).sub(32)).mul(scale);
                                acc = w.fma(FloatVector.fromArray(Simd.F, x, xi), acc);
                            }
                        }
                    }
                }
            }
            return io.jseek.core.kernel.LaneSums.sum(acc);
        }
    }
}
