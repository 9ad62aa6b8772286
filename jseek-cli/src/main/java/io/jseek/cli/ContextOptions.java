package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.ContextPlan;
import io.jseek.engine.LoadedModel;
import io.jseek.model.CacheType;
import picocli.CommandLine.Option;

/** {@code --ctx N} and {@code --cache-type TYPE}: how much context a sequence gets and how it is stored. */
final class ContextOptions {
    @Option(names = "--ctx", paramLabel = "N", description = "Context length in tokens (default: the model's, capped by memory).")
    Integer context;

    @Option(names = "--cache-type", paramLabel = "TYPE", description = "KV-cache storage: F32, F16 or Q8_0 (default: F32 if "
            + "the whole context fits in a quarter of the heap, else F16).")
    CacheType cacheType;

    /** The context and cache type for {@code model}: the options, or the model's defaults capped by memory. */
    ContextPlan plan(LoadedModel model, java.io.PrintWriter err) {
        if (context != null && context < 8) {
            throw new JseekException("--ctx must be at least 8, got " + context);
        }
        return model.plan(context, cacheType, msg -> err.println("jseek: " + msg));
    }
}
