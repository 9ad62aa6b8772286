package io.jseek.engine;

import java.util.Objects;

/** One message of a conversation. {@code role} is system, user or assistant. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role);
        Objects.requireNonNull(content);
        if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
            throw new IllegalArgumentException("unknown role \"" + role + "\" (system, user or assistant)");
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
}
