package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.Speculation;
import picocli.CommandLine.Option;

/** {@code --spec MODE}: speculative decoding (run, chat, serve). */
final class SpecOption {
    @Option(names = "--spec", paramLabel = "MODE", defaultValue = "none",
            description = "Speculative decoding: none, or ngram[:N] (prompt lookup: draft up to N tokens, default 7, "
                    + "from where the last few tokens occurred before; the same output, faster when the answer repeats "
                    + "its context, as code edits do). Default ${DEFAULT-VALUE}.")
    String spec;

    /** Sets the model's speculation. */
    LoadedModel apply(LoadedModel model) {
        try {
            model.useSpeculation(Speculation.parse(spec));
        } catch (IllegalArgumentException e) {
            throw new JseekException("--spec: " + e.getMessage());
        }
        return model;
    }
}
