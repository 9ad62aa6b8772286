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

    /** The syntax the model's chat format was trained with: DSML for V3.2, DeepSeek-V3's otherwise. */
    static ToolSyntax of(ChatFormat format) {
        return format == ChatTemplate.DEEPSEEK32 ? DsmlToolSyntax.INSTANCE : DeepSeekToolSyntax.INSTANCE;
    }
}
