package io.jseek.engine;

/** Receives generated text as it is produced, in whole UTF-8 characters. */
public interface GenerationListener {
    /** Text inside {@code <think>…</think>}. */
    default void onReasoning(String delta) {
    }

    /** Text of the answer. */
    default void onContent(String delta) {
    }

    /** Returns true to stop generating (e.g. the user pressed Ctrl-C). Checked after every token. */
    default boolean cancelled() {
        return false;
    }
}
