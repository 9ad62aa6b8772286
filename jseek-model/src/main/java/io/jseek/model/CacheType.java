package io.jseek.model;

/** How KV-cache values are stored. F16 halves the memory of long contexts at a small cost in precision. */
public enum CacheType {
    F32(4),
    F16(2);

    public final int bytes;

    CacheType(int bytes) {
        this.bytes = bytes;
    }
}
