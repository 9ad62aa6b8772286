package io.jseek.engine;

import io.jseek.core.tokenizer.TokenDecoder;
import io.jseek.core.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * One sequence's generation state after its prompt: samples each next token from the logits, turns it
 * into text (whole UTF-8 characters), routes the text to reasoning or answer ({@code <think>} /
 * {@code </think>} switch and are not shown), holds back possible stop strings, and decides when to
 * stop. The same state drives the one-sequence loop ({@link Generator}) and the continuous-batching
 * {@link Scheduler}.
 */
final class Decoding {
    private final Tokenizer tokenizer;
    private final int think;
    private final int endThink;
    private final GenerationOptions opt;
    private final GenerationListener out;
    private final Sampler sampler;
    private final TokenDecoder decoder;
    private final int[] recent;
    private final int historyLength;
    private int recentCount;
    private final StringBuilder reasoning = new StringBuilder();
    private final StringBuilder content = new StringBuilder();
    private final Generator.StopFilter stops;
    private boolean inReasoning;
    private int generated;
    private int reasoningTokens;
    private int last = -1;
    private Generation.StopReason reason;

    /** {@code history}: every token the sequence holds so far (the prompt), for the penalties. */
    Decoding(Tokenizer tokenizer, int[] history, GenerationOptions opt, GenerationListener out) {
        this.tokenizer = tokenizer;
        this.think = tokenizer.id("<think>");
        this.endThink = tokenizer.id("</think>");
        this.opt = opt;
        this.out = out;
        this.sampler = new Sampler(opt.sampler());
        this.decoder = tokenizer.streamingDecoder(false);
        this.recent = Arrays.copyOf(history, history.length + opt.maxTokens());
        this.historyLength = history.length;
        this.recentCount = history.length;
        this.stops = new Generator.StopFilter(opt.stop());
        this.inReasoning = opt.startsReasoning();
    }

    /**
     * Samples and emits the next token. Returns true when the sequence goes on, the token from
     * {@link #last} to be fed next; false when it has stopped ({@link #stopReason}). {@code roomLeft} is
     * false when the context has no position for another token.
     */
    boolean step(float[] logits, boolean roomLeft) {
        int token = sampler.sample(logits, recent, recentCount);
        recent[recentCount++] = token;
        generated++;
        last = token;
        if (inReasoning) {
            reasoningTokens++;
        }
        if (tokenizer.isEndOfGeneration(token)) {
            return stop(Generation.StopReason.END_OF_GENERATION);
        }
        if (token == think || token == endThink) {
            route(decoder.flush());
            inReasoning = token == think;
        } else if (route(decoder.push(token))) {
            return stop(Generation.StopReason.STOP_STRING);
        }
        if (out.cancelled()) {
            return stop(Generation.StopReason.CANCELLED);
        }
        if (generated >= opt.maxTokens()) {
            return stop(Generation.StopReason.MAX_TOKENS);
        }
        if (!roomLeft) {
            return stop(Generation.StopReason.CONTEXT_FULL);
        }
        return true;
    }

    /** Ends the sequence from outside (cancelled, or no memory left), flushing held text. */
    void abort(Generation.StopReason why) {
        if (reason == null) {
            stop(why);
        }
    }

    /** The last sampled token. */
    int last() {
        return last;
    }

    boolean stopped() {
        return reason != null;
    }

    Generation.StopReason stopReason() {
        return reason;
    }

    /** Tokens generated so far inside the reasoning. */
    int reasoningTokens() {
        return reasoningTokens;
    }

    /** True while the output is inside {@code <think>}. */
    boolean inReasoning() {
        return inReasoning;
    }

    /** The result, once stopped. */
    Generation result(int promptTokens, int reusedTokens, double promptSeconds, double generationSeconds) {
        return new Generation(reasoning.toString(), content.toString(), reason, promptTokens, reusedTokens,
                Arrays.copyOfRange(recent, historyLength, recentCount), promptSeconds, generationSeconds,
                reasoningTokens);
    }

    private boolean stop(Generation.StopReason why) {
        reason = why;
        if (why != Generation.StopReason.STOP_STRING) {
            route(decoder.flush());
            String rest = stops.finish();
            content.append(rest);
            if (!rest.isEmpty()) {
                out.onContent(rest);
            }
        }
        return false;
    }

    /** Routes text to reasoning or answer; returns true when the answer hit a stop string. */
    private boolean route(String text) {
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
}
