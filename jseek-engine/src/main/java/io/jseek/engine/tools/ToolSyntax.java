package io.jseek.engine.tools;

import io.jseek.engine.ChatFormat;
import io.jseek.engine.ChatMessage;
import io.jseek.engine.ChatTemplate;
import java.util.List;

/**
 * One way of calling functions, as a model was trained to: the system-prompt block describing the tools, an
 * earlier call and a result as they go back into the conversation, and the parser that finds calls in an
 * answer. The HTTP server and the LangChain4j models share these, so a model calls functions the same way
 * through either.
 */
public interface ToolSyntax {
    /** The system-prompt block describing {@code tools}. */
    String describe(List<ToolSpec> tools);

    /**
     * An assistant message's earlier calls, written as the model would have written them (to append to the
     * message's text). Throws IllegalArgumentException naming the call when its arguments are not a JSON
     * object and the syntax needs one.
     */
    String render(List<ToolCall> calls);

    /** A function's result as the message that carries it back to the model. */
    ChatMessage result(String content);

    /** A parser for one answer. */
    ToolCallParser parser();

    /** The text a call block starts with (what {@link #parser} looks for). */
    String trigger();

    /**
     * Grammar text ({@link io.jseek.engine.grammar.Gbnf}) for an answer that is nothing but a call block: of the
     * function named {@code only} (null: any of {@code tools}), one call or (with {@code parallel}) several, each
     * call's arguments held to its function's parameter schema where the grammar can hold them (else any JSON
     * object). For {@code tool_choice: required} or a named function.
     */
    String grammar(List<ToolSpec> tools, String only, boolean parallel);

    /** The functions a forced call may name: {@code only}'s spec, or all; IllegalArgumentException for an unknown name. */
    static List<ToolSpec> callable(List<ToolSpec> tools, String only) {
        if (only == null) {
            return tools;
        }
        for (ToolSpec t : tools) {
            if (t.name().equals(only)) {
                return List.of(t);
            }
        }
        throw new IllegalArgumentException("tool_choice names the function \"" + only + "\", which is not among the tools");
    }

    /** The rule for a function's arguments: its parameter schema compiled into {@code g}, or any JSON object. */
    static String arguments(io.jseek.engine.grammar.JsonSchemaGrammar g, ToolSpec t) {
        if (t.parameters() == null) {
            return "object";
        }
        try {
            return g.add(t.parameters(), "args-" + t.name());
        } catch (IllegalArgumentException e) {
            return "object";  // a schema the grammar cannot hold: the call's syntax is still enforced
        }
    }

    /** The syntax the model's chat format was trained with: DSML for V3.2, DeepSeek-V3's otherwise. */
    static ToolSyntax of(ChatFormat format) {
        return format == ChatTemplate.DEEPSEEK32 ? DsmlToolSyntax.INSTANCE : DeepSeekToolSyntax.INSTANCE;
    }
}
