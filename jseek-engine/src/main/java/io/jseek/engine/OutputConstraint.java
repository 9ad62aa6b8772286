package io.jseek.engine;

/**
 * A grammar the answer must follow (e.g. {@link JsonConstraint}): generation masks every token whose bytes
 * would leave it, and stops when the output is complete. Matching works on bytes, so byte-level tokens
 * that carry part of a UTF-8 character are judged as they come.
 */
public interface OutputConstraint {
    /** A matcher at the start of the answer. */
    Matcher start();

    /** Where a partial output stands in the grammar. Not thread-safe. */
    interface Matcher {
        /** Feeds bytes; returns false, leaving the matcher unusable, when they cannot continue a valid output. */
        default boolean feed(byte[] bytes) {
            return feed(bytes, 0, bytes.length);
        }

        /** Feeds {@code bytes[from, to)}; as {@link #feed(byte[])}. */
        boolean feed(byte[] bytes, int from, int to);

        /** True when what was fed is a whole output (more may be allowed, e.g. whitespace): the answer may end here. */
        boolean complete();

        /**
         * True when the answer ends here by itself (generation stops without waiting for the end token). Usually the
         * same as {@link #complete}; a constraint whose free text may go on ({@link io.jseek.engine.grammar.TriggeredConstraint})
         * says false while it is in the free part.
         */
        default boolean ended() {
            return complete();
        }

        /** Makes this matcher the same as {@code other} (of the same kind), without allocating. */
        void copyFrom(Matcher other);

        /** A new matcher in this one's state. */
        Matcher copy();
    }
}
