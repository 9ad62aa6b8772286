package io.jseek.engine;

import io.jseek.model.CacheType;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A stateless chat API on one model, as framework adapters (jseek-langchain4j, jseek-spring-ai) see it: each request
 * carries the whole conversation and the sampling settings it wants to change. Requests run one at a time (a
 * model's compute threads serve one forward pass); the conversation's KV cache is kept between them, so a follow-up
 * that repeats the earlier messages recomputes only what is new. Thread-safe.
 */
public final class StatelessChat {
    private final LoadedModel model;
    private final ChatSession chat;
    private final Long seed;
    private final ReentrantLock lock = new ReentrantLock();

    /**
     * @param contextLength tokens of context (null: the model's, within memory; {@link LoadedModel#plan})
     * @param seed          sampling seed of every request (null: a fresh one each time)
     */
    public StatelessChat(LoadedModel model, Integer contextLength, Long seed) {
        this.model = model;
        this.seed = seed;
        this.chat = model.chat(model.plan(contextLength, CacheType.F16, note -> { }));
    }

    public LoadedModel model() {
        return model;
    }

    /**
     * The model's recommended sampler ({@link LoadedModel#samplerDefaults}) with a request's settings over it; a null
     * argument keeps the recommendation (min-p and the repetition penalty, which the frameworks do not name, always).
     */
    public SamplerConfig sampler(Double temperature, Integer topK, Double topP, Double presencePenalty, Double frequencyPenalty) {
        SamplerConfig d = model.samplerDefaults(seed != null ? seed : ThreadLocalRandom.current().nextLong());
        return new SamplerConfig(temperature != null ? temperature.floatValue() : d.temperature(), topK != null ? topK : d.topK(),
                topP != null ? topP.floatValue() : d.topP(), d.minP(), d.repeatPenalty(),
                presencePenalty != null ? presencePenalty.floatValue() : d.presencePenalty(),
                frequencyPenalty != null ? frequencyPenalty.floatValue() : d.frequencyPenalty(), d.penaltyLastN(), d.seed());
    }

    /** Options for a request: at most {@code maxTokens}, these stop strings, an optional grammar. */
    public GenerationOptions options(int maxTokens, SamplerConfig sampler, List<String> stop, OutputConstraint constraint) {
        return new GenerationOptions(maxTokens, sampler, stop == null ? List.of() : stop, model.isReasoningModel(), -1, constraint);
    }

    /**
     * Generates the reply to {@code last} (a user message or a function's result) after {@code history}, streaming it
     * to {@code listener}; waits while another request runs.
     */
    public Generation send(List<ChatMessage> history, ChatMessage last, GenerationOptions options, GenerationListener listener) {
        lock.lock();
        try {
            chat.replaceHistory(history);
            return chat.send(last, options, listener);
        } finally {
            lock.unlock();
        }
    }
}
