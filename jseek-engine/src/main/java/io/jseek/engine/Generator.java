package io.jseek.engine;

import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.model.Batch;
import io.jseek.model.Model;
import io.jseek.model.Session;

/**
 * The generation loop of one sequence on its own: feed the prompt as one batch, then sample, stream and
 * feed one token at a time ({@link Decoding}) until an end-of-generation token, a stop string, the token
 * limit or the end of the context.
 */
final class Generator {
    private final Model model;
    private final Tokenizer tokenizer;
    private final Speculation speculation;

    Generator(Model model, Tokenizer tokenizer, Speculation speculation) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.speculation = speculation;
    }

    /** Feeds {@code prompt} after what the session holds, then generates. {@code history} = all tokens so far (for penalties). */
    Generation generate(Session session, int[] prompt, int reused, int[] history, GenerationOptions opt, GenerationListener out) {
        return generate(session, prompt, reused, history, opt, out, speculation.drafter(model));
    }

    /** As above, drafts from {@code drafter} (null: none). */
    Generation generate(Session session, int[] prompt, int reused, int[] history, GenerationOptions opt,
                        GenerationListener out, Drafter drafter) {
        long t0 = System.nanoTime();
        if (drafter != null) {
            drafter.attach(session);
        }
        long t1;
        Decoding d;
        try {
            float[] logits = model.forward(session, prompt, false)[0];
            t1 = System.nanoTime();
            d = new Decoding(tokenizer, history, opt, out);
            if (d.step(logits, session.position() < session.contextLength())) {
                if (drafter == null) {
                    do {
                        logits = model.forward(session, new int[] {d.last()}, false)[0];
                    } while (d.step(logits, session.position() < session.contextLength()));
                } else {
                    speculate(session, d, drafter);
                }
            }
        } finally {
            if (drafter != null) {
                drafter.close();
            }
        }
        long t2 = System.nanoTime();
        return d.result(prompt.length, reused, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /**
     * Decoding with drafts: each pass feeds the last sampled token and the drafter's proposals after it, then samples
     * from each row of logits in turn while the samples equal the proposals ({@link Decoding#verify}); the proposals
     * after the first refused one are cut from the cache.
     */
    private void speculate(Session session, Decoding d, Drafter drafter) {
        int[] draft = new int[drafter.maxDraft()];
        do {
            int base = session.position();
            int n = d.propose(drafter, session.contextLength() - base - 1, draft);
            int[] feed = new int[n + 1];
            feed[0] = d.last();
            System.arraycopy(draft, 0, feed, 1, n);
            // Every row's logits, in the workspace's own rows (as the scheduler asks them): nothing vocabulary-sized
            // is allocated per pass.
            float[][] rows = n == 0 ? model.forward(session, feed, false)
                    : model.forward(new Batch.Builder().add(session, feed, feed.length).build(), false);
            Decoding.rewind(session, base + 1 + d.verify(rows, 0, draft, n, base, session.contextLength(), drafter));
        } while (!d.stopped());
    }

    /** Holds back answer text that might be the start of a stop string, and cuts the text at a stop string. */
    static final class StopFilter {
        private final java.util.List<String> stops;
        private final StringBuilder held = new StringBuilder();
        private boolean stopped;

        StopFilter(java.util.List<String> stops) {
            this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
        }

        /** Adds text; returns what can be shown now. */
        String push(String text) {
            held.append(text);
            int cut = -1;
            for (String s : stops) {
                int at = held.indexOf(s);
                if (at >= 0 && (cut < 0 || at < cut)) {
                    cut = at;
                }
            }
            if (cut >= 0) {
                stopped = true;
                String out = held.substring(0, cut);
                held.setLength(0);
                return out;
            }
            int keep = 0;
            for (String s : stops) {
                for (int k = Math.min(s.length() - 1, held.length()); k > keep; k--) {
                    if (held.substring(held.length() - k).equals(s.substring(0, k))) {
                        keep = k;
                        break;
                    }
                }
            }
            String out = held.substring(0, held.length() - keep);
            held.delete(0, held.length() - keep);
            return out;
        }

        boolean stopped() {
            return stopped;
        }

        /** The text still held at the end of generation (it was no stop string after all). */
        String finish() {
            String s = held.toString();
            held.setLength(0);
            return s;
        }
    }
}
