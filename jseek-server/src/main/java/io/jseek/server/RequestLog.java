package io.jseek.server;

import com.sun.net.httpserver.HttpExchange;
import java.util.Locale;
import tools.jackson.databind.node.ObjectNode;

/**
 * One line per request at INFO (System.Logger {@code jseek.server}, or standard error from {@code jseek serve}): the
 * completion's id, the client's address, method, path, status, tokens in and out, how it ended, time to first token
 * and duration. As text ({@code key=value}) or JSON ({@code --log-format json}). A request's handler leaves what
 * it knows as exchange attributes.
 */
final class RequestLog {
    static final String ID = "jseek.id";
    static final String PROMPT_TOKENS = "jseek.prompt_tokens";
    static final String COMPLETION_TOKENS = "jseek.completion_tokens";
    static final String FINISH = "jseek.finish";
    static final String TTFT_MS = "jseek.ttft_ms";

    /** How lines are written. */
    enum Format { TEXT, JSON }

    private RequestLog() {
    }

    /** The line for a finished request. */
    static String line(Format format, HttpExchange ex, String path, int status, double ms) {
        ObjectNode o = Server.JSON.createObjectNode();
        Object id = ex.getAttribute(ID);
        if (id != null) {
            o.put("id", (String) id);
        }
        var remote = ex.getRemoteAddress();
        o.put("client", remote == null ? "" : remote.getAddress().getHostAddress());
        o.put("method", ex.getRequestMethod());
        o.put("path", path);
        o.put("status", status);
        if (ex.getAttribute(PROMPT_TOKENS) != null) {
            o.put("prompt_tokens", (Integer) ex.getAttribute(PROMPT_TOKENS));
            o.put("completion_tokens", (Integer) ex.getAttribute(COMPLETION_TOKENS));
            o.put("finish", (String) ex.getAttribute(FINISH));
        }
        if (ex.getAttribute(TTFT_MS) != null) {
            o.put("ttft_ms", Math.round((Double) ex.getAttribute(TTFT_MS) * 10) / 10.0);
        }
        o.put("ms", Math.round(ms * 10) / 10.0);
        if (format == Format.JSON) {
            return Server.JSON.writeValueAsString(o);
        }
        StringBuilder b = new StringBuilder();
        for (var e : o.properties()) {
            if (!b.isEmpty()) {
                b.append(' ');
            }
            b.append(e.getKey()).append('=').append(e.getValue().isString() ? e.getValue().asString() : e.getValue().toString());
        }
        return b.toString();
    }

    static Format format(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "text" -> Format.TEXT;
            case "json" -> Format.JSON;
            default -> throw new IllegalArgumentException("--log-format must be text or json, got " + name);
        };
    }
}
