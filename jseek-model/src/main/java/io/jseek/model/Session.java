package io.jseek.model;

import io.jseek.core.JseekException;
import java.util.ArrayList;
import java.util.List;

/**
 * One sequence's state: its KV cache and how many positions it holds. The cache stores, per layer and
 * position, {@code kvValuesPerTokenPerLayer} values (for MLA: the normalized latent then the rotated rope
 * key) as F32 or F16; it grows by doubling up to the context length. Owned by one thread at a time.
 */
public final class Session {
    private final int contextLength;
    private final int valuesPerToken;
    private final CacheType cacheType;
    private final KvLayer[] cache;
    private int capacity;
    private int position;
    private List<int[][]> routing;
    /** The model's buffers for single-token steps, created on the first one. */
    private Workspace decodeWorkspace;

    Session(int layers, int valuesPerToken, int contextLength, CacheType cacheType) {
        if (contextLength < 1) {
            throw new JseekException("context length must be at least 1, got " + contextLength);
        }
        this.contextLength = contextLength;
        this.valuesPerToken = valuesPerToken;
        this.cacheType = cacheType;
        this.capacity = Math.min(contextLength, 64);
        this.cache = new KvLayer[layers];
        for (int l = 0; l < layers; l++) {
            cache[l] = KvLayer.of(cacheType, valuesPerToken, capacity);
        }
    }

    public CacheType cacheType() {
        return cacheType;
    }

    /** Number of tokens already in the cache: the position of the next token. */
    public int position() {
        return position;
    }

    public int contextLength() {
        return contextLength;
    }

    /** Forgets everything after the first {@code n} positions (n ≤ position). */
    public void truncate(int n) {
        if (n < 0 || n > position) {
            throw new IllegalArgumentException("cannot truncate to " + n + " of " + position + " positions");
        }
        position = n;
    }

    /** Records the experts chosen in every MoE layer from now on (for checking routing). */
    public void recordRouting() {
        routing = new ArrayList<>();
    }

    /**
     * The recorded choices: one entry per (forward call, MoE layer) in call order, each {@code [token][k]}
     * expert ids in selection order.
     */
    public List<int[][]> routing() {
        return routing == null ? List.of() : routing;
    }

    void addRouting(int[][] chosen, int tokens) {
        if (routing != null) {
            int[][] copy = new int[tokens][];
            for (int i = 0; i < tokens; i++) {
                copy[i] = chosen[i].clone();
            }
            routing.add(copy);
        }
    }

    /** Checks that {@code n} more tokens fit and makes room for them. */
    void reserve(int n) {
        if (position + n > contextLength) {
            throw new JseekException("the sequence needs " + (position + n) + " positions but the context holds "
                    + contextLength + " (use a larger context, or a shorter prompt)");
        }
        if (position + n > capacity) {
            int next = Math.min(contextLength, Math.max(position + n, 2 * capacity));
            for (KvLayer layer : cache) {
                layer.grow(next);
            }
            capacity = next;
        }
    }

    void advance(int n) {
        position += n;
    }

    /**
     * Buffers for a batch of {@code tokens}: the session's own for single tokens (so decoding allocates
     * nothing), a fresh one for a batch.
     */
    Workspace workspace(int tokens, java.util.function.IntFunction<Workspace> create) {
        if (tokens > 1) {
            return create.apply(tokens);
        }
        if (decodeWorkspace == null) {
            decodeWorkspace = create.apply(1);
        }
        return decodeWorkspace;
    }

    /** The cache of layer {@code l}. */
    KvLayer layer(int l) {
        return cache[l];
    }
}
