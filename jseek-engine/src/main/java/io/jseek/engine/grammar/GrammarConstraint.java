package io.jseek.engine.grammar;

import io.jseek.engine.OutputConstraint;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * An answer held to a {@link Grammar}. The matcher is a set of parse stacks, as llama.cpp's: each stack is where one
 * way of parsing the text so far stands, its top a character set the next code point must be in. A code point moves
 * every stack whose top accepts it one element on, expanding rule references into their alternatives until each
 * stack's top is a character set again; stacks that cannot take it are dropped, and the text is invalid when none
 * are left. Stacks are immutable linked frames shared between copies, so copying a matcher (done per candidate
 * token) copies two references. Bytes are decoded as UTF-8 across feeds; a code point split between tokens is
 * accepted while some stack could take a code point starting with those bytes.
 */
public final class GrammarConstraint implements OutputConstraint {
    private final Grammar grammar;
    private final Frame[] start;

    public GrammarConstraint(Grammar grammar) {
        this.grammar = grammar;
        Set<Frame> s = new LinkedHashSet<>();
        expand(new Frame(new Grammar.Element[] {new Grammar.Ref(grammar.root)}, 0, null), s);
        this.start = s.toArray(new Frame[0]);
    }

    /** A constraint from grammar text ({@link Gbnf}). */
    public static GrammarConstraint gbnf(String text) {
        return new GrammarConstraint(Gbnf.parse(text));
    }

    public Grammar grammar() {
        return grammar;
    }

    @Override
    public Matcher start() {
        return new GrammarMatcher(start);
    }

    /** Where one parse stands in an alternative: the sequence, the element next, and what follows the rule. */
    static final class Frame {
        /** The empty stack: the text so far is a whole answer. */
        static final Frame ACCEPT = new Frame(new Grammar.Element[0], 0, null);
        final Grammar.Element[] seq;
        final int pos;
        final Frame parent;
        private final int hash;

        Frame(Grammar.Element[] seq, int pos, Frame parent) {
            this.seq = seq;
            this.pos = pos;
            this.parent = parent;
            this.hash = (System.identityHashCode(seq) * 31 + pos) * 31 + Objects.hashCode(parent);
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Frame f) || f.hash != hash || f.seq != seq || f.pos != pos) {
                return false;
            }
            return Objects.equals(parent, f.parent);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        /** The frame after this one's element: the next element, or (tail position) the parent. */
        Frame next() {
            return pos + 1 < seq.length ? new Frame(seq, pos + 1, parent) : parent;
        }
    }

    /** Adds to {@code out} the stacks {@code f} stands for, each with a character set on top (or ACCEPT). */
    private void expand(Frame f, Set<Frame> out) {
        while (true) {
            if (f == null) {
                out.add(Frame.ACCEPT);
                return;
            }
            if (f.pos == f.seq.length) {
                f = f.parent;
                continue;
            }
            Grammar.Element e = f.seq[f.pos];
            if (e instanceof Grammar.Chars) {
                out.add(f);
                return;
            }
            Frame cont = f.next();
            for (Grammar.Element[] alt : grammar.rules[((Grammar.Ref) e).rule()]) {
                expand(new Frame(alt, 0, cont), out);
            }
            return;
        }
    }

    private static final Frame[] NONE = new Frame[0];

    private final class GrammarMatcher implements Matcher {
        private Frame[] stacks;
        /** A code point being decoded: its bits so far, and continuation bytes still to come. */
        private int partial;
        private int pending;
        /** The smallest code point the pending lead byte allows (to reject overlong forms). */
        private int minimum;

        GrammarMatcher(Frame[] stacks) {
            this.stacks = stacks;
        }

        @Override
        public boolean feed(byte[] bytes, int from, int to) {
            for (int i = from; i < to; i++) {
                if (!feed(bytes[i] & 0xFF)) {
                    stacks = NONE;
                    return false;
                }
            }
            return true;
        }

        private boolean feed(int b) {
            if (pending > 0) {
                if ((b & 0xC0) != 0x80) {
                    return false;
                }
                partial = partial << 6 | b & 0x3F;
                if (--pending > 0) {
                    return someStackMayTake();
                }
                if (partial < minimum || partial > 0x10FFFF || partial >= 0xD800 && partial <= 0xDFFF) {
                    return false;
                }
                return advance(partial);
            }
            if (b < 0x80) {
                return advance(b);
            }
            if ((b & 0xE0) == 0xC0) {
                pending = 1;
                partial = b & 0x1F;
                minimum = 0x80;
            } else if ((b & 0xF0) == 0xE0) {
                pending = 2;
                partial = b & 0x0F;
                minimum = 0x800;
            } else if ((b & 0xF8) == 0xF0) {
                pending = 3;
                partial = b & 0x07;
                minimum = 0x10000;
            } else {
                return false;
            }
            return someStackMayTake();
        }

        /**
         * While a code point is incomplete: true when some stack takes a code point that starts with its bytes so far
         * (surrogates excluded: ED A0 is no prefix of any character, and accepting it would leave the answer with no
         * way on).
         */
        private boolean someStackMayTake() {
            int lo = Math.max(minimum, partial << 6 * pending);
            int hi = Math.min(0x10FFFF, (partial + 1 << 6 * pending) - 1);
            return mayTake(lo, Math.min(hi, 0xD7FF)) || mayTake(Math.max(lo, 0xE000), hi);
        }

        private boolean mayTake(int lo, int hi) {
            if (lo > hi) {
                return false;
            }
            for (Frame f : stacks) {
                if (f != Frame.ACCEPT && mayMatch((Grammar.Chars) f.seq[f.pos], lo, hi)) {
                    return true;
                }
            }
            return false;
        }

        private boolean advance(int c) {
            Set<Frame> next = new LinkedHashSet<>();
            for (Frame f : stacks) {
                if (f != Frame.ACCEPT && ((Grammar.Chars) f.seq[f.pos]).matches(c)) {
                    expand(f.next(), next);
                }
            }
            stacks = next.toArray(new Frame[0]);
            return stacks.length > 0;
        }

        @Override
        public boolean complete() {
            if (pending > 0) {
                return false;
            }
            for (Frame f : stacks) {
                if (f == Frame.ACCEPT) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void copyFrom(Matcher other) {
            GrammarMatcher o = (GrammarMatcher) other;
            stacks = o.stacks;
            partial = o.partial;
            pending = o.pending;
            minimum = o.minimum;
        }

        @Override
        public Matcher copy() {
            GrammarMatcher m = new GrammarMatcher(stacks);
            m.copyFrom(this);
            return m;
        }
    }

    /** True when some code point in [lo, hi] is in {@code c}. */
    static boolean mayMatch(Grammar.Chars c, int lo, int hi) {
        if (c.negated()) {
            // Outside the ranges: false only if the ranges cover all of [lo, hi].
            int from = lo;
            for (int i = 0; i < c.ranges().length; i += 2) {
                if (c.ranges()[i] <= from && c.ranges()[i + 1] >= from) {
                    from = c.ranges()[i + 1] + 1;
                }
            }
            return from <= hi;
        }
        for (int i = 0; i < c.ranges().length; i += 2) {
            if (c.ranges()[i] <= hi && c.ranges()[i + 1] >= lo) {
                return true;
            }
        }
        return false;
    }
}
