package io.jseek.cli;

import io.jseek.core.tensor.GgmlType;
import io.jseek.model.Converter;
import io.jseek.model.ModelFiles;
import io.jseek.model.QuantMix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jseek convert} and {@code jseek quantize}: a model written as a GGUF file of a chosen type. */
final class ConvertCommand {
    private ConvertCommand() {
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = "Write a Hugging Face model directory (or hf:OWNER/REPO, or a GGUF file) as a GGUF file that "
                    + "llama.cpp loads: tensor names, shapes and metadata as llama.cpp's converter writes them. "
                    + "--type mixes tensor types as llama-quantize does (Q4_K_M: Q6_K for the output matrix and for "
                    + "V and ffn_down in the more-bits layers).")
    static final class Convert implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MODEL", description = "Hugging Face directory, hf:OWNER/REPO, or GGUF file.")
        String model;

        @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf")
        Path output;

        @Option(names = "--type", paramLabel = "TYPE",
                description = "F32, F16, BF16, Q8_0, Q4_0, Q6_K or Q4_K_M. Default: the source's float type (BF16 for FP8).")
        String type;

        @Option(names = "--vocab-only", description = "Write the metadata and tokenizer only, no tensors (as llama.cpp's "
                + "converter's --vocab-only; needs only config.json and the tokenizer files).")
        boolean vocabOnly;

        @Override
        public Integer call() throws IOException {
            if (vocabOnly) {
                Converter.vocabOnly(ModelOption.path(model), output);
                spec.commandLine().getOut().println("wrote " + output + " (metadata and tokenizer, no tensors)");
                return 0;
            }
            return run(ModelOption.path(model), output, type, spec);
        }
    }

    @Command(name = "quantize", mixinStandardHelpOptions = true,
            description = "Requantize a GGUF file (llama-quantize's argument order): jseek quantize IN.gguf OUT.gguf Q4_K_M.")
    static final class Quantize implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "IN.gguf")
        Path input;

        @Parameters(index = "1", paramLabel = "OUT.gguf")
        Path output;

        @Parameters(index = "2", paramLabel = "TYPE", description = "F32, F16, BF16, Q8_0, Q4_0, Q6_K or Q4_K_M.")
        String type;

        @Override
        public Integer call() throws IOException {
            return run(input, output, type, spec);
        }
    }

    private static int run(Path input, Path output, String typeName, CommandSpec spec) throws IOException {
        if (Files.exists(output) && Files.isSameFile(input, output)) {
            throw new IllegalArgumentException("the output would overwrite the input: " + output);
        }
        java.io.PrintWriter err = spec.commandLine().getErr();
        try (ModelFiles in = ModelFiles.open(input)) {
            QuantMix mix = typeName != null ? QuantMix.byName(typeName) : defaultMix(in);
            err.println("jseek convert: " + input + " -> " + output + " (" + mix + ")");
            long started = System.nanoTime();
            Converter.Summary s = Converter.convert(in, output, mix, (i, n, name, from, to, shape) ->
                    err.printf("  [%" + String.valueOf(n).length() + "d/%d] %-36s %-8s -> %-6s %s%n", i + 1, n, name, from, to,
                            Arrays.toString(shape)));
            StringBuilder types = new StringBuilder();
            for (Map.Entry<GgmlType, Integer> e : s.types().entrySet()) {
                types.append(types.isEmpty() ? "" : ", ").append(e.getValue()).append(" ").append(e.getKey());
            }
            spec.commandLine().getOut().printf("wrote %s: %s, %s tensors (%s) in %.1f s%n", output,
                    InfoCommand.bytes(s.bytes()), s.types().values().stream().mapToInt(Integer::intValue).sum(), types,
                    (System.nanoTime() - started) / 1e9);
        }
        return 0;
    }

    /** The source's own float type: that of its token embedding (BF16 for FP8 checkpoints). */
    private static QuantMix defaultMix(ModelFiles in) {
        return switch (in.tensors().tensor("token_embd.weight").type()) {
            case F32 -> QuantMix.F32;
            case F16 -> QuantMix.F16;
            default -> QuantMix.BF16;
        };
    }
}
