package io.jseek.engine;

/**
 * What one generation produced, and how fast.
 *
 * @param promptTokens    tokens fed before generating (after any reuse of cached positions)
 * @param reusedTokens    prompt tokens whose KV entries were already cached and not recomputed
 * @param tokens          the generated token ids, the final end-of-generation token included
 * @param reasoningTokens how many of them were inside {@code <think>…</think>}
 */
public record Generation(String reasoning, String content, StopReason stopReason, int promptTokens,
                         int reusedTokens, int[] tokens, double promptSeconds, double generationSeconds,
                         int reasoningTokens) {

    public int generatedTokens() {
        return tokens.length;
    }

    /** NO_MEMORY: the KV cache had no room left for the sequence while others were running. */
    public enum StopReason { END_OF_GENERATION, STOP_STRING, MAX_TOKENS, CONTEXT_FULL, CANCELLED, NO_MEMORY }

    public double promptTokensPerSecond() {
        return promptSeconds > 0 ? promptTokens / promptSeconds : 0;
    }

    public double generationTokensPerSecond() {
        return generationSeconds > 0 ? generatedTokens() / generationSeconds : 0;
    }
}
