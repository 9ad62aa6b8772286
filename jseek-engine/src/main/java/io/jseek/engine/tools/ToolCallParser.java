package io.jseek.engine.tools;

import java.util.List;
import java.util.function.Function;

/**
 * Splits an answer as it streams: text before a call block passes through ({@link #push} holds back what might
 * be the start of the block's marker); from the marker on, everything is kept, and {@link #finish} parses it into
 * calls — or, if it does not parse, hands it back as text ({@link #rest}). Not thread-safe.
 */
public final class ToolCallParser {
    private final StringBuilder held = new StringBuilder();
    private final String marker;
    private final Function<String, List<ToolCall>> parse;
    private boolean inCalls;

    /** Calls start at {@code marker}; {@code parse} reads a block from it (null: malformed or unfinished). */
    public ToolCallParser(String marker, Function<String, List<ToolCall>> parse) {
        this.marker = marker;
        this.parse = parse;
    }

    /** Adds answer text; returns what can be shown as content now. */
    public String push(String text) {
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
    public List<ToolCall> finish() {
        if (!inCalls) {
            return null;
        }
        List<ToolCall> calls = parse.apply(held.toString());
        return calls == null || calls.isEmpty() ? null : calls;
    }

    /** Text still held back (shown as content when no calls were parsed). */
    public String rest() {
        return held.toString();
    }

    /** Parses a whole answer: its calls (empty when none) and the text before them (all of it when none). */
    public static Parsed parse(ToolSyntax syntax, String answer) {
        ToolCallParser p = syntax.parser();
        String text = p.push(answer);
        List<ToolCall> calls = p.finish();
        return calls == null ? new Parsed(text + p.rest(), List.of()) : new Parsed(text, calls);
    }

    /** An answer split into its text and its calls. */
    public record Parsed(String text, List<ToolCall> calls) {
    }
}
