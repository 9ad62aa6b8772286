package io.jseek.engine.tools;

import java.util.Objects;
import java.util.UUID;

/**
 * One function call of the model's.
 *
 * @param id        the call's id (results refer to it)
 * @param name      the function's name
 * @param arguments its arguments, JSON text (an object) as the model wrote them
 */
public record ToolCall(String id, String name, String arguments) {
    public ToolCall {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
    }

    /** A call with a fresh id ({@code call_} and 24 hex digits, as OpenAI's). */
    public static ToolCall of(String name, String arguments) {
        return new ToolCall("call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24), name, arguments);
    }
}
