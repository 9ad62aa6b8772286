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

    /**
     * True when a conversation's earlier turns reach the prompt: a two-turn probe is rendered and every turn's text
     * must appear. A template that renders only the last message (a single-turn model's) says false, so a chat front
     * end can start each message afresh instead of showing answers to a prompt the model never saw.
     */
    default boolean holdsConversation() {
        try {
            String r = render(List.of(ChatMessage.user("probe-one"), ChatMessage.assistant("probe-two"),
                    ChatMessage.user("probe-three")), true);
            return r.contains("probe-one") && r.contains("probe-two") && r.contains("probe-three");
        } catch (RuntimeException e) {
            return false;
        }
    }
}
