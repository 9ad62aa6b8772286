package io.jseek.engine;

/**
 * What one generation produced, and how fast.
 *
 * @param promptTokens    tokens fed before generating (after any reuse of cached positions)
 * @param reusedTokens    prompt tokens whose KV entries were already cached and not recomputed
 * @param tokens          the generated token ids, the final end-of-generation token included
 * @param reasoningTokens how many of them were inside {@code <think>…</think>}
 * @param draftedTokens   tokens proposed by speculative decoding ({@link Speculation}; 0 without)
 * @param acceptedTokens  how many of those the model kept (each one a token gained without a forward pass of its own)
 */
public record Generation(String reasoning, String content, StopReason stopReason, int promptTokens,
                         int reusedTokens, int[] tokens, double promptSeconds, double generationSeconds,
                         int reasoningTokens, int draftedTokens, int acceptedTokens) {

    public int generatedTokens() {
        return tokens.length;
    }

    /** NO_MEMORY: the KV cache had no room left for the sequence while others were running. */
    public enum StopReason { END_OF_GENERATION, STOP_STRING, MAX_TOKENS, CONTEXT_FULL, CANCELLED, NO_MEMORY }

    /** The share of proposed tokens the model kept (0 without speculation). */
    public double acceptanceRate() {
        return draftedTokens > 0 ? (double) acceptedTokens / draftedTokens : 0;
    }

    public double promptTokensPerSecond() {
        return promptSeconds > 0 ? promptTokens / promptSeconds : 0;
    }

    public double generationTokensPerSecond() {
        return generationSeconds > 0 ? generatedTokens() / generationSeconds : 0;
    }
}
