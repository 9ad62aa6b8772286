package io.jseek.engine;

import io.jseek.core.tokenizer.TokenDecoder;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.engine.grammar.TokenMask;
import io.jseek.model.Session;
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
    /** Speculative decoding: tokens proposed, and how many of them were kept. */
    private int drafted;
    private int accepted;
    private int last = -1;
    private Generation.StopReason reason;
    /** The answer's grammar, if any: where the answer stands, and scratch for trying tokens. */
    private final OutputConstraint.Matcher matcher;
    private final OutputConstraint.Matcher trial;
    private float[] masked;
    private boolean[] allowed;
    private TokenMask mask;
    private TokenMask.Scratch maskScratch;

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
        this.matcher = opt.constraint() != null ? opt.constraint().start() : null;
        this.trial = matcher != null ? matcher.copy() : null;
    }

    /**
     * Samples and emits the next token. Returns true when the sequence goes on, the token from
     * {@link #last} to be fed next; false when it has stopped ({@link #stopReason}). {@code roomLeft} is
     * false when the context has no position for another token.
     */
    boolean step(float[] logits, boolean roomLeft) {
        int token = sampler.sample(logits, recent, recentCount);
        boolean constrained = matcher != null && !inReasoning;
        if (constrained && !allowed(token)) {
            // The sampled token breaks the grammar: sample again among the tokens that keep to it.
            if (masked == null) {
                masked = new float[logits.length];
                allowed = new boolean[tokenizer.pieces().length];
                mask = TokenMask.of(tokenizer);
                maskScratch = mask.scratch(matcher);
            }
            if (mask.allowed(matcher, maskScratch, allowed) == 0) {
                // Nothing can continue the answer (a grammar the vocabulary cannot spell): end it here.
                return stop(Generation.StopReason.END_OF_GENERATION);
            }
            for (int id = 0; id < logits.length; id++) {
                masked[id] = id < allowed.length && allowed[id] ? logits[id] : Float.NEGATIVE_INFINITY;
            }
            token = sampler.sample(masked, recent, recentCount);
        }
        if (opt.topLogprobs() >= 0 && !inReasoning && token != think && token != endThink
                && !tokenizer.isEndOfGeneration(token)) {
            out.onToken(logprob(logits, token));
        }
        if (constrained && !tokenizer.isEndOfGeneration(token)) {
            matcher.feed(tokenizer.pieces()[token]);
        }
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
        if (constrained && matcher.ended()) {
            return stop(Generation.StopReason.END_OF_GENERATION);
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

    /** True when {@code token} keeps the answer within its grammar. */
    private boolean allowed(int token) {
        if (tokenizer.isEndOfGeneration(token)) {
            return matcher.complete();
        }
        byte[] bytes = tokenizer.pieces()[token];
        if (token == think || token == endThink || bytes.length == 0) {
            return false;
        }
        trial.copyFrom(matcher);
        return trial.feed(bytes);
    }

    /** The token's log-probability under the model's own distribution, and the best alternatives. */
    private TokenLogprob logprob(float[] logits, int token) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        float norm = (float) (max + Math.log(sum));
        int[] top = Sampler.top(logits, opt.topLogprobs());
        byte[][] topBytes = new byte[top.length][];
        float[] topLp = new float[top.length];
        for (int i = 0; i < top.length; i++) {
            topBytes[i] = tokenizer.pieces()[top[i]];
            topLp[i] = logits[top[i]] - norm;
        }
        return new TokenLogprob(token, tokenizer.pieces()[token], logits[token] - norm, top, topBytes, topLp);
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

    /** How many more tokens the limit allows. */
    private int tokensLeft() {
        return opt.maxTokens() - generated;
    }

    /**
     * Proposes this sequence's drafts for its next verify pass into {@code draft}: at most {@code room} (what the
     * context and the token limit leave after the last sampled token). Returns how many.
     */
    int propose(Drafter drafter, int room, int[] draft) {
        int max = Math.min(room, tokensLeft() - 1);
        return max > 0 ? drafter.propose(recent, recentCount, max, draft) : 0;
    }

    /**
     * Cuts the rejected drafts from the cache: keeps its first {@code n} positions. Drafts are at most 64 tokens, which
     * every cache can take back ({@link Session#REWIND_MARGIN}); a cache that could not would lose the sequence.
     */
    static void rewind(Session session, int n) {
        if (session.truncate(n) != n) {
            throw new IllegalStateException("the cache could not take back the drafts after position " + n);
        }
    }

    /**
     * Samples from a verify pass's rows — {@code rows[from + j]} the logits after the last sampled token (j = 0)
     * and after draft j − 1 — while the samples equal the drafts; {@code base} is the cache position of the fed last
     * token, for the room check. Returns how many drafts were kept (those fed tokens stay in the cache; the caller
     * cuts the rest); {@link #stopped} tells whether the sequence ended. The cache then holds what one-token decoding
     * would have fed.
     */
    int verify(float[][] rows, int from, int[] draft, int n, int base, int contextLength, Drafter drafter) {
        int j = 0;
        while (step(rows[from + j], base + 1 + j < contextLength) && j < n && last == draft[j]) {
            j++;
        }
        if (n > 0) {
            drafted += n;
            accepted += j;
            drafter.accepted(n, j);
        }
        return j;
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
                reasoningTokens, drafted, accepted);
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
