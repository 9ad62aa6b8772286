package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.kernel.MatMul;
import io.jseek.model.CacheType;
import io.jseek.model.Session;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Speculative decoding keeps every token of plain decoding. Exactly so when the k-token verify pass computes each row
 * as a one-token pass would (batch-invariant mode: the comparison is then bit for bit, greedy and seeded sampling
 * alike); in the default mode the verify pass rounds differently, so a near tie may break the other way.
 */
class SpeculationTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final Path MODELS = Path.of(System.getProperty("jseek.models", "../models"));

    private static final String[] PROMPTS = {
        "12+34+56=", "A B C D A B C D A B C", "def add(a, b):\n    return a + b\n\ndef add(a, b):\n",
        "Hello there, how are you doing today? Hello there,", "7+8+9=", "the cat the cat the cat the",
    };

    @ParameterizedTest
    @ValueSource(strings = {"testdata/r1qwen-q8_0.gguf", "testdata/ds3-q4_0.gguf", "testdata/r1llama-q4_k.gguf",
        "testdata/ds2lite-q8_0.gguf", "testdata/ds32-q8_0.gguf", "models/jseek-r1-addition.gguf"})
    void sameTokensAsPlainDecoding(String file) {
        Path path = (file.startsWith("models/") ? MODELS : DATA).resolve(Path.of(file).getFileName());
        MatMul.batchInvariant(true);
        try (LoadedModel m = LoadedModel.open(path, 2); LoadedModel draft = LoadedModel.open(path, 1)) {
            int[] drafted = new int[4];
            int[] accepted = new int[4];
            for (int i = 0; i < PROMPTS.length; i++) {
                int[] prompt = m.tokenizer().encode(PROMPTS[i], true, false);
                for (SamplerConfig sampler : new SamplerConfig[] {SamplerConfig.greedy(),
                        new SamplerConfig(0.9f, 40, 0.95f, 0.05f, 1, 0, 0, 64, 7 + i)}) {
                    GenerationOptions opt = new GenerationOptions(40, sampler, List.of(), false);
                    Generation plain = run(m, prompt, opt, null);
                    // Prompt lookup, and an oracle that knows the answer but spoils every other proposal's last
                    // token: kept and refused drafts on every model, whatever its random weights repeat.
                    // A model with an MTP block also drafts with it (three tokens: the chained ones are refused more).
                    Drafter[] drafters = {Speculation.ngram(6).drafter(m.network()), new Oracle(prompt.length, plain.tokens()),
                        Speculation.draft(draft, 4).drafter(m.network()),
                        m.network().mtp() != null ? Speculation.mtp(3).drafter(m.network()) : Speculation.ngram(2).drafter(m.network())};
                    for (int k = 0; k < drafters.length; k++) {
                        Generation spec = run(m, prompt, opt, drafters[k]);
                        String what = file + " prompt " + i + " " + sampler + " " + drafters[k].getClass().getSimpleName();
                        assertArrayEquals(plain.tokens(), spec.tokens(), what);
                        assertEquals(plain.content(), spec.content(), what);
                        assertEquals(plain.stopReason(), spec.stopReason(), what);
                        drafted[k] += spec.draftedTokens();
                        accepted[k] += spec.acceptedTokens();
                    }
                }
            }
            assertTrue(accepted[1] > 0 && accepted[1] < drafted[1], file + ": " + accepted[1] + " of " + drafted[1]);
            // The model drafting for itself: its greedy drafts are its greedy answer (kept unless sampling differs).
            assertTrue(accepted[2] > drafted[2] / 2, file + " drafting for itself: " + accepted[2] + " of " + drafted[2]);
        } finally {
            MatMul.batchInvariant(false);
        }
    }

    /**
     * Speculative sampling follows the model's distribution, checked against the distribution itself: three tokens
     * sampled (top-k 3, temperature 1.5) after a prompt of the embedded model, 6,000 seeds, each run verifying two
     * drafts (the likeliest continuation, so drafts are kept and refused); the 27 sequences' frequencies against
     * their exact probabilities (products of the softmaxes over each prefix's three best logits, computed here from
     * plain forward passes): chi-square below the 0.1 % critical value. Deterministic (fixed seeds).
     */
    @Test
    void speculativeSamplingFollowsTheModelsDistribution() {
        MatMul.batchInvariant(true);
        try (LoadedModel m = LoadedModel.open(MODELS.resolve("jseek-r1-addition.gguf"), 1)) {
            int[] prompt = m.tokenizer().encode("<think>\n3+4=", true, true);
            float temperature = 1.5f;
            // Exact probabilities of every three-token continuation, and each prefix's likeliest next two tokens.
            java.util.Map<List<Integer>, Double> exact = new java.util.HashMap<>();
            java.util.Map<List<Integer>, int[]> likeliest = new java.util.HashMap<>();
            expand(m, prompt, List.of(), 1.0, temperature, exact, likeliest);
            int samples = 6000;
            java.util.Map<List<Integer>, Integer> seen = new java.util.HashMap<>();
            int drafted = 0;
            int kept = 0;
            for (int seed = 0; seed < samples; seed++) {
                GenerationOptions opt = new GenerationOptions(3, new SamplerConfig(temperature, 3, 1, 0, 1, 0, 0, 64, seed),
                        List.of(), false);
                Drafter guess = new Drafter() {
                    @Override
                    public int propose(int[] tokens, int count, int max, int[] out) {
                        List<Integer> done = new java.util.ArrayList<>();
                        for (int i = prompt.length; i < count; i++) {
                            done.add(tokens[i]);
                        }
                        int[] next = likeliest.get(done);
                        int n = Math.min(max, next.length);
                        System.arraycopy(next, 0, out, 0, n);
                        return n;
                    }

                    @Override
                    public int maxDraft() {
                        return 2;
                    }

                    @Override
                    public void accepted(int proposed, int k) {
                    }
                };
                Generation g = run(m, prompt, opt, guess);
                List<Integer> key = java.util.Arrays.stream(g.tokens()).boxed().toList();
                seen.merge(key, 1, Integer::sum);
                drafted += g.draftedTokens();
                kept += g.acceptedTokens();
            }
            assertEquals(samples, seen.entrySet().stream().filter(e -> exact.containsKey(e.getKey()))
                    .mapToInt(java.util.Map.Entry::getValue).sum(), "nothing outside the top-3 tree: " + seen);
            // Cells expected below 5 are pooled, as the test requires.
            double chi = 0;
            double pooledExpected = 0;
            int pooledSeen = 0;
            int cells = 0;
            for (var e : exact.entrySet()) {
                double expected = e.getValue() * samples;
                int observed = seen.getOrDefault(e.getKey(), 0);
                if (expected < 5) {
                    pooledExpected += expected;
                    pooledSeen += observed;
                } else {
                    chi += (observed - expected) * (observed - expected) / expected;
                    cells++;
                }
            }
            if (pooledExpected > 0) {
                chi += (pooledSeen - pooledExpected) * (pooledSeen - pooledExpected) / Math.max(pooledExpected, 1e-9);
                cells++;
            }
            // 0.1 % critical values of chi-square for 1 … 26 degrees of freedom.
            double[] critical = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26, 32.91, 34.53,
                36.12, 37.70, 39.25, 40.79, 42.31, 43.82, 45.31, 46.80, 48.27, 49.73, 51.18, 52.62, 54.05};
            int dof = cells - 1;
            assertTrue(dof >= 3, "too few cells: " + exact);
            assertTrue(chi < critical[dof - 1], "chi-square " + chi + " with " + dof + " dof; seen " + seen + " exact " + exact);
            assertTrue(kept > drafted / 10 && kept < drafted, kept + " of " + drafted + " drafts kept");
        } finally {
            MatMul.batchInvariant(false);
        }
    }

    /** Fills the exact probability of every continuation of {@code done} up to three tokens (top-3 softmax each). */
    private static void expand(LoadedModel m, int[] prompt, List<Integer> done, double p, float temperature,
                               java.util.Map<List<Integer>, Double> exact, java.util.Map<List<Integer>, int[]> likeliest) {
        if (done.size() == 3) {
            exact.put(done, p);
            return;
        }
        int[] tokens = java.util.Arrays.copyOf(prompt, prompt.length + done.size());
        for (int i = 0; i < done.size(); i++) {
            tokens[prompt.length + i] = done.get(i);
        }
        Session s = m.network().newSession(64);
        float[] logits = m.network().forward(s, tokens, false)[0].clone();
        s.close();
        int[] top = Sampler.top(logits, 3);
        double[] w = new double[3];
        double sum = 0;
        for (int i = 0; i < 3; i++) {
            w[i] = Math.exp((logits[top[i]] - logits[top[0]]) / (double) temperature);
            sum += w[i];
        }
        for (int i = 0; i < 3; i++) {
            List<Integer> next = new java.util.ArrayList<>(done);
            next.add(top[i]);
            if (m.tokenizer().isEndOfGeneration(top[i])) {
                exact.put(List.copyOf(next), p * w[i] / sum); // the sequence ends there
            } else {
                expand(m, prompt, List.copyOf(next), p * w[i] / sum, temperature, exact, likeliest);
            }
        }
        if (done.size() < 2) {
            // The likeliest two tokens after this prefix: its best, then the best after that.
            List<Integer> first = new java.util.ArrayList<>(done);
            first.add(top[0]);
            int[] after = likeliest.get(List.copyOf(first));
            likeliest.put(done, after == null ? new int[] {top[0]} : new int[] {top[0], after[0]});
        } else {
            likeliest.put(done, new int[] {top[0]});
        }
    }

    /**
     * A draft model of the same weights at lower precision (r1qwen Q8_0 drafting for its F32 original, as a 1.5B
     * drafts for a 7B): the same tokens as plain decoding, most drafts kept; through the public API.
     */
    @Test
    void draftModelOfTheSameVocabulary() {
        MatMul.batchInvariant(true);
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-f32.gguf"), 2);
             LoadedModel small = LoadedModel.open(DATA.resolve("r1qwen-q8_0.gguf"), 2)) {
            int drafted = 0;
            int accepted = 0;
            for (int i = 0; i < PROMPTS.length; i++) {
                GenerationOptions opt = new GenerationOptions(40, SamplerConfig.greedy(), List.of(), false);
                m.useSpeculation(Speculation.NONE);
                Generation plain = m.complete(PROMPTS[i], new ContextPlan(256, CacheType.F32), opt, new GenerationListener() { });
                m.useSpeculation(Speculation.draft(small, 5));
                Generation spec = m.complete(PROMPTS[i], new ContextPlan(256, CacheType.F32), opt, new GenerationListener() { });
                assertArrayEquals(plain.tokens(), spec.tokens(), "prompt " + i);
                drafted += spec.draftedTokens();
                accepted += spec.acceptedTokens();
            }
            assertTrue(accepted > drafted * 0.8, accepted + " of " + drafted + " kept");
        } finally {
            MatMul.batchInvariant(false);
        }
    }

    @Test
    void draftModelMustShareTheVocabulary() {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-q8_0.gguf"), 1);
             LoadedModel other = LoadedModel.open(DATA.resolve("ds3-q4_0.gguf"), 1)) {
            var e = assertThrows(io.jseek.core.JseekException.class, () -> m.useSpeculation(Speculation.draft(other, 4)));
            assertTrue(e.getMessage().contains("another vocabulary"), e.getMessage());
            assertEquals(Speculation.NONE, m.speculation(), "unchanged");
        }
    }

    private static Generation run(LoadedModel m, int[] prompt, GenerationOptions opt, Drafter drafter) {
        Session s = m.network().newSession(256);
        return new Generator(m.network(), m.tokenizer(), Speculation.NONE)
                .generate(s, prompt, 0, prompt, opt, new GenerationListener() { }, drafter);
    }

    /** Proposes the known answer's next tokens (up to 4), the last of every other proposal spoilt. */
    private static final class Oracle implements Drafter {
        private final int promptLength;
        private final int[] answer;
        private int calls;

        Oracle(int promptLength, int[] answer) {
            this.promptLength = promptLength;
            this.answer = answer;
        }

        @Override
        public int propose(int[] tokens, int count, int max, int[] out) {
            int at = count - promptLength;
            int n = Math.min(Math.min(max, 4), answer.length - at);
            if (n <= 0) {
                return 0;
            }
            System.arraycopy(answer, at, out, 0, n);
            if (calls++ % 2 == 1) {
                out[n - 1] = (out[n - 1] + 1) % 50;
            }
            return n;
        }

        @Override
        public int maxDraft() {
            return 4;
        }

        @Override
        public void accepted(int proposed, int kept) {
        }
    }

    /**
     * DeepSeek-V4's cache gives back its window and compressor rows beyond a margin as it goes (Session.REWIND_MARGIN):
     * drafts rejected far past that point (a 300-token prompt, 120 tokens decoded, every other proposal spoilt) are
     * still taken back exactly — the tokens and the next logits are plain decoding's.
     */
    @Test
    void v4TakesBackDraftsWhileItsCacheForgets() {
        MatMul.batchInvariant(true);
        try (LoadedModel m = LoadedModel.open(DATA.resolve("ds4-f32.gguf"), 2)) {
            int[] prompt = new java.util.Random(3).ints(300, 3, 900).toArray();
            GenerationOptions opt = new GenerationOptions(120, SamplerConfig.greedy(), List.of(), false);
            float[][] next = new float[2][];
            int[][] tokens = new int[2][];
            for (int k = 0; k < 2; k++) {
                Session s = m.network().newSession(512);
                Drafter drafter = k == 0 ? null : new Oracle(prompt.length, tokens[0]);
                Generation g = new Generator(m.network(), m.tokenizer(), Speculation.NONE).generate(s, prompt, 0, prompt,
                        opt, new GenerationListener() { }, drafter);
                tokens[k] = g.tokens();
                next[k] = m.network().forward(s, new int[] {g.tokens()[g.generatedTokens() - 1]}, false)[0].clone();
            }
            assertTrue(tokens[0].length > 64, "decoded " + tokens[0].length);
            assertArrayEquals(tokens[0], tokens[1]);
            assertArrayEquals(next[0], next[1]);
        } finally {
            MatMul.batchInvariant(false);
        }
    }

    /** The session after speculation holds what plain decoding would: a next turn continues from the same cache. */
    @Test
    void cacheEndsAsPlainDecodingLeavesIt() {
        MatMul.batchInvariant(true);
        try (LoadedModel m = LoadedModel.open(DATA.resolve("r1qwen-q8_0.gguf"), 2)) {
            int[] prompt = m.tokenizer().encode(PROMPTS[5], true, false);
            GenerationOptions opt = new GenerationOptions(30, SamplerConfig.greedy(), List.of(), false);
            float[][] next = new float[2][];
            int[][] tokens = new int[2][];
            for (int k = 0; k < 2; k++) {
                Session s = m.network().newSession(128);
                Generation g = new Generator(m.network(), m.tokenizer(), Speculation.NONE).generate(s, prompt, 0, prompt,
                        opt, new GenerationListener() { }, k == 0 ? null : Speculation.ngram(4).drafter(m.network()));
                tokens[k] = g.tokens();
                assertEquals(prompt.length + g.generatedTokens() - 1, s.position(), "the last token is not fed");
                next[k] = m.network().forward(s, new int[] {g.tokens()[g.generatedTokens() - 1]}, false)[0].clone();
            }
            assertArrayEquals(tokens[0], tokens[1]);
            assertArrayEquals(next[0], next[1]);
        } finally {
            MatMul.batchInvariant(false);
        }
    }

    /**
     * The scheduler speculates per sequence inside its shared batches (drafting and non-drafting sequences, prefill
     * chunks beside verify passes): in batch-invariant mode every request's tokens and their log-probabilities are
     * those of the same scheduler without drafts, bit for bit.
     */
    @ParameterizedTest
    @ValueSource(strings = {"r1qwen-q8_0.gguf ngram:5", "ds3-q4_0.gguf ngram:5", "jseek-r1-addition.gguf mtp:2"})
    void schedulerKeepsEveryTokenAndLogprob(String fileAndMode) throws Exception {
        String file = fileAndMode.split(" ")[0];
        Path path = file.startsWith("jseek-") ? MODELS.resolve(file) : DATA.resolve(file);
        try (LoadedModel m = LoadedModel.open(path, 2)) {
            List<int[]> prompts = new java.util.ArrayList<>();
            List<GenerationOptions> options = new java.util.ArrayList<>();
            for (int i = 0; i < PROMPTS.length; i++) {
                prompts.add(m.tokenizer().encode(PROMPTS[i], true, false));
                SamplerConfig sampler = i % 2 == 0 ? SamplerConfig.greedy()
                        : new SamplerConfig(0.9f, 40, 0.95f, 0.05f, 1, 0, 0, 64, 30 + i);
                options.add(new GenerationOptions(32, sampler, List.of(), false, 1, null));
            }
            m.useSpeculation(Speculation.NONE);
            var plain = BatchInvariantSchedulerTest.runs(m, 4, true, prompts, options);
            m.useSpeculation(Speculation.parse(fileAndMode.split(" ")[1]));
            var spec = BatchInvariantSchedulerTest.runs(m, 4, true, prompts, options);
            int drafted = 0;
            int accepted = 0;
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(plain.get(i).tokensAndLogprobs(), spec.get(i).tokensAndLogprobs(), file + " request " + i);
                Generation g = spec.get(i).generation();
                drafted += g.draftedTokens();
                accepted += g.acceptedTokens();
            }
            assertTrue(accepted > 0 && accepted < drafted, file + ": " + accepted + " of " + drafted + " kept");
        }
    }

    /**
     * The embedded model drafting with its own MTP block, on its task (200 held-out-style problems, greedy and sampled at
     * temperature 1): every answer is plain decoding's, bit for bit, in batch-invariant mode, and most drafts are kept
     * (the block was trained for this: docs/benchmarks.md measures the rate).
     */
    @Test
    void mtpDraftsOfTheEmbeddedModelAreKeptAndChangeNothing() {
        MatMul.batchInvariant(true);
        try (LoadedModel m = LoadedModel.open(MODELS.resolve("jseek-r1-addition.gguf"), 2)) {
            java.util.Random rnd = new java.util.Random(5);
            int drafted = 0;
            int accepted = 0;
            for (int i = 0; i < 200; i++) {
                StringBuilder q = new StringBuilder("Q ");
                for (int k = 0, terms = 3 + rnd.nextInt(2); k < terms; k++) {
                    q.append(k > 0 ? "+" : "").append(10 + rnd.nextInt(90));
                }
                int[] prompt = m.tokenizer().encode(q.append('=').toString(), true, false);
                SamplerConfig sampler = i % 2 == 0 ? SamplerConfig.greedy()
                        : new SamplerConfig(1f, 0, 1, 0, 1, 0, 0, 64, i);
                GenerationOptions opt = new GenerationOptions(64, sampler, List.of(), false);
                Generation plain = run(m, prompt, opt, null);
                Generation spec = run(m, prompt, opt, Speculation.mtp(1).drafter(m.network()));
                assertArrayEquals(plain.tokens(), spec.tokens(), "problem " + i);
                drafted += spec.draftedTokens();
                accepted += spec.acceptedTokens();
            }
            assertTrue(accepted > 0.6 * drafted, accepted + " of " + drafted + " MTP drafts kept");
        } finally {
            MatMul.batchInvariant(false);
        }
    }

    @Test
    void mtpNeedsAModelWithTheBlock() {
        try (LoadedModel m = LoadedModel.open(DATA.resolve("ds3-q4_0.gguf"), 1)) {
            var e = assertThrows(io.jseek.core.JseekException.class, () -> m.useSpeculation(Speculation.mtp(1)));
            assertTrue(e.getMessage().contains("no multi-token-prediction block"), e.getMessage());
            assertEquals(Speculation.NONE, m.speculation(), "unchanged");
        }
    }

    @Test
    void promptLookupProposesWhatFollowedTheLatestMatch() {
        PromptLookup p = new PromptLookup(3);
        p.accepted(2, 2); // past the first, shorter guess
        int[] out = new int[8];
        int[] seq = {5, 1, 2, 9, 9, 1, 2, 7, 8, 3, 1, 2};
        // "1 2" occurred last at 5..6, followed by 7 8 3.
        assertEquals(3, p.propose(seq, seq.length, 8, out));
        assertArrayEquals(new int[] {7, 8, 3}, java.util.Arrays.copyOf(out, 3));
        // The longest match wins: "9 1 2" only at 4..6 (followed by 7 …), over the shorter one.
        int[] seq2 = {9, 1, 2, 4, 0, 1, 2, 6, 9, 1, 2};
        assertEquals(3, p.propose(seq2, seq2.length, 8, out));
        assertArrayEquals(new int[] {4, 0, 1}, java.util.Arrays.copyOf(out, 3));
        assertEquals(0, p.propose(new int[] {1, 2, 3, 4}, 4, 8, out), "no repeat, no guess");
        p.accepted(3, 1);
        assertEquals(2, p.propose(seq, seq.length, 8, out), "a partly kept guess shortens the next");
        p.accepted(2, 2);
        assertEquals(3, p.propose(seq, seq.length, 8, out), "a kept one lengthens it");
        p.accepted(3, 0);
        assertEquals(0, p.propose(seq, seq.length, 8, out), "a refused one rests a step");
        assertEquals(1, p.propose(seq, seq.length, 8, out));
        p.accepted(1, 0);
        assertEquals(0, p.propose(seq, seq.length, 8, out), "twice: two steps");
        assertEquals(0, p.propose(seq, seq.length, 8, out));
        assertEquals(1, p.propose(seq, seq.length, 8, out));
    }

    @Test
    void parsesTheOption() {
        assertEquals(Speculation.ngram(Speculation.DEFAULT_DRAFT), Speculation.parse("ngram"));
        assertEquals(Speculation.ngram(5), Speculation.parse("NGRAM:5"));
        assertEquals(Speculation.NONE, Speculation.parse("none"));
        assertEquals(Speculation.mtp(Speculation.DEFAULT_MTP_DRAFT), Speculation.parse("mtp"));
        assertEquals(Speculation.mtp(3), Speculation.parse("mtp:3"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Speculation.parse("mtpx")).getMessage().contains("mtpx"));
        assertThrows(IllegalArgumentException.class, () -> Speculation.parse("ngram:0"));
        assertThrows(IllegalArgumentException.class, () -> Speculation.parse("ngram:x"));
    }
}
