package io.jseek.core.tokenizer;

/**
 * GGUF token types ({@code tokenizer.ggml.token_type}) and the attribute bit llama.cpp derives from each
 * ({@code llama_token_attr}).
 */
public enum TokenType {
    UNDEFINED(0, 0),
    NORMAL(1, 4),
    UNKNOWN(2, 1),
    CONTROL(3, 8),
    USER_DEFINED(4, 16),
    UNUSED(5, 2),
    BYTE(6, 32);

    public final int id;
    /** The llama_token_attr bit: 1 UNKNOWN, 2 UNUSED, 4 NORMAL, 8 CONTROL, 16 USER_DEFINED, 32 BYTE. */
    public final int attr;

    TokenType(int id, int attr) {
        this.id = id;
        this.attr = attr;
    }

    /** The type with this GGUF id, or null. */
    public static TokenType byId(int id) {
        for (TokenType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
