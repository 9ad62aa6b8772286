package io.jseek.engine;

/**
 * How the next token is picked. Temperature ≤ 0 means greedy (argmax, lowest id on ties). The chain runs
 * in llama.cpp's order: penalties, top-k, top-p, min-p, temperature, then a seeded random draw.
 *
 * @param topK             keep the k most likely tokens (0 = off)
 * @param topP             keep the smallest set whose probability reaches p (1 = off)
 * @param minP             drop tokens less likely than minP × the most likely one (0 = off)
 * @param repeatPenalty    divide positive / multiply negative logits of recent tokens (1 = off)
 * @param presencePenalty  subtracted once from the logit of every recent token (0 = off)
 * @param frequencyPenalty subtracted per occurrence of a recent token (0 = off)
 * @param penaltyLastN     how many recent tokens the penalties look at
 * @param seed             the random seed: same seed and input, same tokens
 * @param logitBias        added to the logits of these token ids before anything else (−∞ bans a token)
 */
public record SamplerConfig(float temperature, int topK, float topP, float minP, float repeatPenalty,
                            float presencePenalty, float frequencyPenalty, int penaltyLastN, long seed,
                            java.util.Map<Integer, Float> logitBias) implements java.io.Serializable {

    public SamplerConfig(float temperature, int topK, float topP, float minP, float repeatPenalty,
                         float presencePenalty, float frequencyPenalty, int penaltyLastN, long seed) {
        this(temperature, topK, topP, minP, repeatPenalty, presencePenalty, frequencyPenalty, penaltyLastN, seed,
                java.util.Map.of());
    }

    public SamplerConfig {
        logitBias = java.util.Map.copyOf(logitBias);
        if (topK < 0 || topP <= 0 || topP > 1 || minP < 0 || minP > 1 || repeatPenalty <= 0 || penaltyLastN < 0) {
            throw new IllegalArgumentException(String.format(
                    "bad sampler settings: top-k %d (≥ 0), top-p %s (0 < p ≤ 1), min-p %s (0..1), repeat penalty %s (> 0), last-n %d (≥ 0)",
                    topK, topP, minP, repeatPenalty, penaltyLastN));
        }
    }

    /** DeepSeek's recommendation for R1 and its distills: temperature 0.6, top-p 0.95. */
    public static SamplerConfig defaults(long seed) {
        return new SamplerConfig(0.6f, 40, 0.95f, 0.05f, 1.0f, 0, 0, 64, seed);
    }

    /** These settings with another seed. */
    public SamplerConfig withSeed(long seed) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, presencePenalty, frequencyPenalty,
                penaltyLastN, seed, logitBias);
    }

    public static SamplerConfig greedy() {
        return new SamplerConfig(0, 0, 1, 0, 1, 0, 0, 64, 0);
    }

    public boolean isGreedy() {
        return temperature <= 0;
    }
}
