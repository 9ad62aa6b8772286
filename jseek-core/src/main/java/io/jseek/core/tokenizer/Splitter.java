package io.jseek.core.tokenizer;

/**
 * One pre-tokenizer stage: refines a split of the text into pieces. Each existing piece is split on its
 * own (a match never crosses a piece boundary) and the stretches between matches stay pieces too.
 */
interface Splitter {
    /**
     * @param cps     the text's code points
     * @param lengths the current pieces, as lengths in code points that add up to {@code cps.length}
     * @return the refined pieces, in the same form
     */
    IntList split(int[] cps, IntList lengths);
}
