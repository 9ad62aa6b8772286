package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A cache block read in vector lanes ({@code readBlock}) gives exactly the values read one position at a time
 * ({@code read}, which for F16 is {@link Float#float16ToFloat}), for every kind of value: zeros of both signs,
 * subnormal and largest halves, infinities, NaN, and slices that are not whole vectors.
 */
class KvLayerTest {
    @ParameterizedTest
    @EnumSource(CacheType.class)
    void blockReadsMatchPositionReads(CacheType type) {
        int width = 576;
        KvLayer layer = KvLayer.of(type, width, 1);
        layer.page(0, KvLayer.newPage(type, width, 1));
        java.util.Random rnd = new java.util.Random(7);
        float[] special = {0f, -0f, 6e-8f, -6e-8f, 3e-5f, 65504f, -65504f, 1e6f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, 1f, -2.5f};
        for (int p = 0; p < KvPool.BLOCK_TOKENS; p++) {
            float[] row = new float[width];
            for (int i = 0; i < width; i++) {
                row[i] = type != CacheType.Q8_0 && (i + p) % 7 == 0 ? special[(i + p) % special.length]
                        : (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 6));
            }
            layer.write(p, 0, row, 0, width);
        }
        int[][] slices = {{0, 576}, {0, 512}, {512, 64}, {128, 128}, {32, 96}, {3, 61}};
        for (int[] s : slices) {
            float[] block = new float[KvPool.BLOCK_TOKENS * s[1]];
            layer.readBlock(0, s[0], s[1], block);
            float[] one = new float[s[1]];
            for (int p = 0; p < KvPool.BLOCK_TOKENS; p++) {
                layer.read(p, s[0], one, 0, s[1]);
                for (int i = 0; i < s[1]; i++) {
                    assertEquals(Float.floatToRawIntBits(one[i]), Float.floatToRawIntBits(block[p * s[1] + i]),
                            type + " slice " + s[0] + "+" + s[1] + " position " + p + " value " + i + ": " + one[i]
                                    + " vs " + block[p * s[1] + i]);
                }
            }
        }
    }

    /**
     * A sparse layer (V4's pooled rows: one per block of positions, at its last) keeps a page of 16 / stride rows (one,
     * in every eighth block, for a stride of 128) and gives back every row written at a position p with (p + 1) a
     * multiple of the stride, across pages.
     */
    @ParameterizedTest
    @EnumSource(CacheType.class)
    void sparseLayersKeepARowPerStride(CacheType type) {
        int width = 64;
        for (int stride : new int[] {4, 16, 128}) {
            KvLayer layer = KvLayer.of(type, width, stride);
            int pages = 24;
            int rowsPerPage = Math.max(1, 16 / stride);
            for (int b = 0; b < pages; b++) {
                // Beyond a block's positions, only the blocks that end a stride have a page (8 blocks per row of 128).
                assertEquals(stride <= 16 || b % 8 == 7, KvLayer.pageNeeded(stride, b));
                if (!KvLayer.pageNeeded(stride, b)) {
                    continue;
                }
                Object page = KvLayer.newPage(type, width, stride);
                int values = type == CacheType.Q8_0 ? ((byte[]) page).length : java.lang.reflect.Array.getLength(page);
                assertEquals(type == CacheType.Q8_0 ? rowsPerPage * type.bytes(width) : rowsPerPage * width, values);
                layer.page(b, page);
            }
            float[][] rows = new float[pages * KvPool.BLOCK_TOKENS][];
            for (int p = stride - 1; p < rows.length; p += stride) {
                rows[p] = new float[width];
                for (int i = 0; i < width; i++) {
                    rows[p][i] = i == 0 ? p : i / 64f;  // exact in F16; Q8_0 within 1/127 of the row's largest
                }
                layer.write(p, 0, rows[p], 0, width);
            }
            float[] got = new float[width];
            for (int p = stride - 1; p < rows.length; p += stride) {
                layer.read(p, 0, got, 0, width);
                for (int i = 0; i < width; i++) {
                    assertEquals(rows[p][i], got[i], type == CacheType.Q8_0 ? Math.max(p, 1) / 127.0 : 0,
                            type + " stride " + stride + " position " + p + " value " + i);
                }
            }
        }
    }
}
