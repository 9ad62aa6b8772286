package io.jseek.engine;

import io.jseek.model.HiddenStates;
import io.jseek.model.Model;
import io.jseek.model.MtpHead;
import io.jseek.model.Session;

/**
 * Self-speculation with the model's own multi-token-prediction head (docs/deepseek.md §5.4): the sequence's session
 * keeps the final hidden state of every position it feeds; before each verify pass the head catches up on the
 * positions it has not seen — position i gets (h_i, t_{i+1}), the last of them the token just sampled — and its
 * logits after the last one propose the token after that. Further tokens chain the head on its own output (its final
 * hidden state in place of the main model's, as llama.cpp does); those entries are dropped from its cache after the
 * proposal, since the verify pass gives the real hidden states. The head's cache starts where capture started (after
 * a reused prefix its attention sees the new positions only — RoPE is relative, so it is the same head on a shorter
 * context).
 */
final class MtpDrafter extends AdaptiveDrafter {
    private final MtpHead head;
    private final int width;
    private final int vocab;
    private Session main;
    private Session own;
    /** The main-model position of the head's cache position 0. */
    private int offset;
    private float[] chained;

    MtpDrafter(Model model, int maxDraft) {
        super(maxDraft);
        this.head = model.mtp();
        this.width = model.config().embeddingLength();
        this.vocab = model.config().vocabSize();
    }

    @Override
    public void attach(Session session) {
        main = session;
        session.captureHidden(true, width);
    }

    @Override
    int draft(int[] tokens, int count, int want, int[] out) {
        HiddenStates h = main == null ? null : main.hidden();
        // The positions not yet given to the head: [first, first + n), their next tokens known (the last one just
        // sampled, count - 1 = the main session's length).
        if (h == null || h.count() == 0 || h.first() + h.count() != count - 1) {
            return 0;
        }
        if (own == null) {
            own = head.newSession(main.contextLength(), io.jseek.model.CacheType.F32);
            offset = h.first();
        }
        if (h.first() != offset + own.position()) {
            // Capture restarted elsewhere (a gap): start the head's cache over from here.
            own.truncate(0);
            offset = h.first();
        }
        int n = h.count();
        int[] next = java.util.Arrays.copyOfRange(tokens, h.first() + 1, h.first() + 1 + n);
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = h.row(i);
        }
        h.clear();
        if (chained == null) {
            chained = new float[width];
        }
        int committed = own.position() + n;
        float[] logits = head.forward(own, next, rows, false, chained)[0];
        int k = 0;
        while (true) {
            out[k] = argmax(logits, vocab);
            if (++k == want || own.position() >= own.contextLength()) {
                break;
            }
            logits = head.forward(own, new int[] {out[k - 1]}, new float[][] {chained}, false, chained)[0];
        }
        own.truncate(committed);
        return k;
    }

    @Override
    public void close() {
        if (main != null) {
            main.captureHidden(false, width);
            main = null;
        }
        if (own != null) {
            own.close();
            own = null;
        }
    }
}
