package io.jseek.engine.tools;

import io.jseek.engine.ChatMessage;
import io.jseek.engine.grammar.JsonSchemaGrammar;
import java.util.ArrayList;
import java.util.List;

/**
 * DeepSeek-V3 / R1's function calls (also for the distills and any format without a syntax of its own). The tools
 * are described in the system prompt with the call syntax the models were trained on:
 * <pre>
 * <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
 * ```json
 * {"arg": 1}
 * ```<｜tool▁call▁end｜><｜tool▁calls▁end｜>
 * </pre>
 * V3.1's {@code NAME<｜tool▁sep｜>ARGS} form is read too. The chat formats have no tool role for results:
 * DeepSeek's tool-output syntax in a user turn.
 */
public final class DeepSeekToolSyntax implements ToolSyntax {
    public static final DeepSeekToolSyntax INSTANCE = new DeepSeekToolSyntax();
    public static final String CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
    public static final String CALLS_END = "<｜tool▁calls▁end｜>";
    public static final String CALL_BEGIN = "<｜tool▁call▁begin｜>";
    public static final String CALL_END = "<｜tool▁call▁end｜>";
    public static final String SEP = "<｜tool▁sep｜>";
    public static final String OUTPUTS_BEGIN = "<｜tool▁outputs▁begin｜>";
    public static final String OUTPUTS_END = "<｜tool▁outputs▁end｜>";
    public static final String OUTPUT_BEGIN = "<｜tool▁output▁begin｜>";
    public static final String OUTPUT_END = "<｜tool▁output▁end｜>";

    private DeepSeekToolSyntax() {
    }

    @Override
    public String describe(List<ToolSpec> tools) {
        StringBuilder b = new StringBuilder("## Tools\n\nYou can call these functions:\n");
        for (ToolSpec f : tools) {
            b.append("\n### ").append(f.name()).append('\n');
            if (f.description() != null) {
                b.append(f.description()).append('\n');
            }
            if (f.parameters() != null) {
                b.append("Parameters: ").append(f.parameters()).append('\n');
            }
        }
        b.append("\nTo call functions, reply with exactly this (one call block per function, arguments as JSON):\n")
                .append(CALLS_BEGIN).append(CALL_BEGIN).append("function").append(SEP).append("NAME\n```json\n{\"argument\": \"value\"}\n```")
                .append(CALL_END).append(CALLS_END).append('\n');
        return b.toString();
    }

    @Override
    public String render(List<ToolCall> calls) {
        StringBuilder b = new StringBuilder(CALLS_BEGIN);
        for (ToolCall c : calls) {
            b.append(CALL_BEGIN).append("function").append(SEP).append(c.name())
                    .append("\n```json\n").append(c.arguments()).append("\n```").append(CALL_END);
        }
        return b.append(CALLS_END).toString();
    }

    @Override
    public ChatMessage result(String content) {
        return ChatMessage.user(OUTPUTS_BEGIN + OUTPUT_BEGIN + content + OUTPUT_END + OUTPUTS_END);
    }

    @Override
    public String trigger() {
        return CALLS_BEGIN;
    }

    @Override
    public ToolCallParser parser() {
        return new ToolCallParser(CALLS_BEGIN, DeepSeekToolSyntax::parse);
    }

    @Override
    public String grammar(List<ToolSpec> tools, String only, boolean parallel) {
        JsonSchemaGrammar g = JsonSchemaGrammar.create();
        List<String> alts = new ArrayList<>();
        for (ToolSpec t : ToolSyntax.callable(tools, only)) {
            alts.add(JsonSchemaGrammar.literal(t.name() + "\n```json\n") + " " + ToolSyntax.arguments(g, t)
                    + " " + JsonSchemaGrammar.literal("\n```"));
        }
        String call = JsonSchemaGrammar.literal(CALL_BEGIN + "function" + SEP) + " (" + String.join(" | ", alts) + ") "
                + JsonSchemaGrammar.literal(CALL_END);
        return g.gbnf(JsonSchemaGrammar.literal(CALLS_BEGIN) + " call" + (parallel ? "+" : "") + " "
                + JsonSchemaGrammar.literal(CALLS_END), java.util.Map.of("call", call));
    }

    /** The calls in a block starting with {@link #CALLS_BEGIN}, or null if it is malformed or unfinished. */
    public static List<ToolCall> parse(String block) {
        String body = block.substring(CALLS_BEGIN.length());
        int end = body.indexOf(CALLS_END);
        if (end >= 0) {
            body = body.substring(0, end);
        }
        List<ToolCall> calls = new ArrayList<>();
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
            ToolCall c = call(body.substring(begin + CALL_BEGIN.length(), stop));
            if (c == null) {
                return null;
            }
            calls.add(c);
            from = stop + CALL_END.length();
        }
        return calls;
    }

    private static ToolCall call(String text) {
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
        return ToolCall.of(name, args.isEmpty() ? "{}" : args);
    }
}
