package io.jseek.server;

import io.jseek.engine.ChatFormat;
import io.jseek.engine.ChatMessage;
import io.jseek.engine.ChatTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;

/**
 * Function calling in DeepSeek's format. The request's {@code tools} are described to the model in the
 * system prompt, with the call syntax DeepSeek-V3/R1 were trained on:
 * <pre>
 * <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
 * ```json
 * {"arg": 1}
 * ```<｜tool▁call▁end｜><｜tool▁calls▁end｜>
 * </pre>
 * The answer is scanned for it ({@link Parser}; V3.1's {@code NAME<｜tool▁sep｜>ARGS} form is read too)
 * and returned as OpenAI {@code tool_calls}; earlier calls and results in the history are written back
 * in the same syntax. V3.2 writes calls as DSML markup instead ({@link DsmlToolCalls}); {@link Syntax#of}
 * picks the one of the model's chat format.
 */
final class ToolCalls {
    static final String CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
    static final String CALLS_END = "<｜tool▁calls▁end｜>";
    static final String CALL_BEGIN = "<｜tool▁call▁begin｜>";
    static final String CALL_END = "<｜tool▁call▁end｜>";
    static final String SEP = "<｜tool▁sep｜>";
    static final String OUTPUTS_BEGIN = "<｜tool▁outputs▁begin｜>";
    static final String OUTPUTS_END = "<｜tool▁outputs▁end｜>";
    static final String OUTPUT_BEGIN = "<｜tool▁output▁begin｜>";
    static final String OUTPUT_END = "<｜tool▁output▁end｜>";

    /**
     * One way of calling functions: the system-prompt block describing the tools, an earlier call and a
     * result as they go back into the history, and the parser that finds calls in an answer.
     */
    record Syntax(Function<JsonNode, String> describe, Function<JsonNode, String> render,
                  Function<String, ChatMessage> result, Supplier<Parser> parser) {
        /** The syntax the model's chat format was trained with: DSML for V3.2, DeepSeek-V3's otherwise. */
        static Syntax of(ChatFormat format) {
            return format == ChatTemplate.DEEPSEEK32 ? DsmlToolCalls.SYNTAX : V3;
        }
    }

    /**
     * DeepSeek-V3 / R1's syntax (also for the distills and any format without one of its own). The chat
     * formats have no tool role for results: DeepSeek's tool-output syntax in a user turn.
     */
    static final Syntax V3 = new Syntax(ToolCalls::describe, ToolCalls::render, content -> ChatMessage.user(output(content)),
            Parser::new);

    /** One call: its id, the function's name and its arguments (JSON text, as the model wrote it). */
    record Call(String id, String name, String arguments) {
    }

    private ToolCalls() {
    }

    /** The functions of {@code tools} (an OpenAI tools array), validated. */
    static List<JsonNode> functions(JsonNode tools) {
        if (!tools.isArray() || tools.size() > 128) {
            throw ApiException.invalid("tools", "tools must be an array of at most 128 functions");
        }
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < tools.size(); i++) {
            JsonNode t = tools.get(i);
            JsonNode f = t.path("function");
            if (!"function".equals(t.path("type").asString("")) || !f.path("name").isString()) {
                throw ApiException.invalid("tools[" + i + "]", "each tool must be {\"type\":\"function\",\"function\":{\"name\":...}}");
            }
            out.add(f);
        }
        return out;
    }

    /** The system-prompt block describing {@code tools} (an OpenAI tools array), validated. */
    static String describe(JsonNode tools) {
        StringBuilder b = new StringBuilder("## Tools\n\nYou can call these functions:\n");
        for (JsonNode f : functions(tools)) {
            b.append("\n### ").append(f.get("name").asString()).append('\n');
            if (f.path("description").isString()) {
                b.append(f.get("description").asString()).append('\n');
            }
            if (f.has("parameters")) {
                b.append("Parameters: ").append(Server.JSON.writeValueAsString(f.get("parameters"))).append('\n');
            }
        }
        b.append("\nTo call functions, reply with exactly this (one call block per function, arguments as JSON):\n")
                .append(CALLS_BEGIN).append(CALL_BEGIN).append("function").append(SEP).append("NAME\n```json\n{\"argument\": \"value\"}\n```")
                .append(CALL_END).append(CALLS_END).append('\n');
        return b.toString();
    }

    /** An assistant message's earlier calls, written as the model would have written them. */
    static String render(JsonNode toolCalls) {
        StringBuilder b = new StringBuilder(CALLS_BEGIN);
        for (JsonNode c : toolCalls) {
            JsonNode f = c.path("function");
            b.append(CALL_BEGIN).append("function").append(SEP).append(f.path("name").asString(""))
                    .append("\n```json\n").append(f.path("arguments").asString("{}")).append("\n```").append(CALL_END);
        }
        return b.append(CALLS_END).toString();
    }

    /** A tool's result, as the model reads it. */
    static String output(String content) {
        return OUTPUTS_BEGIN + OUTPUT_BEGIN + content + OUTPUT_END + OUTPUTS_END;
    }

    /**
     * Splits an answer as it streams: text before a call block passes through ({@link #push} holds back
     * what might be the start of the block's marker); from the marker on, everything is kept, and
     * {@link #finish} parses it into calls — or, if it does not parse, hands it back as text.
     */
    static final class Parser {
        private final StringBuilder held = new StringBuilder();
        private final String marker;
        private final java.util.function.Function<String, List<Call>> parse;
        private boolean inCalls;

        /** DeepSeek-V3's syntax. */
        Parser() {
            this(CALLS_BEGIN, ToolCalls::parse);
        }

        /** Calls start at {@code marker}; {@code parse} reads a block from it (null: malformed). */
        Parser(String marker, java.util.function.Function<String, List<Call>> parse) {
            this.marker = marker;
            this.parse = parse;
        }

        /** Adds answer text; returns what can be shown as content now. */
        String push(String text) {
            held.append(text);
            if (inCalls) {
                return "";
            }
            int at = held.indexOf(marker);
            if (at >= 0) {
                inCalls = true;
                String before = held.substring(0, at);
                held.delete(0, at);
                return before;
            }
            int keep = 0;
            for (int k = Math.min(marker.length() - 1, held.length()); k > 0; k--) {
                if (held.substring(held.length() - k).equals(marker.substring(0, k))) {
                    keep = k;
                    break;
                }
            }
            String out = held.substring(0, held.length() - keep);
            held.delete(0, held.length() - keep);
            return out;
        }

        /** The calls found, or null when there were none (then {@link #rest} is plain text). */
        List<Call> finish() {
            if (!inCalls) {
                return null;
            }
            List<Call> calls = parse.apply(held.toString());
            return calls == null || calls.isEmpty() ? null : calls;
        }

        /** Text still held back (shown as content when no calls were parsed). */
        String rest() {
            return held.toString();
        }
    }

    /** The calls in a block starting with CALLS_BEGIN, or null if it is malformed or unfinished. */
    static List<Call> parse(String block) {
        String body = block.substring(CALLS_BEGIN.length());
        int end = body.indexOf(CALLS_END);
        if (end >= 0) {
            body = body.substring(0, end);
        }
        List<Call> calls = new ArrayList<>();
        int from = 0;
        while (true) {
            int begin = body.indexOf(CALL_BEGIN, from);
            if (begin < 0) {
                break;
            }
            int stop = body.indexOf(CALL_END, begin);
            if (stop < 0) {
                return null;
            }
            Call c = call(body.substring(begin + CALL_BEGIN.length(), stop));
            if (c == null) {
                return null;
            }
            calls.add(c);
            from = stop + CALL_END.length();
        }
        return calls;
    }

    private static Call call(String text) {
        int sep = text.indexOf(SEP);
        if (sep < 0) {
            return null;
        }
        String left = text.substring(0, sep).strip();
        String right = text.substring(sep + SEP.length());
        String name;
        String args;
        if (left.equals("function")) {
            // V3 / R1: NAME, then the arguments in a ```json fence.
            int nl = right.indexOf('\n');
            name = (nl < 0 ? right : right.substring(0, nl)).strip();
            String rest = nl < 0 ? "" : right.substring(nl + 1).strip();
            if (rest.startsWith("```")) {
                int open = rest.indexOf('\n');
                int close = rest.lastIndexOf("```");
                rest = open >= 0 && close > open ? rest.substring(open + 1, close) : rest;
            }
            args = rest.strip();
        } else {
            // V3.1: NAME<｜tool▁sep｜>ARGUMENTS.
            name = left;
            args = right.strip();
        }
        if (name.isEmpty()) {
            return null;
        }
        return call(name, args.isEmpty() ? "{}" : args);
    }

    /** A call with a fresh id. */
    static Call call(String name, String arguments) {
        return new Call("call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24), name, arguments);
    }
}
