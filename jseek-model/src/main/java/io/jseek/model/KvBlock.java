package io.jseek.model;

/**
 * {@link KvPool#BLOCK_TOKENS} consecutive positions of KV cache, every layer: the unit in which sessions
 * take cache memory from a {@link KvPool}. A block may be shared by several sessions that hold the same
 * prefix (the prefix cache); it is then read-only, and a session about to write into it copies it first.
 */
public final class KvBlock {
    /** Per layer: {@code float[]} or {@code short[]} of BLOCK_TOKENS × width values. */
    final Object[] layers;
    /** Holders: sessions using the block plus caches keeping it; guarded by the pool. */
    int refs;

    KvBlock(Object[] layers) {
        this.layers = layers;
    }
}
