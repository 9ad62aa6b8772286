package io.jseek.engine.tools;

import java.util.Objects;

/**
 * A function the model may call, as the API caller describes it.
 *
 * @param name        the function's name
 * @param description what it does (null: none)
 * @param parameters  its parameters as a JSON schema, JSON text (null: none)
 */
public record ToolSpec(String name, String description, String parameters) {
    public ToolSpec {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("a tool needs a name");
        }
    }
}
