package io.jseek.server;

import io.jseek.engine.tools.ToolCall;
import io.jseek.engine.tools.ToolSpec;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * OpenAI's function-calling JSON to and from the engine's {@link io.jseek.engine.tools.ToolSyntax} (which writes
 * the tools into the prompt and finds calls in the answer in the syntax the model was trained on).
 */
final class ToolCalls {
    private ToolCalls() {
    }

    /** The functions of {@code tools} (an OpenAI tools array), validated; parameters as compact JSON. */
    static List<ToolSpec> functions(JsonNode tools) {
        if (!tools.isArray() || tools.size() > 128) {
            throw ApiException.invalid("tools", "tools must be an array of at most 128 functions");
        }
        List<ToolSpec> out = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode t = tools.get(i);
            JsonNode f = t.path("function");
            if (!"function".equals(t.path("type").asString("")) || !f.path("name").isString()
                    || f.get("name").asString().isBlank()) {
                throw ApiException.invalid("tools[" + i + "]", "each tool must be {\"type\":\"function\",\"function\":{\"name\":...}}");
            }
            out.add(new ToolSpec(f.get("name").asString(), f.path("description").isString() ? f.get("description").asString() : null,
                    f.has("parameters") ? Server.JSON.writeValueAsString(f.get("parameters")) : null));
        }
        return out;
    }

    /** An assistant message's earlier calls (an OpenAI tool_calls array). */
    static List<ToolCall> calls(JsonNode toolCalls) {
        List<ToolCall> out = new ArrayList<>();
        for (JsonNode c : toolCalls) {
            JsonNode f = c.path("function");
            out.add(new ToolCall(c.path("id").asString(""), f.path("name").asString(""), f.path("arguments").asString("{}")));
        }
        return out;
    }
}
