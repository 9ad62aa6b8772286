package io.jseek.engine;

/** Receives generated text as it is produced, in whole UTF-8 characters. */
public interface GenerationListener {
    /** Text inside {@code <think>…</think>}. */
    default void onReasoning(String delta) {
    }

    /** Text of the answer. */
    default void onContent(String delta) {
    }

    /**
     * One answer token with its log-probability under the model (softmax of the raw logits) and the most
     * likely alternatives, when {@link GenerationOptions#topLogprobs} asks for them. Called before the
     * token's text reaches {@link #onContent} (which may hold text back until characters are whole).
     */
    default void onToken(TokenLogprob token) {
    }

    /** Returns true to stop generating (e.g. the user pressed Ctrl-C). Checked after every token. */
    default boolean cancelled() {
        return false;
    }
}
