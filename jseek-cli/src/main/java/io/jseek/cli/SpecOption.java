package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.Speculation;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --spec MODE}: speculative decoding (run, chat, serve). */
final class SpecOption {
    @Option(names = "--spec", paramLabel = "MODE", defaultValue = "none",
            description = "Speculative decoding (the same output, in fewer forward passes when drafts are kept): "
                    + "none; ngram[:N] (prompt lookup: up to N tokens, default 7, from where the last few tokens "
                    + "occurred before; for answers that repeat their context, as code edits do); draft:MODEL.gguf[:N] "
                    + "(a smaller model of the same vocabulary drafts). Default ${DEFAULT-VALUE}.")
    String spec;

    /** The draft model, opened once (a restarted server reuses it). */
    private LoadedModel draft;

    /** Sets the model's speculation; a draft model gets {@code threads} threads of its own. */
    LoadedModel apply(LoadedModel model, int threads) {
        try {
            model.useSpeculation(speculation(threads));
        } catch (IllegalArgumentException e) {
            throw new JseekException("--spec: " + e.getMessage());
        }
        return model;
    }

    private Speculation speculation(int threads) {
        if (!spec.startsWith("draft:")) {
            return Speculation.parse(spec);
        }
        String rest = spec.substring("draft:".length());
        int n = Speculation.DEFAULT_DRAFT;
        int colon = rest.lastIndexOf(':');
        if (colon > 0 && rest.substring(colon + 1).matches("[0-9]{1,3}")) {
            n = Integer.parseInt(rest.substring(colon + 1));
            rest = rest.substring(0, colon);
        }
        Path file = Path.of(rest);
        if (!Files.exists(file)) {
            throw new JseekException("--spec: no draft model at " + file);
        }
        if (draft == null) {
            draft = LoadedModel.open(file, threads);
        }
        return Speculation.draft(draft, n);
    }
}
