package io.jseek.engine;

/**
 * How many tokens a drafter proposes next: it starts at two, then one more than was kept last time, growing while
 * everything is kept, at most the drafter's maximum; after a proposal refused outright the drafter rests for 1, 2,
 * 4 … (at most {@value #LONGEST_REST}) steps, so that text the drafts do not fit pays little for them.
 */
final class DraftLength {
    static final int LONGEST_REST = 32;

    private final int max;
    private int length;
    /** Proposals refused outright in a row, and steps left to rest. */
    private int misses;
    private int rest;

    DraftLength(int max) {
        this.max = max;
        this.length = Math.min(2, max);
    }

    int max() {
        return max;
    }

    /** The length of the next proposal, or 0 while resting (each call is a step). */
    int next() {
        if (rest > 0) {
            rest--;
            return 0;
        }
        return length;
    }

    /** {@code kept} of the last proposal's {@code proposed} tokens were kept. */
    void kept(int proposed, int kept) {
        length = kept == proposed ? Math.min(max, length + 1) : Math.max(1, kept + 1);
        misses = kept == 0 ? misses + 1 : 0;
        rest = misses == 0 ? 0 : Math.min(LONGEST_REST, 1 << Math.min(misses - 1, 5));
    }
}
