package io.jseek.model;

import io.jseek.core.kernel.VectorMath;
import java.util.Arrays;

/**
 * One layer's KV cache: {@code width} values per position, stored as F32 or F16 in pages of
 * {@link KvPool#BLOCK_TOKENS} positions (this layer's part of the session's {@link KvBlock}s). Attention
 * reads it only through these operations, so the storage type is decided once, when the session is
 * created.
 */
abstract sealed class KvLayer permits KvLayer.F32, KvLayer.F16 {
    static final int SHIFT = Integer.numberOfTrailingZeros(KvPool.BLOCK_TOKENS);
    static final int MASK = KvPool.BLOCK_TOKENS - 1;

    final int width;

    KvLayer(int width) {
        this.width = width;
    }

    static KvLayer of(CacheType type, int width) {
        return type == CacheType.F32 ? new F32(width) : new F16(width);
    }

    /** Makes {@code data} (this layer's array of a block) page {@code index}. */
    abstract void page(int index, Object data);

    /** Index of pos within its page's array. */
    final int at(int pos, int off) {
        return (pos & MASK) * width + off;
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

        F32(int width) {
            super(width);
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

        F16(int width) {
            super(width);
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

        /** A plain conversion loop, which the JIT compiles to vector conversions (vcvtph2ps). */
        @Override
        void readBlock(int block, int off, int len, float[] dst) {
            short[] page = pages[block];
            for (int j = 0; j < KvPool.BLOCK_TOKENS; j++) {
                int src = j * width + off;
                int d = j * len;
                for (int i = 0; i < len; i++) {
                    dst[d + i] = Float.float16ToFloat(page[src + i]);
                }
            }
        }
    }
}
