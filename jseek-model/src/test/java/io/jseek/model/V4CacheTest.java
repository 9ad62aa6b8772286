package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * V4's cache keeps what the model reads: its pooled rows one per block ({@link ModelConfig#cacheStrides}), its kv
 * rows and compressor projections only for the last positions ({@link ModelConfig#cacheHorizons}, plus {@link
 * Session#REWIND_MARGIN}). A session that gives rows back computes exactly (bit for bit) what a session keeping every
 * row computes, over 900 positions of ds4-f32 (window 8, CSA and HCA layers), prompt and steps; it can rewind within
 * its margin and no further (then it says so, and starts over).
 */
class V4CacheTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @Test
    void forgettingSessionsComputeWhatKeepingSessionsDo() throws Exception {
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf")); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            int[] widths = m.config().cacheWidths();
            int n = 900;
            int[] tokens = new Random(5).ints(n, 3, 966).toArray();
            Session forgets = m.newSession(n);
            Session keeps = new Session(widths, n, new KvPool(widths, CacheType.F32, 0));
            int prompt = 400;
            assertLogitsEqual(m.forward(keeps, java.util.Arrays.copyOf(tokens, prompt), true),
                    m.forward(forgets, java.util.Arrays.copyOf(tokens, prompt), true), "prompt");
            for (int i = prompt; i < n; i++) {
                assertLogitsEqual(m.forward(keeps, new int[] {tokens[i]}, false),
                        m.forward(forgets, new int[] {tokens[i]}, false), "position " + i);
            }
            // Pages held: the keeping session every layer of its 57 blocks; the forgetting one far fewer.
            assertEquals(57 * widths.length, keeps.heldPages());
            assertTrue(forgets.heldPages() < 0.6 * keeps.heldPages(), forgets.heldPages() + " pages held");

            // Rewinding within the margin keeps the positions and continues exactly; further, it starts over.
            int back = n - Session.REWIND_MARGIN;
            assertEquals(back, forgets.truncate(back));
            assertEquals(back, keeps.truncate(back));
            for (int i = back; i < back + 20; i++) {
                assertLogitsEqual(m.forward(keeps, new int[] {tokens[i]}, false),
                        m.forward(forgets, new int[] {tokens[i]}, false), "after rewinding, position " + i);
            }
            assertEquals(0, forgets.truncate(100));
            assertEquals(0, forgets.position());
            assertEquals(100, keeps.truncate(100));
            m.forward(forgets, java.util.Arrays.copyOf(tokens, 100), false);
            assertLogitsEqual(m.forward(keeps, new int[] {tokens[100]}, false),
                    m.forward(forgets, new int[] {tokens[100]}, false), "fed again from the start, position 100");
        }
    }

    /** A prompt longer than a pass ({@link DeepSeek4Model#PROMPT_ROWS}) gives the logits however it is cut. */
    @Test
    void howAPromptIsCutIntoPassesDoesNotChangeItsLogits() throws Exception {
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf")); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            int n = DeepSeek4Model.PROMPT_ROWS + 150;
            int[] tokens = new Random(6).ints(n, 3, 966).toArray();
            float[][] passes = m.forward(m.newSession(n), tokens, true);
            Session halves = m.newSession(n);
            float[][] first = m.forward(halves, java.util.Arrays.copyOf(tokens, n / 2), true);
            float[][] second = m.forward(halves, java.util.Arrays.copyOfRange(tokens, n / 2, n), true);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(i < n / 2 ? first[i] : second[i - n / 2], passes[i], "position " + i);
            }
            // Only the last row's logits: the head runs on one row (the one-row kernels, rounding differently).
            assertArrayEquals(passes[n - 1], m.forward(m.newSession(n), tokens, false)[0], 1e-5f, "last row only");
        }
    }

    @Test
    void pooledRowsTakeARowPerBlockAndForgettingLayersNoBytesPerToken() throws Exception {
        try (GgufFile f = GgufFile.open(DATA.resolve("ds4-f32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f.metadata());
            // Per position only the pooled rows grow: layers 1 and 3 (ratio 4) a 64-value row and a 64-value indexer
            // row per 4 positions, layer 2 (ratio 128) a 64-value row per 128.
            assertEquals(2 * (64 * 2 / 4 + 64 * 2 / 4) + 64 * 2 / 128, ModelStats.kvBytesPerToken(c, CacheType.F16));
            assertArrayEquals(new int[] {4, 4, 128, 4, 4}, java.util.Arrays.stream(c.cacheStrides()).filter(s -> s != 1)
                    .toArray());
            // The rest is bounded: each forgetting layer holds at most its horizon and the margin, in whole blocks.
            long perSequence = ModelStats.kvBytesPerSequence(c, CacheType.F16);
            assertTrue(perSequence > 0);
            int[] widths = c.cacheWidths();
            int[] horizons = c.cacheHorizons();
            CacheType[] types = c.cacheTypes(CacheType.F16);
            long expected = 0;
            for (int l = 0; l < widths.length; l++) {
                if (horizons[l] != Integer.MAX_VALUE) {
                    int blocks = (horizons[l] + Session.REWIND_MARGIN) / KvPool.BLOCK_TOKENS + 2;
                    expected += (long) blocks * KvPool.BLOCK_TOKENS * types[l].bytes(widths[l]);
                }
            }
            assertEquals(expected, perSequence);
            assertArrayEquals(new int[] {7, 7, 7, 7, 7, 7, 7, 127, 127, 7, 7, 7, 7, 7}, java.util.Arrays.stream(horizons)
                    .filter(h -> h != Integer.MAX_VALUE).toArray());
        }
    }

    private static void assertLogitsEqual(float[][] expected, float[][] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], actual[i], what + " row " + i);
        }
    }
}
