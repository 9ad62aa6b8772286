package io.jseek.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The KV-cache storage types: a Q8_0 (and F16) cache changes every test model's logits by little against
 * the F32 cache's, at every position of every reference sequence (prompt as one batch, then one token at a
 * time; experts forced to llama.cpp's choices and V3.2's indexer choices to the F32 cache's, so that a
 * near-tie does not tip differently); the bytes a
 * token takes are exact, and the same for both MLA weight layouts.
 *
 * <p>How little: float weights, 0.06 (Q8_0 rounds each cached value to 1/254 of its block's largest).
 * Quantized weights: their activations are rounded to int8 as llama.cpp rounds them, and that rounding
 * turns any small change before it into whole steps of 1/127, so even an F16 cache moves these random
 * models' logits by up to 0.16; there a Q8_0 cache may move them by as much as twice the F16 cache does.
 */
class CacheTypesTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final WorkerPool POOL = WorkerPool.ofAvailableProcessors();

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    static java.util.stream.Stream<String> models() throws IOException {
        return ReferenceLogitsTest.models();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void quantizedCachesStayCloseToF32Cache(String model) throws IOException {
        ReferenceLogitsTest.Case c = ReferenceLogitsTest.Case.of(model);
        try (GgufFile f = GgufFile.open(DATA.resolve(model + ".gguf"))) {
            Model m = Model.load(f, POOL);
            for (JsonNode seq : c.json().get("sequences")) {
                int[] tokens = c.allTokens(seq);
                int[][][][] selections = new int[1][][][];
                float[][] f32 = run(m, seq, tokens, CacheType.F32, null, selections);
                double f16 = worst(f32, run(m, seq, tokens, CacheType.F16, selections[0], null));
                double q8 = worst(f32, run(m, seq, tokens, CacheType.Q8_0, selections[0], null));
                boolean floatWeights = model.endsWith("f32") || model.endsWith("f16") || model.endsWith("bf16");
                double bound = floatWeights ? 0.06 : Math.max(0.06, 2 * f16);
                String where = model + "/" + seq.get("name").asText();
                System.out.printf("%s: largest logit change against the F32 cache: F16 %.4f, Q8_0 %.4f%n", where, f16, q8);
                assertTrue(f16 <= (floatWeights ? 0.025 : 0.2), where + ": F16 cache differs from F32 by " + f16);
                assertTrue(q8 <= bound, where + ": Q8_0 cache differs from F32 by " + q8 + " (bound " + bound + ")");
            }
        }
    }

    private static double worst(float[][] a, float[][] b) {
        double w = 0;
        for (int i = 0; i < a.length; i++) {
            w = Math.max(w, ReferenceLogitsTest.maxAbsDiff(a[i], b[i]));
        }
        return w;
    }

    /**
     * The logits with experts forced to llama.cpp's; V3.2's indexer choices forced to {@code forced} (the F32
     * cache's) when not null, or recorded into {@code record[0]} when that is not null.
     */
    private static float[][] run(Model m, JsonNode seq, int[] tokens, CacheType type, int[][][] forced,
                                 int[][][][] record) {
        int prompt = seq.get("tokens").size();
        Session s = m.newSession(tokens.length, type);
        s.forceRouting(ReferenceLogitsTest.forcedRouting(seq, tokens.length));
        s.forceSelections(forced);
        if (record != null) {
            s.recordSelections();
            record[0] = s.selections();
        }
        float[][] out = new float[tokens.length][];
        float[][] p = m.forward(s, Arrays.copyOf(tokens, prompt), true);
        System.arraycopy(p, 0, out, 0, prompt);
        for (int i = prompt; i < tokens.length; i++) {
            out[i] = m.forward(s, new int[] {tokens[i]}, false)[0].clone();
        }
        return out;
    }

    @Test
    void kvBytesPerTokenAreExact() throws IOException {
        try (GgufFile split = GgufFile.open(DATA.resolve("ds2lite-f16.gguf"));
             GgufFile legacy = GgufFile.open(DATA.resolve("ds2lite-kvb-f16.gguf"));
             GgufFile kquant = GgufFile.open(DATA.resolve("ds3-kquant.gguf"));
             GgufFile qwen = GgufFile.open(DATA.resolve("r1qwen-f32.gguf"))) {
            ModelConfig s = ModelConfig.fromGguf(split.metadata());
            ModelConfig l = ModelConfig.fromGguf(legacy.metadata());
            ModelConfig k = ModelConfig.fromGguf(kquant.metadata());
            ModelConfig q = ModelConfig.fromGguf(qwen.metadata());
            // ds2lite: kv_lora 64 + rope 16 = 80 values (3 blocks of 32 at Q8_0), 3 layers; the legacy layout caches the same.
            assertEquals(80 * 3 * 2, ModelStats.kvBytesPerToken(s, CacheType.F16));
            assertEquals(ModelStats.kvBytesPerToken(s, CacheType.F16), ModelStats.kvBytesPerToken(l, CacheType.F16));
            assertEquals(3 * 34 * 3, ModelStats.kvBytesPerToken(l, CacheType.Q8_0));
            // ds3-kquant: 256 + 32 = 288 = 9 blocks: 288 × 3 × 34/32.
            assertEquals(288 * 3 * 34 / 32, ModelStats.kvBytesPerToken(k, CacheType.Q8_0));
            assertEquals(288 * 3 * 4, ModelStats.kvBytesPerToken(k, CacheType.F32));
            // qwen2: 2 KV heads × (16 + 16), 2 layers.
            assertEquals(64 * 2 * 34 / 32, ModelStats.kvBytesPerToken(q, CacheType.Q8_0));
        }
        // ds32: per layer the latent row (64 + 16 = 80 values, 3 blocks at Q8_0) and the indexer key row (64, 2 blocks).
        try (GgufFile ds32 = GgufFile.open(DATA.resolve("ds32-f32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(ds32.metadata());
            assertEquals((80 + 64) * 3 * 2, ModelStats.kvBytesPerToken(c, CacheType.F16));
            assertEquals((3 + 2) * 34 * 3, ModelStats.kvBytesPerToken(c, CacheType.Q8_0));
            Model m = Model.load(ds32, POOL);
            KvPool pool = new KvPool(m, CacheType.Q8_0, 0);
            KvBlock block = pool.take();
            long bytes = 0;
            for (Object page : block.layers) {
                bytes += ((byte[]) page).length;
            }
            assertEquals(KvPool.BLOCK_TOKENS * ModelStats.kvBytesPerToken(c, CacheType.Q8_0), bytes, "a pool block holds both rows");
        }
        // The pool's pages are those sizes.
        assertEquals(16 * 576 * 34 / 32, ((byte[]) KvLayer.newPage(CacheType.Q8_0, 576, 1)).length);
        assertEquals(16 * 576, ((short[]) KvLayer.newPage(CacheType.F16, 576, 1)).length);
    }
}
