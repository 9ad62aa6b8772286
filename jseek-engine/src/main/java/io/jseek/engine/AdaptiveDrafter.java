package io.jseek.engine;

/**
 * A drafter whose proposals adapt in length: it starts at two tokens, then proposes one more than was kept last
 * time, growing while everything is kept, at most its maximum; after a proposal refused outright it rests for 1, 2,
 * 4 … (at most {@value #LONGEST_REST}) steps, so that text its drafts do not fit pays little for them.
 */
abstract class AdaptiveDrafter implements Drafter {
    static final int LONGEST_REST = 32;

    private final int maxDraft;
    private int length;
    /** Proposals refused outright in a row, and steps left to rest. */
    private int misses;
    private int rest;

    AdaptiveDrafter(int maxDraft) {
        this.maxDraft = maxDraft;
        this.length = Math.min(2, maxDraft);
    }

    /** Up to {@code want} (at least 1) tokens proposed to follow {@code tokens[0, count)}, into {@code out}. */
    abstract int draft(int[] tokens, int count, int want, int[] out);

    /** The likeliest of the first {@code vocab} tokens (a model's rows may be padded past its vocabulary). */
    static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < Math.min(vocab, logits.length); i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public final int maxDraft() {
        return maxDraft;
    }

    @Override
    public final int propose(int[] tokens, int count, int max, int[] out) {
        if (rest > 0) {
            rest--;
            return 0;
        }
        int want = Math.min(max, length);
        return want < 1 ? 0 : draft(tokens, count, want, out);
    }

    @Override
    public final void accepted(int proposed, int kept) {
        length = kept == proposed ? Math.min(maxDraft, length + 1) : Math.max(1, kept + 1);
        misses = kept == 0 ? misses + 1 : 0;
        rest = misses == 0 ? 0 : Math.min(LONGEST_REST, 1 << Math.min(misses - 1, 5));
    }
}
