package io.jseek.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code -m MODEL} option every model command shares. */
final class ModelOption {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "GGUF model file (for a split model, its first shard) or Hugging Face model directory. Default: the embedded test model.")
    Path model;

    /** The model path given, or the embedded default. */
    Path resolve() {
        return model != null ? model : DefaultModel.path();
    }
}
