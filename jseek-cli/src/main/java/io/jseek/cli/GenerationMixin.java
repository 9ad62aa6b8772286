package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.engine.ContextPlan;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options that say how text is generated, shared by run and chat. */
final class GenerationMixin {
    @Option(names = {"-n", "--n-predict"}, defaultValue = "512", paramLabel = "N",
            description = "Tokens to generate at most per answer (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temp", paramLabel = "T",
            description = "Temperature; 0 = greedy (default: the model's generation_config.json or general.sampling.temp, "
                    + "else 0.6, DeepSeek's advice for R1). The next four default the same way.")
    Float temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Top-k, 0 = off (default 40).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Top-p, 1 = off (default 0.95).")
    Float topP;

    @Option(names = "--min-p", paramLabel = "P", description = "Min-p, 0 = off (default 0.05).")
    Float minP;

    @Option(names = "--repeat-penalty", paramLabel = "R", description = "Repetition penalty, 1 = off (default 1.0).")
    Float repeatPenalty;

    @Option(names = "--presence-penalty", defaultValue = "0", paramLabel = "P", description = "Presence penalty (default ${DEFAULT-VALUE}).")
    float presencePenalty;

    @Option(names = "--frequency-penalty", defaultValue = "0", paramLabel = "F", description = "Frequency penalty (default ${DEFAULT-VALUE}).")
    float frequencyPenalty;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed: the same seed and prompt give the same text (default: random).")
    Long seed;

    @Option(names = "--logit-bias", paramLabel = "ID(+|-)BIAS", description = "Add BIAS to token ID's logit "
            + "(repeatable), e.g. 962+5 or 13-inf to ban token 13.")
    List<String> logitBias = new ArrayList<>();

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop when the answer produces TEXT (repeatable).")
    List<String> stop = new ArrayList<>();

    @Mixin
    ContextOptions context;

    @Option(names = "--chat-template", paramLabel = "FILE",
            description = "A Jinja chat template to use instead of the model's (gets messages, add_generation_prompt, "
                    + "bos_token, eos_token).")
    java.nio.file.Path chatTemplate;

    @Mixin
    SpecOption spec;

    /** Applies --spec and --chat-template, if given, to the model ({@code threads}: a draft model's). */
    void configure(LoadedModel model, int threads) {
        spec.apply(model, threads);
        if (chatTemplate == null) {
            return;
        }
        try {
            String text = java.nio.file.Files.readString(chatTemplate);
            model.useFormat(new io.jseek.engine.JinjaChatFormat(chatTemplate.getFileName().toString(), text,
                    model.bosText(), model.eosText()));
        } catch (java.io.IOException e) {
            throw new JseekException("--chat-template " + chatTemplate + ": cannot read: " + e.getMessage());
        }
    }

    long seed() {
        if (seed == null) {
            seed = ThreadLocalRandom.current().nextLong(1L << 31);
        }
        return seed;
    }

    GenerationOptions options(LoadedModel model) {
        try {
            SamplerConfig d = model.samplerDefaults(seed());
            SamplerConfig s = new SamplerConfig(temperature != null ? temperature : d.temperature(), topK != null ? topK : d.topK(),
                    topP != null ? topP : d.topP(), minP != null ? minP : d.minP(),
                    repeatPenalty != null ? repeatPenalty : d.repeatPenalty(), presencePenalty, frequencyPenalty, 64, d.seed(),
                    biases(model.tokenizer().vocabSize()));
            return new GenerationOptions(maxTokens, s, stop, model.isReasoningModel());
        } catch (IllegalArgumentException e) {
            throw new JseekException(e.getMessage());
        }
    }

    private java.util.Map<Integer, Float> biases(int vocab) {
        java.util.Map<Integer, Float> map = new java.util.HashMap<>();
        for (String b : logitBias) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)([+-])(inf|[0-9.]+)").matcher(b.strip());
            if (!m.matches()) {
                throw new JseekException("--logit-bias " + b + ": expected ID+BIAS or ID-BIAS, e.g. 962+5 or 13-inf");
            }
            int id = Integer.parseInt(m.group(1));
            if (id >= vocab) {
                throw new JseekException("--logit-bias " + b + ": token id " + id + " is out of range (vocabulary has " + vocab + ")");
            }
            float v = m.group(3).equals("inf") ? Float.POSITIVE_INFINITY : Float.parseFloat(m.group(3));
            map.merge(id, m.group(2).equals("-") ? -v : v, Float::sum);
        }
        return map;
    }

    ContextPlan plan(LoadedModel model, java.io.PrintWriter err) {
        return context.plan(model, err);
    }
}
