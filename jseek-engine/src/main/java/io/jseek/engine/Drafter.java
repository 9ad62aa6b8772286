package io.jseek.engine;

/** Proposes the tokens likely to come next in one sequence ({@link Speculation}). Not thread-safe: one per sequence. */
interface Drafter {
    /**
     * Up to {@code max} tokens proposed to follow {@code tokens[0, count)} (the whole sequence so far, prompt
     * included), written to {@code out}; returns how many (0: no guess).
     */
    int propose(int[] tokens, int count, int max, int[] out);

    /**
     * Called with the sequence's session before its prompt is fed (a multi-token-prediction head asks the session to
     * keep its hidden states).
     */
    default void attach(io.jseek.model.Session session) {
    }

    /** The most tokens one proposal holds. */
    int maxDraft();

    /** How many of the last proposal's {@code proposed} tokens the model kept. */
    void accepted(int proposed, int kept);

    /** Frees what the drafter holds (a draft model's cache); it is not used again. */
    default void close() {
    }
}
