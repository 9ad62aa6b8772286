package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
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
        description = "Measure jseek's speed. Run on a quiet machine; compare with llama.cpp on the same file.",
        subcommands = {BenchCommand.Tokenize.class})
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
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
            try (GgufFile model = GgufFile.open(modelOption.resolve())) {
                tokenizer = Tokenizer.fromGguf(model.metadata());
            }
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
