package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Knows one ggml block layout. The scalar dequantizer is the reference every faster kernel is tested
 * against; it reproduces ggml's {@code to_float} bit for bit (same evaluation order, so signed zeros and
 * subnormal fp16 scales come out the same).
 */
public interface BlockCodec {

    /** Decodes {@code n} values (a whole number of blocks) stored at {@code src[offset..]} into {@code dst[dstOffset..]}. */
    void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n);

    /**
     * Σ_i w[i] · x[xOff + i] over the {@code n} values stored at {@code src[offset..]}: one weight row times
     * one activation vector. The default is the one skeleton for every type without a fused kernel: the row
     * decoded into a scratch row (each type's {@link #dequantize}) and a float dot product.
     */
    default float dot(MemorySegment src, long offset, float[] x, int xOff, int n) {
        float[] row = Scratch.row(n);
        dequantize(src, offset, row, 0, n);
        return io.jseek.core.kernel.VectorMath.dot(row, 0, x, xOff, n);
    }

    /**
     * Two rows times one vector: rows at {@code offset} and {@code offset + rowStride}, products into
     * {@code y[yOff]} and {@code y[yOff + yStride]}. Kernels that override it load each slice of x once for
     * both rows and keep two independent accumulator chains. Callers should pick rows far apart (pages
     * apart): two streams interleaved within one page defeat the hardware prefetcher (adjacent rows
     * measured at a third of the speed of one row at a time), while two distant streams beat one. Four
     * streams measured slower again (KernelBench).
     */
    default void dot2(MemorySegment src, long offset, long rowStride, float[] x, int xOff, int n,
                      float[] y, int yOff, int yStride) {
        y[yOff] = dot(src, offset, x, xOff, n);
        y[yOff + yStride] = dot(src, offset + rowStride, x, xOff, n);
    }

    /**
     * Two rows times four vectors: rows at {@code offset} and {@code offset + rowStride}, products into
     * {@code ys[k][yOff]} and {@code ys[k][yOff + yStride]} for k = 0..3 (a caller with fewer tokens passes
     * one vector several times and ignores the extra results). Kernels that override it decode each block
     * of both rows once for all four vectors and load each slice of a vector once for both rows: for a
     * handful of tokens (continuous batching) that beats both one token at a time and decoding whole rows
     * to floats first. Rows should be far apart, as for {@link #dot2}. The default decodes each row once
     * and takes four dot products of it.
     */
    default void dot2x4(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                        float[][] ys, int yOff, int yStride) {
        float[] rows = Scratch.row(2 * n);
        dequantize(src, offset, rows, 0, n);
        dequantize(src, offset + rowStride, rows, n, n);
        for (int k = 0; k < 4; k++) {
            ys[k][yOff] = io.jseek.core.kernel.VectorMath.dot(rows, 0, xs[k], xOff, n);
            ys[k][yOff + yStride] = io.jseek.core.kernel.VectorMath.dot(rows, n, xs[k], xOff, n);
        }
    }

    /**
     * As {@link #dot2x4} for two vectors ({@code xs[0..1]}, {@code ys[0..1]}): what a batch of two or six tokens (a
     * speculative verify pass with one draft) needs without paying for four. Kernels that override it compute each
     * token's products exactly as their {@link #dot2x4} does. The default pads to four.
     */
    default void dot2x2(MemorySegment src, long offset, long rowStride, int n, float[][] xs, int xOff,
                        float[][] ys, int yOff, int yStride) {
        float[][] x4 = {xs[0], xs[1], xs[1], xs[1]};
        float[][] y4 = {ys[0], ys[1], ys[1], ys[1]};
        dot2x4(src, offset, rowStride, n, x4, xOff, y4, yOff, yStride);
    }

    /** True when {@link #dot2x2} is a fused kernel of its own. */
    default boolean hasDot2x2() {
        return false;
    }

    /** True when {@link #dot2x4} is a fused kernel (else the small-batch path is no faster). */
    default boolean hasDot2x4() {
        return false;
    }

    /** True when {@link #quantize} is implemented. */
    default boolean canQuantize() {
        return false;
    }

    /** Encodes {@code n} values (a whole number of blocks) from {@code src[srcOffset..]} into {@code dst[offset..]}. */
    default void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no quantizer");
    }
}
