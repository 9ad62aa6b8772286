package io.jseek.server;

import io.jseek.engine.Generation;
import io.jseek.engine.TokenLogprob;
import io.jseek.engine.tools.ToolCall;
import java.nio.charset.StandardCharsets;
import java.util.List;
import tools.jackson.databind.node.ObjectNode;

/**
 * Response bodies and stream chunks of one completion request, in chat or text-completion shape, as
 * DeepSeek's API answers (docs/serving.md): ids, {@code reasoning_content}, tool calls, log-probabilities,
 * usage with cache hits.
 */
record Responses(String id, long created, String model, boolean chat) {
    private ObjectNode base(String object) {
        return Server.JSON.createObjectNode().put("id", id).put("object", object).put("created", created)
                .put("model", model).put("system_fingerprint", "jseek");
    }

    private ObjectNode chunk() {
        return base(chat ? "chat.completion.chunk" : "text_completion");
    }

    /** A stream chunk with one choice, filled by {@code fill}; {@code finish} null while the answer runs. */
    private ObjectNode streamChunk(java.util.function.Consumer<ObjectNode> fill, String finish) {
        ObjectNode c = chunk();
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        fill.accept(choice);
        choice.putNull("logprobs");
        if (finish != null) {
            choice.put("finish_reason", finish);
        } else {
            choice.putNull("finish_reason");
        }
        c.putNull("usage");
        return c;
    }

    ObjectNode first() {
        return streamChunk(choice -> choice.putObject("delta").put("role", "assistant").put("content", ""), null);
    }

    ObjectNode delta(boolean reasoning, String text) {
        return streamChunk(choice -> {
            if (!chat) {
                choice.put("text", text);
            } else if (reasoning) {
                choice.putObject("delta").putNull("content").put("reasoning_content", text);
            } else {
                choice.putObject("delta").put("content", text);
            }
        }, null);
    }

    ObjectNode last(String finish) {
        return streamChunk(choice -> {
            if (chat) {
                choice.putObject("delta");
            } else {
                choice.put("text", "");
            }
        }, finish);
    }

    ObjectNode usage(ObjectNode usage) {
        ObjectNode c = chunk();
        c.putArray("choices");
        c.set("usage", usage);
        return c;
    }

    /** Chat: {content: [{token, logprob, bytes, top_logprobs}]}; completions: the legacy parallel lists. */
    ObjectNode logprobs(List<TokenLogprob> tokens) {
        ObjectNode lp = Server.JSON.createObjectNode();
        if (chat) {
            var content = lp.putArray("content");
            for (var t : tokens) {
                ObjectNode entry = entry(content.addObject(), t.bytes(), t.logprob());
                var top = entry.putArray("top_logprobs");
                for (int i = 0; i < t.topIds().length; i++) {
                    entry(top.addObject(), t.topBytes()[i], t.topLogprobs()[i]);
                }
            }
        } else {
            var text = lp.putArray("tokens");
            var values = lp.putArray("token_logprobs");
            var tops = lp.putArray("top_logprobs");
            for (var t : tokens) {
                text.add(new String(t.bytes(), StandardCharsets.UTF_8));
                values.add(t.logprob());
                ObjectNode top = tops.addObject();
                for (int i = 0; i < t.topIds().length; i++) {
                    top.put(new String(t.topBytes()[i], StandardCharsets.UTF_8), t.topLogprobs()[i]);
                }
            }
        }
        return lp;
    }

    private static ObjectNode entry(ObjectNode e, byte[] bytes, float logprob) {
        e.put("token", new String(bytes, StandardCharsets.UTF_8)).put("logprob", logprob);
        var b = e.putArray("bytes");
        for (byte x : bytes) {
            b.add(x & 0xFF);
        }
        return e;
    }

    /** A stream chunk carrying the answer's function calls, each whole. */
    ObjectNode toolCalls(List<ToolCall> calls) {
        return streamChunk(choice -> {
            var list = choice.putObject("delta").putArray("tool_calls");
            for (int i = 0; i < calls.size(); i++) {
                call(list.addObject().put("index", i), calls.get(i));
            }
        }, null);
    }

    private static void call(ObjectNode o, ToolCall call) {
        o.put("id", call.id()).put("type", "function");
        o.putObject("function").put("name", call.name()).put("arguments", call.arguments());
    }

    ObjectNode whole(Generation g, String content, List<ToolCall> calls, String finish, ObjectNode usage) {
        ObjectNode c = base(chat ? "chat.completion" : "text_completion");
        ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
        if (chat) {
            ObjectNode m = choice.putObject("message").put("role", "assistant");
            if (calls != null && content.isBlank()) {
                m.putNull("content");
            } else {
                m.put("content", content);
            }
            if (calls != null) {
                var list = m.putArray("tool_calls");
                for (ToolCall call : calls) {
                    call(list.addObject(), call);
                }
            }
            if (!g.reasoning().isEmpty() || g.reasoningTokens() > 0) {
                m.put("reasoning_content", g.reasoning());
            }
        } else {
            choice.put("text", g.reasoning() + g.content());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finish);
        c.set("usage", usage);
        return c;
    }

    static String finishReason(Generation g) {
        return switch (g.stopReason()) {
            case END_OF_GENERATION, STOP_STRING, CANCELLED -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case NO_MEMORY -> "insufficient_system_resource";
        };
    }

    static ObjectNode usage(Generation g, int promptTokens, int cached) {
        ObjectNode u = Server.JSON.createObjectNode();
        int completion = g.tokens().length;
        u.put("prompt_tokens", promptTokens).put("completion_tokens", completion)
                .put("total_tokens", promptTokens + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        ObjectNode details = u.putObject("completion_tokens_details").put("reasoning_tokens", g.reasoningTokens());
        if (g.draftedTokens() > 0) {
            // Speculative decoding (serve --spec), in the fields of OpenAI's predicted outputs.
            details.put("accepted_prediction_tokens", g.acceptedTokens())
                    .put("rejected_prediction_tokens", g.draftedTokens() - g.acceptedTokens());
        }
        u.put("prompt_cache_hit_tokens", cached).put("prompt_cache_miss_tokens", promptTokens - cached);
        return u;
    }
}
