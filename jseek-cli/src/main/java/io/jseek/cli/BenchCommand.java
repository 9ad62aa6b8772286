package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jseek bench}: measurements, not tests. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prompt processing (pp: the whole prompt in one forward) and text generation "
                + "(tg: one token at a time), like llama-bench: mean ± standard deviation of tokens/s over "
                + "repetitions after a warm-up, on random token ids. Run on a quiet machine and compare with "
                + "llama-bench on the same file and threads.", "",
            "'jseek bench tokenize' measures the tokenizer, 'jseek bench bandwidth' the memory read bandwidth."},
        subcommands = {BenchCommand.Tokenize.class, BenchCommand.Bandwidth.class})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    ThreadsOption threadsOption;

    @Option(names = {"-p", "--n-prompt"}, defaultValue = "512", split = ",", paramLabel = "N",
            description = "Prompt tokens for pp, one test per value as in llama-bench (e.g. 512,2048; 0 = skip; default ${DEFAULT-VALUE}).")
    int[] prompts;

    @Option(names = {"-n", "--n-gen"}, defaultValue = "128", paramLabel = "N", description = "Generated tokens for tg (0 = skip; default ${DEFAULT-VALUE}).")
    int gen;

    @Option(names = {"-d", "--depth"}, defaultValue = "0", paramLabel = "N", description = "Tokens already in the context before tg (default ${DEFAULT-VALUE}).")
    int depth;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", paramLabel = "N", description = "Timed repetitions (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--cache-type", defaultValue = "F16", paramLabel = "TYPE", description = "KV cache: F32, F16 or Q8_0 (default ${DEFAULT-VALUE}, as llama.cpp).")
    io.jseek.model.CacheType cacheType;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    /** Decode steps run untimed before tg is measured (see {@link #call}). */
    static final int WARMUP_DECODE_TOKENS = 256;

    record Result(String test, int tokens, double mean, double stddev, double[] samples) {
    }

    @Override
    public Integer call() {
        if (reps < 1 || java.util.Arrays.stream(prompts).anyMatch(p -> p < 0) || gen < 0 || depth < 0) {
            throw new JseekException("repetitions must be at least 1 and token counts not negative");
        }
        PrintWriter out = spec.commandLine().getOut();
        java.nio.file.Path path = modelOption.resolve();
        long t0 = System.nanoTime();
        try (io.jseek.model.ModelFiles file = io.jseek.model.ModelFiles.open(path);
             io.jseek.core.kernel.WorkerPool pool = threadsOption.pool()) {
            io.jseek.model.Model model = file.load(pool);
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            int vocab = io.jseek.core.tokenizer.Tokenizer.fromGguf(file.tokenizerKeys()).vocabSize();
            java.util.Random rnd = new java.util.Random(42);
            java.util.List<Result> results = new java.util.ArrayList<>();
            int maxPrompt = java.util.Arrays.stream(prompts).max().orElse(0);
            int ctx = Math.max(maxPrompt, depth + gen) + 1;
            boolean warm = false;
            for (int prompt : prompts) {
                if (prompt == 0) {
                    continue;
                }
                int[] tokens = rnd.ints(prompt, 0, vocab).toArray();
                double[] rates = new double[reps];
                // One warm-up run before the first pp test compiles the kernels; later sizes reuse them.
                for (int r = warm ? 0 : -1; r < reps; r++) {
                    io.jseek.model.Session s = model.newSession(ctx, cacheType);
                    long a = System.nanoTime();
                    model.forward(s, tokens, false);
                    double sec = (System.nanoTime() - a) / 1e9;
                    if (r >= 0) {
                        rates[r] = prompt / sec;
                    }
                }
                warm = true;
                results.add(stats("pp" + prompt, prompt, rates));
            }
            if (gen > 0) {
                double[] rates = new double[reps];
                int[] one = new int[1];
                // The context is filled once; each repetition then rewinds to it (state reset, no refill).
                io.jseek.model.Session s = model.newSession(ctx, cacheType);
                if (depth > 0) {
                    model.forward(s, rnd.ints(depth, 0, vocab).toArray(), false);
                }
                // Untimed decode first: at least WARMUP_DECODE_TOKENS steps, so that the JIT has compiled the
                // decode paths (split attention, one-token kernels) that a prompt does not run; a method left in
                // C1 allocates its vectors.
                int warmups = Math.max(1, (WARMUP_DECODE_TOKENS + gen - 1) / gen);
                for (int r = -warmups; r < reps; r++) {
                    if (s.truncate(depth) < depth) {
                        // A cache that keeps only recent positions of some layers (V4) cannot rewind past its
                        // margin: the context is filled again, untimed.
                        model.forward(s, rnd.ints(depth, 0, vocab).toArray(), false);
                    }
                    long a = System.nanoTime();
                    for (int i = 0; i < gen; i++) {
                        one[0] = rnd.nextInt(vocab);
                        model.forward(s, one, false);
                    }
                    double sec = (System.nanoTime() - a) / 1e9;
                    if (r >= 0) {
                        rates[r] = gen / sec;
                    }
                }
                results.add(stats("tg" + gen + (depth > 0 ? " @ d" + depth : ""), gen, rates));
            }
            long rss = peakRss();
            String name = path.getFileName().toString();
            long kv = io.jseek.model.ModelStats.kvBytesPerToken(model.config(), cacheType);
            if (json) {
                StringBuilder sb = new StringBuilder("{\"model\": ").append(Json.quote(name))
                        .append(", \"file_bytes\": ").append(file.byteSize())
                        .append(", \"threads\": ").append(pool.threads())
                        .append(", \"load_seconds\": ").append(String.format("%.3f", loadSeconds))
                        .append(", \"kv_bytes_per_token\": ").append(kv)
                        .append(", \"peak_rss_bytes\": ").append(rss).append(", \"results\": [");
                for (int i = 0; i < results.size(); i++) {
                    Result r = results.get(i);
                    sb.append(i == 0 ? "" : ", ").append(String.format(
                            "{\"test\": \"%s\", \"tokens\": %d, \"tokens_per_second\": %.3f, \"stddev\": %.3f, \"samples\": [%s]}",
                            r.test(), r.tokens(), r.mean(), r.stddev(), java.util.Arrays.stream(r.samples())
                                    .mapToObj(x -> String.format("%.3f", x)).collect(java.util.stream.Collectors.joining(", "))));
                }
                out.println(sb.append("]}"));
            } else {
                out.printf("| model | size | threads | KV/token | test | t/s |%n|---|---:|---:|---:|---|---:|%n");
                for (Result r : results) {
                    out.printf("| %s | %s | %d | %s | %s | %.2f ± %.2f |%n", name, InfoCommand.bytes(file.byteSize()),
                            pool.threads(), InfoCommand.bytes(kv), r.test(), r.mean(), r.stddev());
                }
                out.printf("%nload %.2f s, peak RSS %s%n", loadSeconds, rss > 0 ? InfoCommand.bytes(rss) : "unknown");
            }
        }
        return 0;
    }

    private Result stats(String test, int tokens, double[] rates) {
        double mean = java.util.Arrays.stream(rates).average().orElse(0);
        double var = java.util.Arrays.stream(rates).map(x -> (x - mean) * (x - mean)).sum() / Math.max(1, rates.length - 1);
        return new Result(test, tokens, mean, Math.sqrt(var), rates);
    }

    /** Peak resident set size from /proc (Linux), or -1. */
    private static long peakRss() {
        try {
            for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    @Command(name = "bandwidth", mixinStandardHelpOptions = true,
            description = "Memory read bandwidth: sums a large off-heap buffer with SIMD loads on every thread, "
                    + "the ceiling for decoding (which streams each weight byte once per token).")
    static final class Bandwidth implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ThreadsOption threadsOption;

        @Option(names = "--mib", defaultValue = "2048", description = "Buffer size in MiB (default ${DEFAULT-VALUE}; "
                + "far larger than the caches).")
        int mib;

        @Override
        public Integer call() {
            long bytes = (long) mib << 20;
            try (var arena = java.lang.foreign.Arena.ofShared(); var pool = threadsOption.pool()) {
                var seg = arena.allocate(bytes, 64);
                seg.fill((byte) 1);
                float[] sink = new float[pool.threads()];
                long chunks = bytes / CHUNK;
                WorkerPool.RangeBody pass = (from, to) -> {
                    for (int c = from; c < to; c++) {
                        long first = chunks * c / pool.threads();
                        long end = chunks * (c + 1) / pool.threads();
                        float s = 0;
                        for (long k = first; k < end; k++) {
                            s += sumChunk(seg, k * CHUNK);
                        }
                        sink[c] = s;
                    }
                };
                // Warm-up passes let the JIT compile sumChunk before anything is timed.
                for (int rep = 0; rep < 3; rep++) {
                    pool.forRange(pool.threads(), pass);
                }
                double best = 0;
                for (int rep = 0; rep < 6; rep++) {
                    long t0 = System.nanoTime();
                    pool.forRange(pool.threads(), pass);
                    double gbs = bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
                    best = Math.max(best, gbs);
                }
                spec.commandLine().getOut().printf("read bandwidth: %.1f GB/s (best of 6 passes over %d MiB, %d threads; checksum %.3g)%n",
                        best, mib, pool.threads(), sink[0]);
            }
            return 0;
        }

        /** Bytes summed per call of {@link #sumChunk}. */
        private static final int CHUNK = 1 << 16;

        /**
         * Sums {@link #CHUNK} bytes read as floats with four independent accumulators, so the loop is bound
         * by memory, not by add latency. A method of its own with an int loop, so the JIT compiles it as it
         * compiles the weight kernels (a long-indexed loop inside a lambda measured a third less).
         */
        private static float sumChunk(java.lang.foreign.MemorySegment seg, long offset) {
            if (io.jseek.core.VectorApi.USABLE) {
                return Lanes.sumChunk(seg, offset);
            }
            float a0 = 0;
            float a1 = 0;
            float a2 = 0;
            float a3 = 0;
            for (int i = 0; i < CHUNK; i += 16) {
                a0 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + i);
                a1 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + i + 4);
                a2 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + i + 8);
                a3 += seg.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + i + 12);
            }
            return a0 + a1 + a2 + a3;
        }

        /** The Vector API loop: loaded only when {@link io.jseek.core.VectorApi#USABLE} (see there). */
        private static final class Lanes {
            static float sumChunk(java.lang.foreign.MemorySegment seg, long offset) {
                var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
                var le = java.nio.ByteOrder.LITTLE_ENDIAN;
                int step = species.vectorByteSize();
                var a0 = jdk.incubator.vector.FloatVector.zero(species);
                var a1 = a0;
                var a2 = a0;
                var a3 = a0;
                for (int i = 0; i < CHUNK; i += 4 * step) {
                    a0 = a0.add(jdk.incubator.vector.FloatVector.fromMemorySegment(species, seg, offset + i, le));
                    a1 = a1.add(jdk.incubator.vector.FloatVector.fromMemorySegment(species, seg, offset + i + step, le));
                    a2 = a2.add(jdk.incubator.vector.FloatVector.fromMemorySegment(species, seg, offset + i + 2 * step, le));
                    a3 = a3.add(jdk.incubator.vector.FloatVector.fromMemorySegment(species, seg, offset + i + 3 * step, le));
                }
                return a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
            }
        }
    }

    @Command(name = "tokenize", mixinStandardHelpOptions = true,
            description = "Tokenizer throughput: tokenizes a text (default: 1 MiB of generated English prose) "
                    + "several times after a warm-up and reports MB/s and tokens/s.")
    static final class Tokenize implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ModelOption modelOption;

        @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Text file to tokenize (UTF-8).")
        Path file;

        @Option(names = {"-r", "--repeat"}, defaultValue = "5", description = "Timed runs (default ${DEFAULT-VALUE}).")
        int repeat;

        @Override
        public Integer call() throws IOException {
            if (repeat < 1) {
                throw new JseekException("--repeat must be at least 1");
            }
            String text = file != null ? Files.readString(file) : generatedProse(1 << 20);
            Tokenizer tokenizer;
            tokenizer = Tokenizer.fromGguf(io.jseek.model.ModelFiles.tokenizerKeys(modelOption.resolve()));
            PrintWriter out = spec.commandLine().getOut();
            double mb = text.getBytes(StandardCharsets.UTF_8).length / 1e6;
            int tokens = tokenizer.encode(text, true, true).length; // warm-up
            tokenizer.encode(text, true, true);
            double best = Double.MAX_VALUE;
            double sum = 0;
            for (int i = 0; i < repeat; i++) {
                long t0 = System.nanoTime();
                tokenizer.encode(text, true, true);
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.min(best, s);
                sum += s;
            }
            out.printf("tokenizer %s: %.2f MB, %d tokens%n", tokenizer.preTokenizerName(), mb, tokens);
            out.printf("best %.3f s (%.1f MB/s, %.0f tokens/s), mean %.3f s over %d runs%n",
                    best, mb / best, tokens / best, sum / repeat, repeat);
            return 0;
        }

        /** English-like prose with numbers, punctuation and line breaks, about {@code bytes} long. */
        static String generatedProse(int bytes) {
            String[] sentences = {
                "The quick brown fox jumps over the lazy dog, and the dog doesn't mind at all.",
                "Inference engines spend most of their time moving weights from memory to the processor.",
                "In 2024, about 1,234 people attended; they've said it's the best event since 1999!",
                "Mixture-of-experts models select only a few experts (8 of 256) for each token.",
                "\"Why?\" she asked. \"Because the cache grows slowly — even for 128K-token contexts.\"",
            };
            StringBuilder sb = new StringBuilder(bytes + 128);
            java.util.Random rnd = new java.util.Random(1);
            while (sb.length() < bytes) {
                sb.append(sentences[rnd.nextInt(sentences.length)]).append(rnd.nextInt(8) == 0 ? "\n\n" : " ");
            }
            return sb.toString();
        }
    }
}
