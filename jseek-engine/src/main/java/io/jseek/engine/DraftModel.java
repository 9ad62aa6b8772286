package io.jseek.engine;

import io.jseek.model.Model;
import io.jseek.model.Session;
import java.util.Arrays;

/**
 * Drafting with a smaller model of the same vocabulary (e.g. R1-Distill-Qwen-1.5B for 7B): the draft model follows
 * the sequence in a cache of its own and proposes its greedy continuation. Before each proposal it drops what the
 * target refused (the cached tokens after the first that differs from the sequence) and feeds what it has not seen,
 * so it pays one batched pass for the catch-up and one step per drafted token. The length adapts
 * ({@link AdaptiveDrafter}).
 */
final class DraftModel extends AdaptiveDrafter {
    private final Model model;
    private final int vocab;
    private Session session;
    /** The tokens in the draft cache, position by position. */
    private int[] seen = new int[0];

    DraftModel(LoadedModel draft, int maxDraft) {
        super(maxDraft);
        this.model = draft.network();
        this.vocab = draft.tokenizer().vocabSize();
    }

    @Override
    int draft(int[] tokens, int count, int want, int[] out) {
        if (session == null) {
            // Room for the whole sequence the caller may grow to (its token array's size); blocks are taken as it
            // grows. F16: half the memory, and a draft needs no more.
            session = model.newSession(tokens.length + 1, io.jseek.model.CacheType.F16);
            seen = new int[tokens.length + 1];
        }
        // Keep the longest cached prefix of the sequence; feed at least its last token for fresh logits.
        int common = 0;
        int limit = Math.min(session.position(), count - 1);
        while (common < limit && seen[common] == tokens[common]) {
            common++;
        }
        common = session.truncate(common);  // 0 where the model's cache no longer holds what the prefix needs
        System.arraycopy(tokens, common, seen, common, count - common);
        float[] logits = model.forward(session, Arrays.copyOfRange(tokens, common, count), false)[0];
        for (int i = 0; i < want; i++) {
            out[i] = argmax(logits, vocab);
            if (i + 1 < want) {
                seen[session.position()] = out[i];
                logits = model.forward(session, new int[] {out[i]}, false)[0];
            }
        }
        return want;
    }

    @Override
    public void close() {
        if (session != null) {
            session.close();
            session = null;
        }
    }
}
