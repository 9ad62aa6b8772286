package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The two MLA forms, and the two GGUF layouts of W_UK/W_UV, compute the same function. */
class MlaFormsTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final WorkerPool POOL = WorkerPool.ofAvailableProcessors();
    private static final int[] TOKENS = {956, 84, 104, 101, 32, 113, 117, 105, 99, 107, 959, 960, 961, 300, 5, 77, 912, 1};

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    private static float[][] run(String model, DeepSeek2Model.AttentionForm form, boolean stepwise) {
        return run(model, form, stepwise, null, null);
    }

    /** Runs TOKENS; records the experts chosen into {@code record} (if not null), or uses {@code forced}'s. */
    private static float[][] run(String model, DeepSeek2Model.AttentionForm form, boolean stepwise,
                                 java.util.List<int[][]> record, int[][][] forced) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model))) {
            ModelConfig c = ModelConfig.fromGguf(f.metadata());
            Model m = new DeepSeek2Model(c, new Weights(f, POOL, true), POOL, form);
            Session s = m.newSession(64);
            s.forceRouting(forced);
            if (record != null) {
                s.recordRouting();
            }
            if (!stepwise) {
                float[][] out = m.forward(s, TOKENS, true);
                if (record != null) {
                    record.addAll(s.routing());
                }
                return out;
            }
            float[][] out = new float[TOKENS.length][];
            for (int i = 0; i < TOKENS.length; i++) {
                out[i] = m.forward(s, new int[] {TOKENS[i]}, false)[0].clone();
            }
            return out;
        }
    }

    private static double maxDiff(float[][] a, float[][] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, ReferenceLogitsTest.maxAbsDiff(a[i], b[i]));
        }
        return m;
    }

    /**
     * The same numbers to 1e-4, with the experts forced to the naive run's (a near-tie may otherwise tip
     * either way). Float weights only: with quantized ones the absorbed form rounds q_nope and the weighted
     * latent as llama.cpp does before W_UK and W_UV, the naive form (F32 copies of them) rounds nothing
     * there, so the two differ by the roundings' effect; both are checked against llama.cpp instead
     * (ReferenceLogitsTest, naiveMlaFormMatchesLlamaCpp with its own slack).
     */
    @Test
    void absorbedMlaMatchesNaiveForm() {
        for (String model : new String[] {"ds2lite-f32.gguf", "ds3-f32.gguf"}) {
            java.util.List<int[][]> routing = new java.util.ArrayList<>();
            float[][] naive = run(model, DeepSeek2Model.AttentionForm.NAIVE, false, routing, null);
            double d = maxDiff(naive, run(model, DeepSeek2Model.AttentionForm.ABSORBED, true, null,
                    forced(routing, TOKENS.length, TOKENS.length)));
            assertTrue(d <= 1e-4, model + ": naive batch vs absorbed steps differ by " + d);
        }
    }

    /** {@code n} token ids below 950 (every test model's vocabulary is larger), the same for a given seed. */
    private static int[] randomTokens(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + r.nextInt(947);
        }
        return t;
    }

    /**
     * Feeds {@code tokens} in chunks of {@code chunk} (all logits); records the experts chosen into
     * {@code record} (if not null), or uses {@code forced}'s.
     */
    private static float[][] runChunks(String model, DeepSeek2Model.AttentionForm form, CacheType cache, int[] tokens,
                                       int chunk, java.util.List<int[][]> record, int[][][] forced) {
        try (GgufFile f = GgufFile.open(DATA.resolve(model))) {
            ModelConfig c = ModelConfig.fromGguf(f.metadata());
            Model m = new DeepSeek2Model(c, new Weights(f, POOL, true), POOL, form);
            Session s = m.newSession(tokens.length, cache);
            s.forceRouting(forced);
            if (record != null) {
                s.recordRouting();
            }
            float[][] out = new float[tokens.length][];
            for (int i = 0; i < tokens.length; i += chunk) {
                float[][] part = m.forward(s, java.util.Arrays.copyOfRange(tokens, i, Math.min(tokens.length, i + chunk)), true);
                for (int j = 0; j < part.length; j++) {
                    out[i + j] = part[j].clone();
                }
            }
            if (record != null) {
                record.addAll(s.routing());
            }
            return out;
        }
    }

    /**
     * The expert choices recorded by a run that fed {@code positions} tokens in chunks of {@code chunk}
     * (one entry per chunk and MoE layer), as forceRouting takes them: [position][MoE layer].
     */
    private static int[][][] forced(java.util.List<int[][]> routing, int positions, int chunk) {
        int chunks = (positions + chunk - 1) / chunk;
        int layers = routing.size() / chunks;
        int[][][] forced = new int[positions][layers][];
        for (int e = 0; e < routing.size(); e++) {
            int[][] chosen = routing.get(e);
            for (int j = 0; j < chosen.length; j++) {
                forced[e / layers * chunk + j][e % layers] = chosen[j];
            }
        }
        return forced;
    }

    /**
     * A 2,100-token prompt fed in chunks of 700, so that later chunks decompress a cached prefix of their
     * own and every chunk runs over several of the naive form's 256-position chunks and 64-token tiles: the
     * naive form agrees with the absorbed one (itself checked against llama.cpp and against float64 attention
     * at 2,000+ positions, BlockAttentionTest) at every position, float weights, experts forced alike — for
     * every cache type, both forms reading the same rounded cached latents. With F32 the forms agree to float
     * rounding (measured 4e-6). With F16 or Q8_0 a last-bit difference in a later layer's latent can flip its
     * rounding to the cache type (a step of 2⁻¹¹ of the value, or 1/127 of its block's largest), so they agree
     * to a small part of the cache type's own effect (measured 2e-4 and 3e-3; F16 against F32 moves these
     * logits by up to 2e-2, f16CacheStaysCloseToF32Cache).
     */
    @Test
    void naiveFormMatchesAbsorbedFormAtLongContext() {
        int[] tokens = randomTokens(2100, 11);
        for (String model : new String[] {"ds2lite-f32.gguf", "ds3-f32.gguf"}) {
            for (CacheType cache : CacheType.values()) {
                java.util.List<int[][]> routing = new java.util.ArrayList<>();
                float[][] naive = runChunks(model, DeepSeek2Model.AttentionForm.NAIVE, cache, tokens, 700, routing, null);
                float[][] absorbed = runChunks(model, DeepSeek2Model.AttentionForm.ABSORBED, cache, tokens, 700, null,
                        forced(routing, tokens.length, 700));
                double d = maxDiff(naive, absorbed);
                System.out.printf("%s, %s cache: naive vs absorbed form at 2,100 positions, max |diff| %.3g%n",
                        model, cache, d);
                double bound = switch (cache) {
                    case F32 -> 1e-4;
                    case F16 -> 1e-3;
                    case Q8_0 -> 1e-2;
                };
                assertTrue(d <= bound, model + ", " + cache + " cache: naive vs absorbed form at 2,100 positions differ by " + d);
            }
        }
    }

    /**
     * The cheaper form by multiply-adds: a one-sequence prompt of NAIVE_MIN_TOKENS or more takes the naive
     * form (on these small shapes always cheaper from there), a decode step, a shorter prompt or a batch of
     * two sequences the absorbed one.
     */
    @Test
    void promptsOfOneSequenceTakeTheNaiveForm() {
        try (GgufFile f = GgufFile.open(DATA.resolve("ds2lite-f32.gguf"))) {
            DeepSeek2Model m = new DeepSeek2Model(ModelConfig.fromGguf(f.metadata()), new Weights(f, POOL, true), POOL,
                    DeepSeek2Model.AttentionForm.CHEAPER);
            Session a = m.newSession(1024);
            Session b = m.newSession(1024);
            assertTrue(m.naiveCheaper(Batch.of(a, randomTokens(700, 1))));
            assertTrue(m.naiveCheaper(Batch.of(a, randomTokens(DeepSeek2Model.NAIVE_MIN_TOKENS, 1))));
            assertFalse(m.naiveCheaper(Batch.of(a, randomTokens(DeepSeek2Model.NAIVE_MIN_TOKENS - 1, 1))));
            assertFalse(m.naiveCheaper(Batch.of(a, new int[] {5})));
            assertFalse(m.naiveCheaper(new Batch.Builder().add(a, randomTokens(300, 1)).add(b, randomTokens(300, 2)).build()));
        }
    }

    /** An F16 cache rounds the cached values only: logits stay within F16 rounding of the F32 cache's. */
    @Test
    void f16CacheStaysCloseToF32Cache() {
        for (String model : new String[] {"ds3-f32.gguf", "r1qwen-f32.gguf", "r1llama-f32.gguf"}) {
            try (GgufFile f = GgufFile.open(DATA.resolve(model))) {
                Model m = Model.load(f, POOL);
                float[][] a = m.forward(m.newSession(64, CacheType.F32), TOKENS, true);
                float[][] b = m.forward(m.newSession(64, CacheType.F16), TOKENS, true);
                double d = maxDiff(a, b);
                assertTrue(d > 0 && d <= 2e-2, model + ": F16 vs F32 cache differ by " + d);
            }
        }
    }

    /**
     * The legacy layout's W_UK is applied from the other side (to the query, transposed), so its F16
     * activation rounding falls elsewhere: the two agree to F16 rounding (llama.cpp's own two runs of these
     * files differ by about 4e-3, testdata/README.md).
     */
    @Test
    void legacyKvBLayoutMatchesSplitLayout() {
        for (DeepSeek2Model.AttentionForm form : DeepSeek2Model.AttentionForm.values()) {
            double d = maxDiff(run("ds2lite-kvb-f16.gguf", form, false), run("ds2lite-f16.gguf", form, false));
            assertTrue(d <= 1e-2, form + ": attn_kv_b vs attn_k_b/attn_v_b differ by " + d);
        }
    }
}
