package io.jseek.springai;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code jseek.*} application properties.
 *
 * @param model         the model: a GGUF file, a Hugging Face model directory, or {@code hf:OWNER/REPO[:QUANT]} (fetched
 *                      into the Hugging Face cache first); required for the auto-configuration to apply
 * @param threads       compute threads (default: one per processor)
 * @param contextLength tokens of context (default: the model's, as memory allows)
 * @param temperature   default sampling temperature (default: the model's recommendation)
 * @param topP          default top-p (default: the model's recommendation)
 * @param topK          default top-k (default: the model's recommendation)
 * @param maxTokens     default maximum of generated tokens (default 1024)
 * @param seed          sampling seed (default: a fresh one per request)
 */
@ConfigurationProperties("jseek")
public record JseekProperties(String model, Integer threads, Integer contextLength, Double temperature, Double topP,
                              Integer topK, Integer maxTokens, Long seed) {
}
