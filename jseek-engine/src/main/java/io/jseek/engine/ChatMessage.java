package io.jseek.engine;

import java.util.Objects;

/**
 * One message of a conversation. {@code role} is system, user, assistant or tool (a function's result; formats
 * without a syntax of their own for it show it as a user turn).
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role);
        Objects.requireNonNull(content);
        if (!role.equals("system") && !role.equals("user") && !role.equals("assistant") && !role.equals("tool")) {
            throw new IllegalArgumentException("unknown role \"" + role + "\" (system, user, assistant or tool)");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** A function's result, answering the assistant's call before it. */
    public static ChatMessage tool(String content) {
        return new ChatMessage("tool", content);
    }
}
