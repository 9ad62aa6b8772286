package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.Speculation;
import java.nio.file.Files;
import picocli.CommandLine.Option;

/** {@code --spec MODE}: speculative decoding (run, chat, serve). */
final class SpecOption {
    @Option(names = "--spec", paramLabel = "MODE", defaultValue = "none",
            description = "Speculative decoding (the same output, in fewer forward passes when drafts are kept): "
                    + "none; ngram[:N] (prompt lookup: up to N tokens, default 7, from where the last few tokens "
                    + "occurred before; for answers that repeat their context, as code edits do); mtp[:N] (the model's own "
                    + "multi-token-prediction block drafts, as DeepSeek-V3's can; default N 1); draft:MODEL.gguf[:N] "
                    + "(a smaller model of the same vocabulary drafts). Default ${DEFAULT-VALUE}.")
    String spec;

    /** The draft model, opened once (a restarted server reuses it). */
    private LoadedModel draft;

    /** Sets the model's speculation; a draft model gets {@code threads} threads of its own. */
    LoadedModel apply(LoadedModel model, int threads) {
        try {
            model.useSpeculation(Speculation.parse(spec, file -> {
                if (!Files.exists(file)) {
                    throw new JseekException("--spec: no draft model at " + file);
                }
                if (draft == null) {
                    draft = LoadedModel.open(file, threads);
                }
                return draft;
            }));
        } catch (IllegalArgumentException e) {
            throw new JseekException("--spec: " + e.getMessage());
        }
        return model;
    }
}
