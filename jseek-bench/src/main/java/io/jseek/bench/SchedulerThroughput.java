package io.jseek.bench;

import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Scheduler;
import io.jseek.model.CacheType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * What batch-invariant mode costs (docs/benchmarks.md): N requests of a P-token random prompt and G sampled tokens
 * each through one scheduler with S slots, default kernels against batch-invariant ones, in one JVM (a warm-up
 * round first). {@code java -cp ... io.jseek.bench.SchedulerThroughput MODEL.gguf [threads S N P G]}.
 */
public final class SchedulerThroughput {
    private SchedulerThroughput() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int slots = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int n = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        int promptLength = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        int generate = args.length > 5 ? Integer.parseInt(args[5]) : 32;
        try (LoadedModel m = LoadedModel.open(model, threads)) {
            Random r = new Random(1);
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int[] p = new int[promptLength];
                for (int k = 0; k < p.length; k++) {
                    p[k] = 100 + r.nextInt(Math.min(20_000, m.tokenizer().vocabSize() - 100));
                }
                prompts.add(p);
            }
            for (int round = 0; round < 2; round++) {
                for (boolean invariant : new boolean[] {false, true}) {
                    double seconds = run(m, slots, invariant, prompts, generate);
                    if (round == 1) {
                        System.out.printf("%s: %d requests × (%d prompt + %d generated) tokens, %d slots, %d threads: "
                                        + "%.2f s, %.1f tokens/s (prompt and generated)%n",
                                invariant ? "batch-invariant" : "default", n, promptLength, generate, slots, threads,
                                seconds, n * (promptLength + generate) / seconds);
                    }
                }
            }
        }
    }

    private static double run(LoadedModel m, int slots, boolean invariant, List<int[]> prompts, int generate)
            throws Exception {
        int ctx = prompts.getFirst().length + generate + 8;
        try (Scheduler s = new Scheduler(m, new Scheduler.Config(slots, ctx, ctx * slots, CacheType.F16, 256,
                prompts.size(), invariant))) {
            long t0 = System.nanoTime();
            List<Scheduler.Handle> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                handles.add(s.submit(prompts.get(i), new GenerationOptions(generate,
                        new SamplerConfig(1.0f, 0, 1, 0, 1, 0, 0, 64, i), List.of(), false), new GenerationListener() {
                }));
            }
            for (Scheduler.Handle h : handles) {
                h.result().get();
            }
            return (System.nanoTime() - t0) / 1e9;
        }
    }
}
