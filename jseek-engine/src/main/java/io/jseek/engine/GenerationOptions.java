package io.jseek.engine;

import java.util.List;

/**
 * @param maxTokens       stop after this many generated tokens
 * @param sampler         how tokens are picked
 * @param stop            stop when the answer text ends with one of these (the stop text is not returned)
 * @param startsReasoning the prompt ends inside {@code <think>} (R1's forced opener), so the first output is reasoning
 */
public record GenerationOptions(int maxTokens, SamplerConfig sampler, List<String> stop, boolean startsReasoning) {
    public GenerationOptions {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("the number of tokens to generate must be at least 1, got " + maxTokens);
        }
        stop = List.copyOf(stop);
    }
}
