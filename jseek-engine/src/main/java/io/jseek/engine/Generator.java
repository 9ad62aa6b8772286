package io.jseek.engine;

import io.jseek.core.tokenizer.TokenDecoder;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.model.Model;
import io.jseek.model.Session;
import java.util.Arrays;

/**
 * The generation loop: feed the prompt as one batch, then sample, stream and feed one token at a time
 * until an end-of-generation token, a stop string, the token limit or the end of the context.
 * {@code <think>} / {@code </think>} tokens switch between reasoning and answer and are not shown.
 */
final class Generator {
    private final Model model;
    private final Tokenizer tokenizer;
    private final int think;
    private final int endThink;

    Generator(Model model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.think = tokenizer.id("<think>");
        this.endThink = tokenizer.id("</think>");
    }

    /** Feeds {@code prompt} after what the session holds, then generates. {@code history} = all tokens so far (for penalties). */
    Generation generate(Session session, int[] prompt, int reused, int[] history, GenerationOptions opt, GenerationListener out) {
        long t0 = System.nanoTime();
        float[] logits = model.forward(session, prompt, false)[0];
        long t1 = System.nanoTime();
        Sampler sampler = new Sampler(opt.sampler());
        TokenDecoder decoder = tokenizer.streamingDecoder(false);
        int[] recent = Arrays.copyOf(history, history.length + opt.maxTokens());
        int recentCount = history.length;
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        StopFilter stops = new StopFilter(opt.stop());
        boolean inReasoning = opt.startsReasoning();
        Generation.StopReason reason = Generation.StopReason.MAX_TOKENS;
        int generated = 0;
        while (generated < opt.maxTokens()) {
            int token = sampler.sample(logits, recent, recentCount);
            recent[recentCount++] = token;
            generated++;
            if (tokenizer.isEndOfGeneration(token)) {
                reason = Generation.StopReason.END_OF_GENERATION;
                break;
            }
            if (token == think || token == endThink) {
                flushText(decoder.flush(), inReasoning, reasoning, stops, content, out);
                inReasoning = token == think;
            } else {
                String text = decoder.push(token);
                if (flushText(text, inReasoning, reasoning, stops, content, out)) {
                    reason = Generation.StopReason.STOP_STRING;
                    break;
                }
            }
            if (out.cancelled()) {
                reason = Generation.StopReason.CANCELLED;
                break;
            }
            if (session.position() >= session.contextLength()) {
                reason = Generation.StopReason.CONTEXT_FULL;
                break;
            }
            logits = model.forward(session, new int[] {token}, false)[0];
        }
        if (reason != Generation.StopReason.STOP_STRING) {
            flushText(decoder.flush(), inReasoning, reasoning, stops, content, out);
            String rest = stops.finish();
            content.append(rest);
            if (!rest.isEmpty()) {
                out.onContent(rest);
            }
        }
        long t2 = System.nanoTime();
        return new Generation(reasoning.toString(), content.toString(), reason, prompt.length, reused,
                Arrays.copyOfRange(recent, history.length, recentCount), (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /** Routes text to reasoning or answer; returns true when the answer hit a stop string. */
    private static boolean flushText(String text, boolean inReasoning, StringBuilder reasoning, StopFilter stops,
                                     StringBuilder content, GenerationListener out) {
        if (text.isEmpty()) {
            return false;
        }
        if (inReasoning) {
            reasoning.append(text);
            out.onReasoning(text);
            return false;
        }
        String ready = stops.push(text);
        content.append(ready);
        if (!ready.isEmpty()) {
            out.onContent(ready);
        }
        return stops.stopped();
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
