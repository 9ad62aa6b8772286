package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.jseek.model.CacheType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A batch-invariant scheduler: seeded samples of many requests running together (prompts of different lengths,
 * started at different steps, decode and prefill mixed) are what each gives alone — the tokens, and each token's
 * log-probability to the bit (which the default mode does not keep: checked, so the comparison can fail).
 */
class BatchInvariantSchedulerTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));
    private static final Path MODELS = Path.of(System.getProperty("jseek.models", "../models"));

    @ParameterizedTest
    @ValueSource(strings = {"testdata/r1qwen-q8_0.gguf", "testdata/ds3-q4_0.gguf", "models/jseek-r1-addition.gguf"})
    void seededSamplesDoNotDependOnTheBatch(String file) throws Exception {
        Path path = (file.startsWith("models/") ? MODELS : DATA).resolve(Path.of(file).getFileName());
        List<int[]> prompts = new ArrayList<>();
        List<GenerationOptions> options = new ArrayList<>();
        try (LoadedModel m = LoadedModel.open(path, 2)) {
            String[] texts = {"12+34+56=", "Hello there, how are you doing today?", "7+8+9=", "A", "99+1+2=",
                "The quick brown fox jumps over the lazy dog and keeps running far away"};
            for (int i = 0; i < texts.length; i++) {
                prompts.add(m.tokenizer().encode(texts[i], true, false));
                options.add(new GenerationOptions(24, new SamplerConfig(1.0f, 0, 1, 0, 1, 0, 0, 64, 100 + i),
                        List.of(), false, 1, null));
            }
            List<float[]> alone = run(m, 1, false, prompts, options);
            List<float[]> together = run(m, 4, true, prompts, options);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(alone.get(i), together.get(i), file + " request " + i);
            }
            if (file.contains("r1qwen")) {
                List<float[]> defaults = run(m, 4, false, prompts, options);
                boolean differs = false;
                for (int i = 0; i < prompts.size(); i++) {
                    differs |= !java.util.Arrays.equals(alone.get(i), defaults.get(i));
                }
                org.junit.jupiter.api.Assertions.assertTrue(differs, "the default mode kept every bit: no contrast");
            }
        }
    }

    /** One request's tokens and their log-probabilities, interleaved, and its result. */
    record Run(float[] tokensAndLogprobs, Generation generation) {
    }

    /**
     * Every request through one scheduler ({@code parallel} slots; one means each alone), batch-invariant unless
     * {@code invariant} is false with several slots.
     */
    static List<Run> runs(LoadedModel m, int parallel, boolean invariant, List<int[]> prompts,
                          List<GenerationOptions> options) throws Exception {
        boolean mode = parallel == 1 || invariant;
        try (Scheduler s = new Scheduler(m, new Scheduler.Config(parallel, 128, 1024, CacheType.F32, 5, 8, mode))) {
            List<Scheduler.Handle> handles = new ArrayList<>();
            List<List<Float>> seen = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                List<Float> mine = java.util.Collections.synchronizedList(new ArrayList<>());
                seen.add(mine);
                handles.add(s.submit(prompts.get(i), options.get(i), new GenerationListener() {
                    @Override
                    public void onToken(TokenLogprob token) {
                        mine.add((float) token.id());
                        mine.add(token.logprob());
                    }
                }));
                if (parallel == 1) {
                    handles.getLast().result().get();
                } else if (i == 2) {
                    Thread.sleep(20); // later ones join a running batch
                }
            }
            List<Run> out = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                Generation g = handles.get(i).result().get();
                float[] a = new float[seen.get(i).size()];
                for (int k = 0; k < a.length; k++) {
                    a[k] = seen.get(i).get(k);
                }
                out.add(new Run(a, g));
            }
            return out;
        }
    }

    private static List<float[]> run(LoadedModel m, int parallel, boolean invariant, List<int[]> prompts,
                                     List<GenerationOptions> options) throws Exception {
        return runs(m, parallel, invariant, prompts, options).stream().map(Run::tokensAndLogprobs).toList();
    }
}
