package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Several sequences in one forward pass, block-pooled caches and shared prefixes give each sequence the
 * logits it gets alone (the single-sequence path, which ReferenceLogitsTest checks against llama.cpp).
 */
class BatchedSessionsTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final int[] A = {9, 120, 33, 7, 250, 18, 64, 5, 77, 301, 12, 40, 41, 42, 43, 44, 45, 46, 47, 48};
    private static final int[] B = {15, 16, 17, 200, 201, 202};

    /** Logits after each token of {@code tokens} fed one at a time to a fresh session. */
    private static float[][] alone(Model m, int[] tokens) {
        Session s = m.newSession(64);
        float[][] out = new float[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            out[i] = m.forward(s, new int[] {tokens[i]}, false)[0].clone();
        }
        return out;
    }

    private static void close(float[] want, float[] got, String what) {
        float scale = 0;
        for (float v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-4f * Math.max(1, scale), what + " logit " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ds2lite-f32.gguf", "ds3-f32.gguf", "r1qwen-f32.gguf", "r1llama-f32.gguf"})
    void mixedPrefillAndDecodeMatchEachSequenceAlone(String model) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model)); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            float[][] wantA = alone(m, A);
            float[][] wantB = alone(m, B);
            KvPool kv = new KvPool(m, CacheType.F32, 16);
            Session a = m.newSession(64, kv);
            Session b = m.newSession(64, kv);
            // Step 1: A's first 5 tokens as a prompt chunk, B's first token.
            float[][] out = m.forward(new Batch.Builder().add(a, Arrays.copyOf(A, 5)).add(b, new int[] {B[0]}).build(), false);
            close(wantA[4], out[0], model + " A@4");
            close(wantB[0], out[1], model + " B@0");
            // Then both decode together, one token each, across block boundaries.
            for (int i = 1; i < B.length; i++) {
                out = m.forward(new Batch.Builder().add(b, new int[] {B[i]}).add(a, new int[] {A[4 + i]}).build(), false);
                close(wantB[i], out[0], model + " B@" + i);
                close(wantA[4 + i], out[1], model + " A@" + (4 + i));
            }
            // The rest of A as one chunk, logits of every row.
            int done = 4 + B.length;
            float[][] rows = m.forward(Batch.of(a, Arrays.copyOfRange(A, done, A.length)), true);
            for (int i = done; i < A.length; i++) {
                close(wantA[i], rows[i - done], model + " A@" + i);
            }
            assertEquals(KvPool.blocksFor(A.length) + KvPool.blocksFor(B.length), kv.used());
            a.close();
            b.close();
            assertEquals(0, kv.used(), "every block back in the pool");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ds2lite-f32.gguf", "r1qwen-f32.gguf"})
    void sharedPrefixIsReadNotWritten(String model) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model)); WorkerPool pool = new WorkerPool(2)) {
            Model m = Model.load(f, pool);
            float[][] want = alone(m, A);
            KvPool kv = new KvPool(m, CacheType.F32, 8);
            Session first = m.newSession(64, kv);
            m.forward(first, A, false);
            // A second sequence starts from the first's full block and computes only the rest.
            Session second = m.newSession(64, kv);
            second.attachPrefix(first.fullBlocks());
            assertEquals(KvPool.BLOCK_TOKENS, second.position());
            float[][] rest = m.forward(second, Arrays.copyOfRange(A, KvPool.BLOCK_TOKENS, A.length), true);
            for (int i = KvPool.BLOCK_TOKENS; i < A.length; i++) {
                close(want[i], rest[i - KvPool.BLOCK_TOKENS], model + " shared@" + i);
            }
            // Rewriting inside the shared block copies it: the first sequence still sees its own values.
            second.truncate(3);
            m.forward(second, new int[] {300, 301, 302}, false);
            first.truncate(A.length - 1);
            close(want[A.length - 1], m.forward(first, new int[] {A[A.length - 1]}, false)[0], model + " after copy");
            first.close();
            second.close();
            assertEquals(0, kv.used());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"r1qwen-f32.gguf"})
    void fullPoolIsAnErrorNotACorruption(String model) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model)); WorkerPool pool = new WorkerPool(1)) {
            Model m = Model.load(f, pool);
            KvPool kv = new KvPool(m, CacheType.F16, 2);
            Session a = m.newSession(64, kv);
            m.forward(a, Arrays.copyOf(A, 20), false);
            Session b = m.newSession(64, kv);
            var e = assertThrows(KvPool.KvPoolExhaustedException.class, () -> m.forward(b, new int[] {1}, false));
            assertEquals("the KV cache is full: all 2 blocks of 16 positions are in use", e.getMessage());
            assertEquals(0, b.position());
            a.close();
            float[] got = m.forward(b, new int[] {A[0]}, false)[0];
            assertArrayEquals(alone16(m, A[0]), got, 1e-3f);
        }
    }

    private static float[] alone16(Model m, int token) {
        return m.forward(m.newSession(8, CacheType.F16), new int[] {token}, false)[0].clone();
    }
}
