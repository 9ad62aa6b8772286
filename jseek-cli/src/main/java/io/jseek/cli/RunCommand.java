package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.Generation;
import io.jseek.engine.LoadedModel;
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

/** {@code jseek run}: one completion, streamed. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Generate one answer to PROMPT and stream it to standard output, then print speed on "
                + "standard error. The prompt is chat-formatted with the model's template unless --raw; for "
                + "R1-style models the reasoning is shown dimmed before the answer."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    ThreadsOption threadsOption;

    @Mixin
    GenerationMixin gen;

    @Option(names = {"-p", "--prompt"}, paramLabel = "PROMPT", description = "The prompt.")
    String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the prompt from FILE.")
    Path file;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system prompt (chat mode only).")
    String system;

    @Option(names = "--raw", description = "Complete the prompt as plain text, without the chat format.")
    boolean raw;

    @Option(names = {"-v", "--verbose"}, description = "Also print the model, context, seed and KV-cache size.")
    boolean verbose;

    @Override
    public Integer call() throws IOException {
        if ((prompt == null) == (file == null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give the prompt with -p PROMPT or -f FILE");
        }
        String text = prompt != null ? prompt : Files.readString(file, StandardCharsets.UTF_8);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (LoadedModel m = LoadedModel.open(modelOption.resolve(), threadsOption.threads())) {
            gen.configure(m, threadsOption.threads());
            var plan = gen.plan(m, err);
            var options = gen.options(m);
            if (verbose) {
                err.printf("model: %s (%s), context %d, KV cache %s: %d bytes per token, seed %d, chat format %s%n",
                        modelOption.resolve().getFileName(), m.config().architecture().ggufName, plan.contextLength(),
                        plan.cacheType(), m.kvBytesPerToken(plan.cacheType()), gen.seed(), m.format().name());
            }
            Display display = new Display(out, System.console() != null && System.getenv("NO_COLOR") == null);
            Generation g;
            if (raw) {
                if (system != null) {
                    throw new JseekException("--system needs the chat format; drop --raw");
                }
                g = m.complete(text, plan, options.startsReasoning() ? withoutReasoning(options) : options, display);
            } else {
                var chat = m.chat(plan);
                if (system != null) {
                    chat.system(system);
                }
                g = chat.send(text, options, display);
            }
            display.finish();
            err.println(Display.stats(g));
        }
        return 0;
    }

    private static io.jseek.engine.GenerationOptions withoutReasoning(io.jseek.engine.GenerationOptions o) {
        return new io.jseek.engine.GenerationOptions(o.maxTokens(), o.sampler(), o.stop(), false);
    }
}
