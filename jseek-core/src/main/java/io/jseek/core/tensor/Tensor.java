package io.jseek.core.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A typed view over tensor bytes (usually a slice of a memory-mapped GGUF file; never copied).
 * {@code shape} is in ggml order: {@code shape[0]} is the row length, the fastest-varying dimension, so a
 * weight with {@code y = W·x} has shape {@code [n_in, n_out]} and is stored as n_out rows of n_in values.
 * Rows are decoded by the type's codec, or by a codec of the tensor's own where decoding needs more than its
 * bytes (FP8 weights with block scales held elsewhere: {@code codec} non-null).
 */
public record Tensor(String name, GgmlType type, long[] shape, MemorySegment data, BlockCodec codec) implements Matrix {

    /** A tensor decoded by its type's codec. */
    public Tensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        this(name, type, shape, data, null);
    }

    public Tensor {
        shape = shape.clone();
        long n = elementCount(shape);
        if (shape.length > 0 && shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor " + name + ": row length " + shape[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize);
        }
        if (data.byteSize() != type.bytesFor(n)) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes for "
                    + n + " values of " + type + ", expected " + type.bytesFor(n));
        }
    }

    /** The product of the dimensions; throws ArithmeticException on overflow. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public Tensor tensor() {
        return this;
    }

    /**
     * Matrix {@code i} of a 3-D tensor ({@code [cols, rows, n]}, e.g. one routed expert of a stack): a view of its
     * bytes, named {@code NAME[i]}. Not for a tensor with a codec of its own (whose scales are laid out for the
     * whole tensor).
     */
    public Tensor matrix(int i) {
        if (shape.length != 3 || i < 0 || i >= shape[2] || codec != null) {
            throw new IllegalArgumentException("tensor " + name + ": no matrix " + i + " of shape " + Arrays.toString(shape)
                    + (codec != null ? " with its own codec" : ""));
        }
        long bytes = data.byteSize() / shape[2];
        return new Tensor(name + "[" + i + "]", type, new long[] {shape[0], shape[1]}, data.asSlice(i * bytes, bytes));
    }

    /** The codec that decodes this tensor's rows: its own, or its type's. */
    @Override
    public BlockCodec codec() {
        return codec != null ? codec : type.codec();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int dims() {
        return shape.length;
    }

    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    public long elementCount() {
        return elementCount(shape);
    }

    /** Values per row ({@code shape[0]}). */
    public int rowLength() {
        return Math.toIntExact(dim(0));
    }

    /** Number of rows: the product of every dimension but the first. */
    public long rowCount() {
        return rowLength() == 0 ? 0 : elementCount() / rowLength();
    }

    public long rowBytes() {
        return type.bytesFor(rowLength());
    }

    /** The bytes of row {@code row}: a slice of the mapping, not a copy. */
    public MemorySegment row(long row) {
        return data.asSlice(Math.multiplyExact(row, rowBytes()), rowBytes());
    }

    /** Decodes row {@code row} into {@code dst[0..rowLength)}. Allocates nothing. */
    public void dequantizeRow(long row, float[] dst) {
        dequantizeRow(row, dst, 0);
    }

    /** Decodes row {@code row} into {@code dst[dstOff, dstOff + rowLength)}. */
    public void dequantizeRow(long row, float[] dst, int dstOff) {
        if (row < 0 || row >= rowCount()) {
            throw new IndexOutOfBoundsException("row " + row + " of tensor " + name + " with " + rowCount() + " rows");
        }
        codec().dequantize(data, row * rowBytes(), dst, dstOff, rowLength());
    }

    /** Decodes columns [c0, c1) (whole blocks) of row {@code row} into {@code dst[dstOff, dstOff + c1 − c0)}. */
    public void dequantizeColumns(long row, int c0, int c1, float[] dst, int dstOff) {
        if (row < 0 || row >= rowCount()) {
            throw new IndexOutOfBoundsException("row " + row + " of tensor " + name + " with " + rowCount() + " rows");
        }
        codec().dequantize(data, row * rowBytes() + type.bytesFor(c0), dst, dstOff, c1 - c0);
    }

    /** Row {@code row} · x[xOff, xOff + rowLength), fused (the row is decoded in registers, never stored). */
    public float dotRow(long row, float[] x, int xOff) {
        return codec().dot(data, row * rowBytes(), x, xOff, rowLength());
    }

    /**
     * Rows {@code row} and {@code row + apart} times x, into {@code y[yOff]} and {@code y[yOff + apart]}:
     * two rows streamed together, each slice of x loaded once (see {@link BlockCodec#dot2}).
     */
    public void dotRows2(long row, int apart, float[] x, int xOff, float[] y, int yOff) {
        long rb = rowBytes();
        codec().dot2(data, row * rb, apart * rb, x, xOff, rowLength(), y, yOff, apart);
    }

    /** Rows {@code row} and {@code row + apart} times four vectors at once (see {@code BlockCodec.dot2x4}). */
    public void dotRows2x4(long row, int apart, float[][] xs, int xOff, float[][] ys, int yOff) {
        long rb = rowBytes();
        codec().dot2x4(data, row * rb, apart * rb, rowLength(), xs, xOff, ys, yOff, apart);
    }

    /** Rows {@code row} and {@code row + apart} times two vectors at once (see {@code BlockCodec.dot2x2}). */
    public void dotRows2x2(long row, int apart, float[][] xs, int xOff, float[][] ys, int yOff) {
        long rb = rowBytes();
        codec().dot2x2(data, row * rb, apart * rb, rowLength(), xs, xOff, ys, yOff, apart);
    }

    /** True when {@link #dotRows2x2} is a fused kernel of its own for this tensor's type. */
    public boolean hasFusedDot2x2() {
        return codec().hasDot2x2();
    }

    /** True when {@link #dotRows2x4} is a fused kernel for this tensor's type. */
    public boolean hasFusedDot2x4() {
        return codec().hasDot2x4();
    }

    /** Decodes the whole tensor; only for tensors of fewer than 2^31 values. */
    public float[] dequantize() {
        float[] out = new float[Math.toIntExact(elementCount())];
        codec().dequantize(data, 0, out, 0, out.length);
        return out;
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
