package io.jseek.engine;

/**
 * A generated token, its log-probability, and the most likely tokens at its position (best first).
 *
 * @param bytes the token's text as raw bytes (a byte-level token may hold part of a UTF-8 character)
 */
public record TokenLogprob(int id, byte[] bytes, float logprob, int[] topIds, byte[][] topBytes, float[] topLogprobs) {
}
