package io.jseek.model;

import io.jseek.core.VectorApi;
import io.jseek.core.kernel.VectorMath;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * One layer's KV cache: {@code width} values per position, stored as F32, F16 or Q8_0 in pages of
 * {@link KvPool#BLOCK_TOKENS} positions (this layer's part of the session's {@link KvBlock}s). Attention
 * reads it only through these operations, so the storage type is decided once, when the session is
 * created.
 */
abstract sealed class KvLayer permits KvLayer.F32, KvLayer.F16, KvLayer.Q8 {
    static final int SHIFT = Integer.numberOfTrailingZeros(KvPool.BLOCK_TOKENS);
    static final int MASK = KvPool.BLOCK_TOKENS - 1;

    final int width;
    /** log2 of the positions per stored row: 0 for a row per position; a sparse layer keeps one per 2^k. */
    private final int strideShift;

    KvLayer(int width, int stride) {
        this.width = width;
        this.strideShift = Integer.numberOfTrailingZeros(stride);
    }

    /**
     * A layer of {@code width} values per row, a row for every {@code stride} positions (a power of two), written only
     * at positions p with (p + 1) a multiple of the stride — V4's compressed rows, one per block. Up to {@link
     * KvPool#BLOCK_TOKENS} positions, a page keeps 16 / stride rows (position p in row (p mod 16) / stride); beyond,
     * one row, and only the pages of blocks that end a stride exist ({@link #pageNeeded}).
     */
    static KvLayer of(CacheType type, int width, int stride) {
        return switch (type) {
            case F32 -> new F32(width, stride);
            case F16 -> new F16(width, stride);
            case Q8_0 -> new Q8(width, stride);
        };
    }

    /** Rows of a page of a layer with this stride. */
    static int pageRows(int stride) {
        if (stride < 1 || Integer.bitCount(stride) != 1) {
            throw new IllegalArgumentException("cache stride " + stride + " is not a power of two");
        }
        return Math.max(1, KvPool.BLOCK_TOKENS / stride);
    }

    /** Whether block {@code index} (positions 16·index …) holds a row of a layer with this stride. */
    static boolean pageNeeded(int stride, int index) {
        return stride <= KvPool.BLOCK_TOKENS || (index + 1L) * KvPool.BLOCK_TOKENS % stride == 0;
    }

    /** A page's array for {@code width} values per row and a row every {@code stride} positions. */
    static Object newPage(CacheType type, int width, int stride) {
        int rows = pageRows(stride);
        int n = Math.multiplyExact(rows, width);
        return switch (type) {
            case F32 -> new float[n];
            case F16 -> new short[n];
            case Q8_0 -> new byte[Math.toIntExact(rows * type.bytes(width))];
        };
    }

    /** Row of pos within its page. */
    final int slot(int pos) {
        return (pos & MASK) >> strideShift;
    }

    /** Makes {@code data} (this layer's array of a block) page {@code index}. */
    abstract void page(int index, Object data);

    /** Index of pos within its page's array. */
    final int at(int pos, int off) {
        return slot(pos) * width + off;
    }

    /** Stores src[srcOff, +n) at position pos, values [off, off + n). */
    abstract void write(int pos, int off, float[] src, int srcOff, int n);

    /** Σ q[qOff + i] · stored(pos, off + i). */
    abstract float dot(int pos, int off, float[] q, int qOff, int n);

    /** y[yOff + i] += alpha · stored(pos, off + i). */
    abstract void axpy(float alpha, int pos, int off, float[] y, int yOff, int n);

    /** dst[dstOff + i] = stored(pos, off + i). */
    abstract void read(int pos, int off, float[] dst, int dstOff, int n);

    /**
     * The values [off, off + len) of all {@link KvPool#BLOCK_TOKENS} positions of page {@code block} as floats:
     * dst[j·len + i] = stored(block·16 + j, off + i).
     */
    abstract void readBlock(int block, int off, int len, float[] dst);

    static final class F32 extends KvLayer {
        private float[][] pages = new float[4][];

        F32(int width, int stride) {
            super(width, stride);
        }

        @Override
        void page(int index, Object data) {
            if (index >= pages.length) {
                pages = Arrays.copyOf(pages, Math.max(index + 1, 2 * pages.length));
            }
            pages[index] = (float[]) data;
        }

        @Override
        void write(int pos, int off, float[] src, int srcOff, int n) {
            System.arraycopy(src, srcOff, pages[pos >> SHIFT], at(pos, off), n);
        }

        @Override
        float dot(int pos, int off, float[] q, int qOff, int n) {
            return VectorMath.dot(q, qOff, pages[pos >> SHIFT], at(pos, off), n);
        }

        @Override
        void axpy(float alpha, int pos, int off, float[] y, int yOff, int n) {
            VectorMath.axpy(alpha, pages[pos >> SHIFT], at(pos, off), y, yOff, n);
        }

        @Override
        void read(int pos, int off, float[] dst, int dstOff, int n) {
            System.arraycopy(pages[pos >> SHIFT], at(pos, off), dst, dstOff, n);
        }

        @Override
        void readBlock(int block, int off, int len, float[] dst) {
            float[] page = pages[block];
            for (int j = 0; j < KvPool.BLOCK_TOKENS; j++) {
                System.arraycopy(page, j * width + off, dst, j * len, len);
            }
        }
    }

    static final class F16 extends KvLayer {
        private short[][] pages = new short[4][];

        F16(int width, int stride) {
            super(width, stride);
        }

        @Override
        void page(int index, Object data) {
            if (index >= pages.length) {
                pages = Arrays.copyOf(pages, Math.max(index + 1, 2 * pages.length));
            }
            pages[index] = (short[]) data;
        }

        @Override
        void write(int pos, int off, float[] src, int srcOff, int n) {
            short[] data = pages[pos >> SHIFT];
            int base = at(pos, off);
            for (int i = 0; i < n; i++) {
                data[base + i] = Float.floatToFloat16(src[srcOff + i]);
            }
        }

        /** Each thread's buffer for one converted row slice (attention runs on the worker threads). */
        private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

        /**
         * Converts the slice with {@link #read} (a plain loop the JIT vectorizes), then takes a SIMD dot
         * product. The scalar loop that converted and summed element by element held 12 % of a pp512
         * profile (Qwen-1.5B shape). The Vector API's own binary16 conversions were seen to box vectors
         * in some compiled contexts, so they are not used.
         */
        @Override
        float dot(int pos, int off, float[] q, int qOff, int n) {
            float[] row = ROW.get();
            if (row.length < n) {
                row = new float[n];
                ROW.set(row);
            }
            read(pos, off, row, 0, n);
            return VectorMath.dot(row, 0, q, qOff, n);
        }

        @Override
        void axpy(float alpha, int pos, int off, float[] y, int yOff, int n) {
            short[] data = pages[pos >> SHIFT];
            int base = at(pos, off);
            for (int i = 0; i < n; i++) {
                y[yOff + i] += alpha * Float.float16ToFloat(data[base + i]);
            }
        }

        @Override
        void read(int pos, int off, float[] dst, int dstOff, int n) {
            short[] data = pages[pos >> SHIFT];
            int base = at(pos, off);
            for (int i = 0; i < n; i++) {
                dst[dstOff + i] = Float.float16ToFloat(data[base + i]);
            }
        }

        /**
         * The block's slices converted in vector lanes: the magnitude's bits moved into a float's place and
         * multiplied by 2^112 (exact for normal and subnormal values), infinities and NaNs given the float's
         * all-ones exponent, the sign put back. (A plain {@code float16ToFloat} loop over slices of 128 values
         * spent most of its time in the JIT's scalar pre- and post-loops: a third of a Qwen decode step at
         * depth 4096 was this conversion.)
         */
        @Override
        void readBlock(int block, int off, int len, float[] dst) {
            if (VectorApi.USABLE) {
                Lanes.readF16(pages[block], width, off, len, dst);
            } else {
                readEach(block, off, len, dst);
            }
        }
    }

    /**
     * Q8_0: each position's values in blocks of 32 (the last one maybe shorter), an f16 scale d then 32 int8
     * q per block, value = d·q, quantized as llama.cpp quantizes a q8_0 cache. A position is written whole,
     * in one call (a block quantized twice would not round-trip).
     */
    static final class Q8 extends KvLayer {
        private static final int QK = 32;
        private static final int BLOCK = 34;
        private final int rowBytes;
        private byte[][] pages = new byte[4][];

        Q8(int width, int stride) {
            super(width, stride);
            this.rowBytes = (width + QK - 1) / QK * BLOCK;
        }

        @Override
        void page(int index, Object data) {
            if (index >= pages.length) {
                pages = Arrays.copyOf(pages, Math.max(index + 1, 2 * pages.length));
            }
            pages[index] = (byte[]) data;
        }

        @Override
        void write(int pos, int off, float[] src, int srcOff, int n) {
            if (off != 0 || n != width) {
                throw new IllegalStateException("a Q8_0 cache position is written whole: values [" + off + ", "
                        + (off + n) + ") of " + width);
            }
            byte[] page = pages[pos >> SHIFT];
            int row = slot(pos) * rowBytes;
            for (int b = 0; b * QK < width; b++) {
                int o = row + b * BLOCK;
                short d = io.jseek.core.tensor.Activations.quantizeQ8_0(src, srcOff + b * QK, Math.min(QK, width - b * QK), page, o + 2);
                page[o] = (byte) d;
                page[o + 1] = (byte) (d >> 8);
            }
        }

        /** dst[dstOff + i] = stored(pos, off + i) for i in [0, n). */
        @Override
        void read(int pos, int off, float[] dst, int dstOff, int n) {
            byte[] page = pages[pos >> SHIFT];
            int row = slot(pos) * rowBytes;
            for (int i = 0; i < n; ) {
                int v = off + i;
                int b = v / QK;
                int o = row + b * BLOCK;
                float d = Float.float16ToFloat((short) ((page[o] & 0xFF) | page[o + 1] << 8));
                int end = Math.min(n, i + (b + 1) * QK - v);
                for (; i < end; i++) {
                    dst[dstOff + i] = page[o + 2 + (off + i) % QK] * d;
                }
            }
        }

        /**
         * Slices of whole 32-value blocks (every head and latent slice of the models here) in vector lanes:
         * int8 widened to int, converted to float, times the block's scale; other slices through {@link #read}.
         */
        @Override
        void readBlock(int block, int off, int len, float[] dst) {
            if (!VectorApi.USABLE || off % QK != 0 || len % QK != 0 || !Lanes.WIDE) {
                readEach(block, off, len, dst);
            } else {
                Lanes.readQ8(pages[block], rowBytes, off, len, dst);
            }
        }

        private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

        private float[] row(int n) {
            float[] r = ROW.get();
            if (r.length < n) {
                r = new float[n];
                ROW.set(r);
            }
            return r;
        }

        @Override
        float dot(int pos, int off, float[] q, int qOff, int n) {
            float[] r = row(n);
            read(pos, off, r, 0, n);
            return VectorMath.dot(r, 0, q, qOff, n);
        }

        @Override
        void axpy(float alpha, int pos, int off, float[] y, int yOff, int n) {
            float[] r = row(n);
            read(pos, off, r, 0, n);
            VectorMath.axpy(alpha, r, 0, y, yOff, n);
        }
    }

    /** The positions of a block one by one through {@link #read}: the readBlock of the scalar kernels. */
    final void readEach(int block, int off, int len, float[] dst) {
        for (int j = 0; j < KvPool.BLOCK_TOKENS; j++) {
            read(block * KvPool.BLOCK_TOKENS + j, off, dst, j * len, len);
        }
    }

    /** The Vector API kernels: loaded only when {@link VectorApi#USABLE} (see there). */
    private static final class Lanes {
        /** Block conversions: floats of the preferred shape up to 16 lanes, and shorts and bytes of as many lanes (bytes: at least 8). */
        static final VectorSpecies<Float> VF =
                FloatVector.SPECIES_PREFERRED.length() <= 16 ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_512;
        static final VectorSpecies<Integer> VI = VectorSpecies.of(int.class, VF.vectorShape());
        static final VectorSpecies<Short> VS =
                VectorSpecies.of(short.class, VectorShape.forBitSize(16 * VF.length()));
        static final VectorSpecies<Byte> VB =
                VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * Math.max(8, VF.length())));
        /** True when a Q8_0 block (32 values) is whole vectors of bytes: 8 or 16 float lanes. */
        static final boolean WIDE = VF.length() >= 8;

        /** F16 rows of a block page, {@code width} apart, slice [off, off + len) each, to floats. */
        static void readF16(short[] page, int width, int off, int len, float[] dst) {
            int lanes = VF.length();
            for (int j = 0; j < KvPool.BLOCK_TOKENS; j++) {
                int src = j * width + off;
                int d = j * len;
                int i = 0;
                for (int upper = VF.loopBound(len); i < upper; i += lanes) {
                    IntVector h = (IntVector) ShortVector.fromArray(VS, page, src + i).castShape(VI, 0);
                    IntVector mag = h.and(0x7FFF);
                    IntVector moved = mag.lanewise(VectorOperators.LSHL, 13);
                    IntVector bits = moved.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                            .blend(moved.or(0x7F800000), mag.compare(VectorOperators.GE, 0x7C00))
                            .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16));
                    bits.reinterpretAsFloats().intoArray(dst, d + i);
                }
                for (; i < len; i++) {
                    dst[d + i] = Float.float16ToFloat(page[src + i]);
                }
            }
        }

        /** Q8_0 rows of a block page, {@code rowBytes} apart, slice [off, off + len) (whole blocks) each, to floats. */
        static void readQ8(byte[] page, int rowBytes, int off, int len, float[] dst) {
            int lanes = VF.length();
            for (int j = 0; j < KvPool.BLOCK_TOKENS; j++) {
                int row = j * rowBytes;
                for (int v = 0; v < len; v += Q8.QK) {
                    int o = row + (off + v) / Q8.QK * Q8.BLOCK;
                    float d = Float.float16ToFloat((short) ((page[o] & 0xFF) | page[o + 1] << 8));
                    for (int k = 0; k < Q8.QK; k += lanes) {
                        IntVector q = (IntVector) ByteVector.fromArray(VB, page, o + 2 + k).castShape(VI, 0);
                        ((FloatVector) q.castShape(VF, 0)).mul(d).intoArray(dst, j * len + v + k);
                    }
                }
            }
        }
    }
}
