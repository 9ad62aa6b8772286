package io.jseek.model;

/**
 * How KV-cache values are stored. F16 halves the memory of long contexts at a small cost in precision; Q8_0
 * (blocks of 32 int8 values with an f16 scale, as llama.cpp's {@code -ctk q8_0}) halves it again.
 */
public enum CacheType {
    F32,
    F16,
    Q8_0;

    /** Bytes one position's {@code values} values take (Q8_0: whole blocks of 32, 34 bytes each). */
    public long bytes(long values) {
        return switch (this) {
            case F32 -> 4 * values;
            case F16 -> 2 * values;
            case Q8_0 -> (values + 31) / 32 * 34;
        };
    }
}
