package io.jseek.engine.grammar;

import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.engine.OutputConstraint;
import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Which tokens of a vocabulary keep an answer within its grammar, all at once: the tokens' bytes are walked in sorted
 * order, each token fed from the matcher state after the prefix it shares with the one before (a trie walk without
 * the trie), and when a prefix is refused every token that starts with it is skipped. One per tokenizer
 * ({@link #of}); thread-safe (each call brings its own scratch).
 */
public final class TokenMask {
    private static final Map<Tokenizer, TokenMask> CACHE = new WeakHashMap<>();

    private final Tokenizer tokenizer;
    /** Token ids sorted by their bytes; lcp[i]: bytes token order[i] shares with order[i − 1]. */
    private final int[] order;
    private final int[] lcp;
    private final int maxLength;
    /** Tokens never allowed in a constrained answer: the reasoning markers. */
    private final boolean[] never;

    private TokenMask(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        never = new boolean[tokenizer.pieces().length];
        for (String marker : new String[] {"<think>", "</think>"}) {
            int id = tokenizer.id(marker);
            if (id >= 0 && id < never.length) {
                never[id] = true;
            }
        }
        byte[][] pieces = tokenizer.pieces();
        Integer[] ids = new Integer[pieces.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> Arrays.compareUnsigned(pieces[a], pieces[b]));
        order = new int[ids.length];
        lcp = new int[ids.length];
        int longest = 0;
        for (int i = 0; i < ids.length; i++) {
            order[i] = ids[i];
            longest = Math.max(longest, pieces[ids[i]].length);
            if (i > 0) {
                byte[] a = pieces[ids[i - 1]];
                byte[] b = pieces[ids[i]];
                int n = Arrays.mismatch(a, b);
                lcp[i] = n < 0 ? a.length : n;
            }
        }
        maxLength = longest;
    }

    /** The mask of {@code tokenizer}'s vocabulary (built once, then shared). */
    public static TokenMask of(Tokenizer tokenizer) {
        synchronized (CACHE) {
            return CACHE.computeIfAbsent(tokenizer, TokenMask::new);
        }
    }

    /** Scratch for {@link #allowed}: a matcher per prefix length. */
    public final class Scratch {
        private final OutputConstraint.Matcher[] depth;

        Scratch(OutputConstraint.Matcher like) {
            depth = new OutputConstraint.Matcher[maxLength + 1];
            for (int i = 0; i < depth.length; i++) {
                depth[i] = like.copy();
            }
        }
    }

    /** Scratch for matchers of {@code like}'s constraint. */
    public Scratch scratch(OutputConstraint.Matcher like) {
        return new Scratch(like);
    }

    /**
     * Sets {@code allowed[id]} for every token: whether feeding its bytes to {@code m} keeps the answer valid. An
     * end-of-generation token is allowed when {@code m} is complete; the reasoning markers and tokens without bytes
     * are not. Returns how many are allowed.
     */
    public int allowed(OutputConstraint.Matcher m, Scratch s, boolean[] allowed) {
        byte[][] pieces = tokenizer.pieces();
        boolean complete = m.complete();
        OutputConstraint.Matcher[] at = s.depth;
        at[0].copyFrom(m);
        int count = 0;
        // The deepest prefix length whose matcher state in 'at' is valid for the current token, and a refused prefix.
        int valid = 0;
        // A refused prefix's length, and the bytes every token since the refused one has shared with it.
        int deadFrom = Integer.MAX_VALUE;
        int deadShared = Integer.MAX_VALUE;
        for (int i = 0; i < order.length; i++) {
            int id = order[i];
            byte[] b = pieces[id];
            int shared = i == 0 ? 0 : lcp[i];
            valid = Math.min(valid, shared);
            deadShared = Math.min(deadShared, shared);
            boolean ok;
            if (tokenizer.isEndOfGeneration(id)) {
                ok = complete;
            } else if (b.length == 0 || never[id]) {
                ok = false;
            } else if (deadShared >= deadFrom) {
                ok = false;  // starts with a refused prefix
            } else {
                deadFrom = Integer.MAX_VALUE;
                ok = true;
                for (int d = valid; d < b.length; d++) {
                    at[d + 1].copyFrom(at[d]);
                    if (!at[d + 1].feed(b, d, d + 1)) {
                        deadFrom = d + 1;
                        deadShared = Integer.MAX_VALUE;
                        ok = false;
                        break;
                    }
                    valid = d + 1;
                }
            }
            allowed[id] = ok;
            if (ok) {
                count++;
            }
        }
        return count;
    }
}
