package io.jseek.server;

import java.util.Locale;
import tools.jackson.databind.node.ObjectNode;

/**
 * One line per request at INFO (System.Logger {@code jseek.server}, or standard error from {@code jseek serve}): the
 * completion's id, the client's address, method, path, status, tokens in and out, how it ended, time to first token
 * and duration. As text ({@code key=value}) or JSON ({@code --log-format json}). A request's handler leaves what
 * it knows in the request's {@link Info} ({@code exchange.info}).
 */
final class RequestLog {
    /** What a handler learned about its request. */
    static final class Info {
        volatile String id;
        volatile Integer promptTokens;
        volatile Integer completionTokens;
        volatile String finish;
        volatile Double ttftMs;
    }

    /** How lines are written. */
    enum Format { TEXT, JSON }

    private RequestLog() {
    }

    /** The line for a finished request. */
    static String line(Format format, Exchange ex, int status, double ms) {
        Info info = ex.info;
        ObjectNode o = Server.JSON.createObjectNode();
        if (info != null && info.id != null) {
            o.put("id", info.id);
        }
        o.put("client", ex.clientAddress());
        o.put("method", ex.method());
        o.put("path", ex.path());
        o.put("status", status);
        if (info != null && info.promptTokens != null) {
            o.put("prompt_tokens", info.promptTokens);
            o.put("completion_tokens", info.completionTokens);
            o.put("finish", info.finish);
        }
        if (info != null && info.ttftMs != null) {
            o.put("ttft_ms", Math.round(info.ttftMs * 10) / 10.0);
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
