package io.jseek.engine;

import java.util.List;

/**
 * @param maxTokens       stop after this many generated tokens
 * @param sampler         how tokens are picked
 * @param stop            stop when the answer text ends with one of these (the stop text is not returned)
 * @param startsReasoning the prompt ends inside {@code <think>} (R1's forced opener), so the first output is reasoning
 * @param topLogprobs     report each answer token's log-probability and this many most likely alternatives
 *                        to {@link GenerationListener#onToken} (−1: report nothing)
 * @param constraint      the answer must follow this grammar (null: free text)
 */
public record GenerationOptions(int maxTokens, SamplerConfig sampler, List<String> stop, boolean startsReasoning,
                                int topLogprobs, OutputConstraint constraint) {
    public GenerationOptions {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("the number of tokens to generate must be at least 1, got " + maxTokens);
        }
        if (topLogprobs < -1 || topLogprobs > 20) {
            throw new IllegalArgumentException("top logprobs must be from 0 to 20, got " + topLogprobs);
        }
        stop = List.copyOf(stop);
    }

    public GenerationOptions(int maxTokens, SamplerConfig sampler, List<String> stop, boolean startsReasoning) {
        this(maxTokens, sampler, stop, startsReasoning, -1, null);
    }
}
