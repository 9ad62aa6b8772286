package io.jseek.bench;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.model.Batch;
import io.jseek.model.CacheType;
import io.jseek.model.Model;
import io.jseek.model.Session;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * What a speculative verify pass costs (docs/benchmarks.md): after a P-token prompt, the median time of a forward pass
 * over k tokens with every row's logits (what verifying k − 1 drafts takes), cut back from the cache after each, against
 * the one-token step. {@code java -cp ... io.jseek.bench.VerifyCost MODEL.gguf [threads P reps k...]}.
 */
public final class VerifyCost {
    private VerifyCost() {
    }

    public static void main(String[] args) {
        Path path = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int promptLength = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 15;
        int[] ks = args.length > 4 ? Arrays.stream(args, 4, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 2, 3, 5, 9};
        try (GgufFile file = GgufFile.open(path); WorkerPool pool = new WorkerPool(threads)) {
            Model model = Model.load(file, pool);
            Random r = new Random(1);
            int vocab = model.config().vocabSize();
            Session s = model.newSession(promptLength + 64, CacheType.F16);
            int[] prompt = r.ints(promptLength, 100, Math.min(20_000, vocab)).toArray();
            model.forward(s, prompt, false);
            double one = 0;
            for (int round = 0; round < 2; round++) {
                for (int k : ks) {
                    double[] t = new double[reps];
                    for (int i = 0; i < reps; i++) {
                        int[] tokens = r.ints(k, 100, Math.min(20_000, vocab)).toArray();
                        long t0 = System.nanoTime();
                        // As the engine verifies: every row's logits, in the workspace's rows.
                        model.forward(new Batch.Builder().add(s, tokens, k).build(), false);
                        t[i] = (System.nanoTime() - t0) / 1e6;
                        s.truncate(promptLength);
                    }
                    Arrays.sort(t);
                    double median = t[reps / 2];
                    if (k == 1) {
                        one = median;
                    }
                    if (round == 1) {
                        System.out.printf("%s, %d threads, after %d tokens: %d-token pass %.1f ms (%.2f × one token; "
                                + "%.2f ms a token)%n", path.getFileName(), threads, promptLength, k, median,
                                median / one, median / k);
                    }
                }
            }
        }
    }
}
