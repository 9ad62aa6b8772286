package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.jseek.model.CacheType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Continuous batching against llama.cpp's greedy continuations, the prefix cache, cancellation and a full pool. */
class SchedulerTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final GenerationListener QUIET = new GenerationListener() { };

    private static GenerationOptions greedy(int n) {
        return new GenerationOptions(n, SamplerConfig.greedy(), List.of(), false);
    }

    /** Every sequence of the model at once, in one batch with small prefill chunks: each continues as llama.cpp did alone. */
    @ParameterizedTest
    @ValueSource(strings = {"r1qwen-f32", "ds3-f32", "ds2lite-f32", "r1llama-f32", "ds32-f32"})
    void concurrentRequestsGenerateWhatLlamaCppGeneratesAlone(String model) throws Exception {
        try (LoadedModel m = LoadedModel.open(DATA.resolve(model + ".gguf"), 2);
             Scheduler s = new Scheduler(m, new Scheduler.Config(8, 256, 1024, CacheType.F32, 7, 16))) {
            List<Scheduler.Handle> handles = new ArrayList<>();
            List<int[]> expected = new ArrayList<>();
            for (JsonNode seq : EngineReferenceTest.json(model).get("sequences")) {
                int[] want = EngineReferenceTest.ids(seq.get("greedy").get("tokens"));
                expected.add(want);
                handles.add(s.submit(EngineReferenceTest.ids(seq.get("tokens")), greedy(want.length), QUIET));
            }
            for (int i = 0; i < handles.size(); i++) {
                Generation g = handles.get(i).result().get(60, TimeUnit.SECONDS);
                int n = g.tokens().length;
                assertArrayEquals(Arrays.copyOf(expected.get(i), n), g.tokens(), model + " sequence " + i);
                assertTrue(n == expected.get(i).length || m.tokenizer().isEndOfGeneration(g.tokens()[n - 1]));
            }
            assertTrue(s.stats().steps() > 4, "prompts went in chunks");
            assertEquals(s.stats().prefixCacheBlocks(), s.stats().kvBlocksUsed(), "only the cache holds blocks");
        }
    }

    /** ds32: the cached blocks carry the indexer's keys too, and the prompt is long enough to be sparse. */
    @ParameterizedTest
    @ValueSource(strings = {"ds3-f32", "ds32-f32"})
    void aRepeatedPromptStartsFromTheCacheAndAnswersTheSame(String model) throws Exception {
        JsonNode seq = EngineReferenceTest.json(model).get("sequences").get(1);
        int[] prompt = EngineReferenceTest.ids(seq.get("tokens"));
        int[] want = EngineReferenceTest.ids(seq.get("greedy").get("tokens"));
        try (LoadedModel m = LoadedModel.open(DATA.resolve(model + ".gguf"), 2);
             Scheduler s = new Scheduler(m, new Scheduler.Config(2, 256, 512, CacheType.F32, 64, 4))) {
            Generation first = s.submit(prompt, greedy(want.length), QUIET).result().get(60, TimeUnit.SECONDS);
            Scheduler.Handle h = s.submit(prompt, greedy(want.length), QUIET);
            Generation second = h.result().get(60, TimeUnit.SECONDS);
            assertEquals(0, first.reusedTokens());
            assertEquals((prompt.length - 1) / 16 * 16, h.cachedTokens());
            assertTrue(h.cachedTokens() > 0, "prompt of " + prompt.length + " tokens");
            assertEquals(h.cachedTokens(), second.reusedTokens());
            assertArrayEquals(Arrays.copyOf(want, first.tokens().length), first.tokens());
            assertArrayEquals(first.tokens(), second.tokens());
            assertEquals(prompt.length, s.stats().prefixQueryTokens() / 2);
            assertEquals(h.cachedTokens(), s.stats().prefixHitTokens());
        }
    }

    @Test
    void cancellingStopsARunningRequestAndFreesItsBlocks() throws Exception {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-f32.gguf"), 1);
             Scheduler s = new Scheduler(m, new Scheduler.Config(2, 512, 512, CacheType.F32, 64, 4))) {
            CountDownLatch started = new CountDownLatch(3);
            GenerationListener counting = new GenerationListener() {
                @Override
                public void onContent(String delta) {
                    started.countDown();
                }
            };
            int[] prompt = {5, 6, 7, 8};
            GenerationOptions forever = new GenerationOptions(400, SamplerConfig.defaults(3),
                    List.of(), false);
            Scheduler.Handle h = s.submit(prompt, forever, counting);
            assertTrue(started.await(30, TimeUnit.SECONDS));
            h.cancel();
            Generation g = h.result().get(30, TimeUnit.SECONDS);
            assertEquals(Generation.StopReason.CANCELLED, g.stopReason());
            assertTrue(g.tokens().length < 400);
            assertEquals(0, s.stats().running());
            assertEquals(s.stats().prefixCacheBlocks(), s.stats().kvBlocksUsed());
            assertEquals(1, s.stats().cancelled());
        }
    }

    @Test
    void whenTheCacheRunsOutTheYoungestSequenceStopsAndTheOthersFinish() throws Exception {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-f32.gguf"), 1);
             // Room for 64 positions in all, two sequences that want 60 each.
             Scheduler s = new Scheduler(m, new Scheduler.Config(2, 64, 64, CacheType.F32, 64, 4))) {
            GenerationOptions opt = new GenerationOptions(56, new SamplerConfig(0.8f, 0, 1, 0, 1, 0, 0, 64, 1,
                    java.util.Map.of(m.tokenizer().eos(), Float.NEGATIVE_INFINITY)), List.of(), false);
            Scheduler.Handle a = s.submit(new int[] {5, 6, 7, 8}, opt, QUIET);
            Scheduler.Handle b = s.submit(new int[] {9, 10, 11, 12}, opt, QUIET);
            Generation ga = a.result().get(60, TimeUnit.SECONDS);
            Generation gb = b.result().get(60, TimeUnit.SECONDS);
            assertEquals(Generation.StopReason.MAX_TOKENS, ga.stopReason());
            assertEquals(Generation.StopReason.NO_MEMORY, gb.stopReason());
        }
    }

    @Test
    void aRequestLargerThanTheContextOrAFullQueueIsRefused() {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-f32.gguf"), 1);
             Scheduler s = new Scheduler(m, new Scheduler.Config(1, 32, 32, CacheType.F32, 64, 0))) {
            var e = assertThrows(io.jseek.core.JseekException.class, () -> s.submit(new int[30], greedy(8), QUIET));
            assertEquals("the prompt has 30 tokens and up to 8 more are asked for, but the context holds 32", e.getMessage());
            assertThrows(io.jseek.core.JseekException.class, () -> s.submit(new int[] {1_000_000}, greedy(1), QUIET));
        }
    }

    /**
     * A failure in one sequence's decoding (here its listener) fails that sequence only; an Error stops the loop,
     * which then says why ({@link Scheduler#fault}) and refuses new requests instead of looking healthy.
     */
    @Test
    void aSequenceFailsAloneAndAnErrorStopsTheSchedulerVisibly() throws Exception {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-f32.gguf"), 2);
             Scheduler s = new Scheduler(m, new Scheduler.Config(4, 256, 1024, CacheType.F32, 32, 16))) {
            int[] prompt = m.tokenizer().encode("Hello there", true, false);
            GenerationListener throwing = new GenerationListener() {
                @Override
                public void onToken(TokenLogprob t) {
                    throw new IllegalStateException("listener broke");
                }

                @Override
                public void onContent(String d) {
                    throw new IllegalStateException("listener broke");
                }

                @Override
                public void onReasoning(String d) {
                    throw new IllegalStateException("listener broke");
                }
            };
            var bad = s.submit(prompt, greedy(8), throwing);
            var good = s.submit(prompt, greedy(8), QUIET);
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> bad.result().get(30, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("listener broke"), e.toString());
            assertEquals(8, good.result().get(30, java.util.concurrent.TimeUnit.SECONDS).generatedTokens());
            assertEquals(null, s.fault(), "one sequence's failure is not the scheduler's");

            GenerationListener fatal = new GenerationListener() {
                @Override
                public void onContent(String d) {
                    throw new AssertionError("an Error in the loop");
                }

                @Override
                public void onReasoning(String d) {
                    throw new AssertionError("an Error in the loop");
                }
            };
            var dies = s.submit(prompt, greedy(8), fatal);
            assertThrows(java.util.concurrent.ExecutionException.class, () -> dies.result().get(30, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(s.fault() instanceof AssertionError, String.valueOf(s.fault()));
            var refused = assertThrows(Scheduler.StoppedException.class, () -> s.submit(prompt, greedy(2), QUIET));
            assertTrue(refused.getMessage().contains("an Error in the loop"), refused.getMessage());
        }
    }
}
