package io.jseek.core.tensor;

import io.jseek.core.VectorApi;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * DeepSeek's FP8 weights (docs/deepseek.md §7): one e4m3fn byte per value (sign, 4 exponent bits with bias 7,
 * 3 mantissa bits; no infinities, 0x7F/0xFF NaN), and one F32 scale per block of 128 × 128 values
 * ({@code weight_scale_inv}, by which the decoded byte is multiplied). One codec per tensor: it holds that
 * tensor's scales and finds a value's block from its byte offset. Rows may come in groups whose scales start
 * afresh ({@code rowsPerGroup}: stacked experts, each with its own scale grid). Products decode 16 bytes at
 * a time in vector lanes by their bits and apply the block's scale once per 128 columns; nothing is expanded
 * to floats in memory.
 */
public final class Fp8BlockCodec implements BlockCodec {
    /** Columns and rows of a scale block. */
    public static final int BLOCK = 128;
    /** Every e4m3fn byte's value (NaN for the two NaN codes). */
    public static final float[] E4M3 = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            int exp = b >> 3 & 0x0F;
            int man = b & 7;
            float v = exp == 15 && man == 7 ? Float.NaN
                    : exp == 0 ? Math.scalb((float) man, -9) : Math.scalb(1f + man / 8f, exp - 7);
            E4M3[b] = (b & 0x80) != 0 ? -v : v;
        }
    }

    private final float[] scales;
    private final int cols;
    private final int scaleCols;
    private final int rowsPerGroup;
    private final int scaleRowsPerGroup;

    /**
     * @param scales       the scale grid, row-major: per group of rows, ceil(rowsPerGroup / 128) rows of
     *                     ceil(cols / 128) scales
     * @param cols         values per row
     * @param rowsPerGroup rows sharing one grid (all the tensor's rows, or one expert's)
     */
    public Fp8BlockCodec(float[] scales, int cols, int rowsPerGroup) {
        this.scales = scales;
        this.cols = cols;
        this.scaleCols = (cols + BLOCK - 1) / BLOCK;
        this.rowsPerGroup = rowsPerGroup;
        this.scaleRowsPerGroup = (rowsPerGroup + BLOCK - 1) / BLOCK;
    }

    /** The scale of the value at (row, col). */
    private float scale(long row, int col) {
        long scaleRow = row / rowsPerGroup * scaleRowsPerGroup + row % rowsPerGroup / BLOCK;
        return scales[Math.toIntExact(scaleRow * scaleCols + col / BLOCK)];
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            long g = offset + i;
            dst[dstOffset + i] = E4M3[Bytes.u8(src, g)] * scale(g / cols, (int) (g % cols));
        }
    }

    /** Per 128 columns: the bytes decoded in vector lanes (16 at a time) and multiplied by x, then the block's scale. */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        long row = offset / cols;
        int c0 = (int) (offset % cols);
        if (!VectorApi.USABLE || c0 != 0 || n != cols) {
            return BlockCodec.super.dot(src, offset, x, xOff, n);
        }
        float sum = 0;
        for (int c = 0; c < cols; c += BLOCK) {
            int len = Math.min(BLOCK, cols - c);
            sum += scale(row, c) * Lanes.blockDot(src, offset + c, x, xOff + c, len);
        }
        return sum;
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /**
         * Σ E4M3[byte_j]·x[xi + j] for j < len. A byte's float bits are built from its own (exponent rebased from 7
         * to 127, mantissa moved up 20 bits, sign moved up 24); subnormal bytes (exponent 0) are their mantissa
         * times 2^−9. No vector crosses the method's boundary (docs/architecture.md, "Vector API pitfalls").
         */
        static float blockDot(MemorySegment src, long at, float[] x, int xi, int len) {
            FloatVector sum = FloatVector.zero(Simd.F);
            int j = 0;
            for (; j + 16 <= len; j += 16) {
                ByteVector b = Simd.load16(src, at + j);
                for (int part = 0; part < Simd.PARTS; part++) {
                    IntVector v = Simd.widen(b, part).and(0xFF);
                    IntVector em = v.and(0x7F);
                    IntVector sign = v.and(0x80).lanewise(VectorOperators.LSHL, 24);
                    FloatVector normal = em.lanewise(VectorOperators.LSHL, 20).add(120 << 23).or(sign).reinterpretAsFloats();
                    FloatVector tiny = Simd.toFloat(em).mul(0x1p-9f).reinterpretAsInts().or(sign).reinterpretAsFloats();
                    VectorMask<Integer> small = em.compare(VectorOperators.LT, 8);
                    FloatVector w = normal.blend(tiny, small.cast(Simd.F));
                    sum = w.fma(FloatVector.fromArray(Simd.F, x, xi + j + part * Simd.F.length()), sum);
                }
            }
            float total = io.jseek.core.kernel.LaneSums.sum(sum);
            for (; j < len; j++) {
                total += E4M3[Bytes.u8(src, at + j)] * x[xi + j];
            }
            return total;
        }
    }
}
