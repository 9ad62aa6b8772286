package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Block attention against a float64 softmax attention over the same cached values (read back from the
 * cache, so the storage's rounding is the reference's too), at up to 2,100 positions: MLA's shape (keys are
 * the values plus more), GQA's (separate key and value slices), row counts that are and are not multiples of
 * the tile, dimensions that are not whole vectors, causal limits per row, and a context cut into chunks that
 * are merged afterwards.
 */
class BlockAttentionTest {

    @ParameterizedTest
    @CsvSource({
        "F32, 576, 0, 576, 0, 512, 16, 2100, 3",
        "F16, 576, 0, 576, 0, 512, 16, 2048, 1",
        "Q8_0, 576, 0, 576, 0, 512, 16, 2050, 4",
        "F32, 512, 128, 128, 384, 128, 6, 2100, 2",
        "F16, 80, 0, 80, 0, 64, 5, 700, 3",
        "Q8_0, 64, 16, 16, 48, 16, 3, 333, 2",
    })
    void matchesFloat64Attention(CacheType type, int width, int keyOff, int keyLength, int valueOff, int valueLength,
                                 int heads, int positions, int chunks) {
        Random rnd = new Random(width * 31L + positions);
        KvPool pool = new KvPool(new int[] {width}, type, 0);
        Session s = new Session(new int[] {width}, positions, pool);
        s.reserve(positions);
        KvLayer cache = s.layer(0);
        float[] row = new float[width];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < width; i++) {
                row[i] = (float) rnd.nextGaussian();
            }
            cache.write(p, 0, row, 0, width);
        }
        // Two tokens at the end of the context, each with `heads` query rows; the first sees one position less.
        int tokens = 2;
        float[][] q = new float[tokens][heads * keyLength];
        for (float[] qt : q) {
            for (int i = 0; i < qt.length; i++) {
                qt[i] = (float) (rnd.nextGaussian() * 0.2);
            }
        }
        int rows = tokens * heads;
        int[] limit = new int[rows];
        for (int r = 0; r < rows; r++) {
            limit[r] = positions - (r < heads ? 1 : 0);
        }
        float scale = (float) (1 / Math.sqrt(keyLength));
        BlockAttention.Shape shape = new BlockAttention.Shape(keyOff, keyLength, valueOff, valueLength, scale);
        float[] max = new float[chunks * rows];
        float[] sum = new float[chunks * rows];
        float[] out = new float[chunks * rows * valueLength];
        int blocks = KvPool.blocksFor(positions);
        for (int c = 0; c < chunks; c++) {
            int from = blocks * c / chunks * KvPool.BLOCK_TOKENS;
            int to = Math.min(positions, blocks * (c + 1) / chunks * KvPool.BLOCK_TOKENS);
            BlockAttention.attend(cache, from, to, shape, new BlockAttention.Rows().set(q, 0, tokens, heads, 0), limit,
                    max, sum, out, c * rows);
        }
        float[] got = new float[valueLength];
        float[] k = new float[keyLength];
        float[] v = new float[valueLength];
        for (int r = 0; r < rows; r++) {
            BlockAttention.mergeRow(r, chunks, rows, valueLength, max, sum, out, got, 0);
            int t = r / heads;
            int head = r % heads;
            double[] scores = new double[limit[r]];
            double m = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < limit[r]; p++) {
                cache.read(p, keyOff, k, 0, keyLength);
                double dot = 0;
                for (int i = 0; i < keyLength; i++) {
                    dot += (double) q[t][head * keyLength + i] * k[i];
                }
                scores[p] = dot * scale;
                m = Math.max(m, scores[p]);
            }
            double total = 0;
            double[] want = new double[valueLength];
            for (int p = 0; p < limit[r]; p++) {
                double w = Math.exp(scores[p] - m);
                total += w;
                cache.read(p, valueOff, v, 0, valueLength);
                for (int i = 0; i < valueLength; i++) {
                    want[i] += w * v[i];
                }
            }
            for (int i = 0; i < valueLength; i++) {
                double expected = want[i] / total;
                assertTrue(Math.abs(got[i] - expected) <= 1e-5 + 1e-4 * Math.abs(expected),
                        type + " row " + r + " value " + i + ": " + got[i] + " vs " + expected);
            }
        }
    }
}
