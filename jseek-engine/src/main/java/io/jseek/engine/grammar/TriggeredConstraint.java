package io.jseek.engine.grammar;

import io.jseek.engine.OutputConstraint;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A grammar that applies from a trigger on (llama.cpp's lazy grammars): the answer is free text until it contains
 * {@code trigger}, and from the trigger on it must follow {@code grammar}, which matches text starting with the
 * trigger. For function calls the model may make or not ({@code tool_choice: auto}) with strict schemas: free text,
 * or a call block whose arguments keep to their schemas. Before the trigger the answer may end anywhere and does not
 * end by itself ({@link Matcher#ended} false).
 */
public final class TriggeredConstraint implements OutputConstraint {
    private final byte[] trigger;
    private final GrammarConstraint grammar;

    public TriggeredConstraint(String trigger, GrammarConstraint grammar) {
        this.trigger = trigger.getBytes(StandardCharsets.UTF_8);
        this.grammar = grammar;
    }

    @Override
    public Matcher start() {
        return new TriggeredMatcher();
    }

    private final class TriggeredMatcher implements Matcher {
        /** Bytes of the trigger matched so far (a prefix of it ending the text), while no block has started. */
        private int matched;
        /** The block's matcher once the trigger has appeared. */
        private Matcher block;

        @Override
        public boolean feed(byte[] bytes, int from, int to) {
            for (int i = from; i < to; i++) {
                if (block != null) {
                    return block.feed(bytes, i, to);
                }
                matched = next(matched, bytes[i]);
                if (matched == trigger.length) {
                    block = grammar.start();
                    if (!block.feed(trigger)) {
                        return false;
                    }
                }
            }
            return true;
        }

        /** The trigger prefix matched after byte b, given {@code m} matched before it (naive fallback, short trigger). */
        private int next(int m, byte b) {
            while (true) {
                if (trigger[m] == b) {
                    return m + 1;
                }
                if (m == 0) {
                    return 0;
                }
                // Longest proper prefix of trigger[0..m) that is also its suffix, then try again.
                int k = m - 1;
                while (k > 0 && !Arrays.equals(trigger, 0, k, trigger, m - k, m)) {
                    k--;
                }
                m = k;
            }
        }

        @Override
        public boolean complete() {
            return block == null ? matched == 0 : block.complete();
        }

        @Override
        public boolean ended() {
            return block != null && block.complete();
        }

        @Override
        public void copyFrom(Matcher other) {
            TriggeredMatcher o = (TriggeredMatcher) other;
            matched = o.matched;
            block = o.block == null ? null : o.block.copy();
        }

        @Override
        public Matcher copy() {
            TriggeredMatcher m = new TriggeredMatcher();
            m.copyFrom(this);
            return m;
        }
    }
}
