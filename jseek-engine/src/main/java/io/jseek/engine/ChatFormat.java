package io.jseek.engine;

import java.util.List;

/** Turns a conversation into prompt text: a built-in {@link ChatTemplate} or a Jinja {@link JinjaChatFormat}. */
public sealed interface ChatFormat permits ChatTemplate, JinjaChatFormat {

    /** A short name for messages ("DEEPSEEK3", "jinja (file.jinja)"). */
    String name();

    /** Renders the conversation; with {@code addAssistant} it ends ready for the assistant's reply. */
    String render(List<ChatMessage> messages, boolean addAssistant);

    /**
     * True when the rendered text itself decides the reasoning opener and BOS (a Jinja template writes
     * {@code bos_token} and, for R1, {@code <think>\n}); false for built-ins, which leave both to the caller.
     */
    boolean isComplete();
}
