package io.jseek.engine;

/**
 * Prompt-lookup drafting: finds the latest earlier place where the sequence's last n tokens occurred (n from
 * {@value #LONGEST} down to {@value #SHORTEST}: the longest match is the best evidence) and proposes the tokens that
 * followed it. Strong wherever the answer repeats its context: code edits, quoting retrieved text, structured output.
 * The length adapts ({@link AdaptiveDrafter}).
 */
final class PromptLookup extends AdaptiveDrafter {
    static final int LONGEST = 4;
    static final int SHORTEST = 2;
    /** How far back to look, so that a step's cost stays bounded on long contexts. */
    static final int WINDOW = 16_384;

    PromptLookup(int maxDraft) {
        super(maxDraft);
    }

    @Override
    int draft(int[] tokens, int count, int want, int[] out) {
        int from = Math.max(0, count - WINDOW);
        for (int n = Math.min(LONGEST, count - 1); n >= SHORTEST; n--) {
            // The match must end before the last token, so that something follows it.
            for (int end = count - 2; end - n + 1 >= from; end--) {
                if (matches(tokens, end - n + 1, count - n, n)) {
                    int k = Math.min(want, count - 1 - end);
                    System.arraycopy(tokens, end + 1, out, 0, k);
                    return k;
                }
            }
        }
        return 0;
    }

    private static boolean matches(int[] t, int a, int b, int n) {
        for (int i = 0; i < n; i++) {
            if (t[a + i] != t[b + i]) {
                return false;
            }
        }
        return true;
    }
}
