package io.jseek.bench;

import io.jseek.engine.ContextPlan;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Speculation;
import io.jseek.model.CacheType;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Speculative decoding on the embedded model's task (docs/benchmarks.md): N addition problems ("Q a+b+c=", 3–4
 * two-digit numbers, seed 7) answered with and without drafts, greedy and at temperature 1 (seeded per problem);
 * prints the share of drafts kept, tokens per forward pass, decode tokens/s of each (the model's answers, prompts
 * excluded) and whether the answers were identical. Each mode runs twice, the first a warm-up.
 * {@code java -cp ... io.jseek.bench.SpecDecode MODEL.gguf [threads N spec...]} (spec: mtp, mtp:2, ngram …).
 */
public final class SpecDecode {
    private SpecDecode() {
    }

    public static void main(String[] args) {
        Path path = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        List<String> specs = args.length > 3 ? List.of(args).subList(3, args.length) : List.of("mtp");
        Random r = new Random(7);
        String[] prompts = new String[n];
        for (int i = 0; i < n; i++) {
            StringBuilder q = new StringBuilder("Q ");
            for (int k = 0, terms = 3 + r.nextInt(2); k < terms; k++) {
                q.append(k > 0 ? "+" : "").append(10 + r.nextInt(90));
            }
            prompts[i] = q.append('=').toString();
        }
        try (LoadedModel m = LoadedModel.open(path, threads)) {
            for (boolean greedy : new boolean[] {true, false}) {
                String[][] plainText = null;
                for (String spec : prepend("none", specs)) {
                    m.useSpeculation(Speculation.parse(spec));
                    Result res = null;
                    for (int round = 0; round < 2; round++) {
                        res = run(m, prompts, greedy);
                    }
                    if (plainText == null) {
                        plainText = res.texts;
                    }
                    System.out.printf(Locale.ROOT, "%-6s %-7s drafted %6d kept %6d (%.1f %%) tokens %6d passes %6d "
                                    + "(%.2f tokens a pass) %.1f tokens/s answers %s%n", greedy ? "greedy" : "T=1", spec,
                            res.drafted, res.kept, 100.0 * res.kept / Math.max(1, res.drafted), res.tokens, res.passes,
                            (double) res.tokens / res.passes, res.tokens / res.seconds,
                            java.util.Arrays.deepEquals(plainText, res.texts) ? "identical" : "DIFFERENT");
                }
            }
        }
    }

    private static List<String> prepend(String first, List<String> rest) {
        List<String> out = new java.util.ArrayList<>();
        out.add(first);
        out.addAll(rest);
        return out;
    }

    private record Result(long drafted, long kept, long tokens, long passes, double seconds, String[][] texts) {
    }

    private static Result run(LoadedModel m, String[] prompts, boolean greedy) {
        long drafted = 0;
        long kept = 0;
        long tokens = 0;
        long passes = 0;
        double seconds = 0;
        String[][] texts = new String[prompts.length][];
        for (int i = 0; i < prompts.length; i++) {
            SamplerConfig s = greedy ? SamplerConfig.greedy() : new SamplerConfig(1f, 0, 1, 0, 1, 0, 0, 64, i);
            Generation g = m.complete(prompts[i], new ContextPlan(128, CacheType.F32),
                    new GenerationOptions(64, s, List.of(), false), new GenerationListener() { });
            drafted += g.draftedTokens();
            kept += g.acceptedTokens();
            tokens += g.generatedTokens();
            // The first token comes from the prompt's pass; each later pass emits one token plus the drafts it kept.
            passes += g.generatedTokens() - 1 - g.acceptedTokens();
            seconds += g.generationSeconds();
            texts[i] = new String[] {g.reasoning(), g.content()};
        }
        return new Result(drafted, kept, tokens - prompts.length, passes, seconds, texts);
    }
}
