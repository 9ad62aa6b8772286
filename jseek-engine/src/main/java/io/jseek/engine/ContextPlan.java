package io.jseek.engine;

import io.jseek.model.CacheType;

/** How many positions a session holds and how its KV cache stores them. */
public record ContextPlan(int contextLength, CacheType cacheType) {
    public ContextPlan {
        if (contextLength < 1) {
            throw new IllegalArgumentException("context length must be at least 1, got " + contextLength);
        }
    }
}
