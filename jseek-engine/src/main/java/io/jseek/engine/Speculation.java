package io.jseek.engine;

import java.util.Locale;

/**
 * How decoding guesses ahead: a drafter proposes the next few tokens, one forward pass over them checks them all
 * (each weight block is decoded once for several rows, so a checked token costs less than a decoded one: measured in
 * docs/benchmarks.md, "Speculative decoding"), and
 * every proposed token the model would itself have produced is kept. Lossless: each token is still sampled from the
 * model's own logits after the tokens before it (a proposal is kept only when the sample equals it), so greedy output
 * is the model's greedy output and sampled output follows the model's distribution exactly — with a deterministic
 * proposal this is the standard speculative-sampling rule (accept with probability p(draft), else sample from p
 * without it).
 *
 * @param kind     where proposals come from
 * @param maxDraft the most tokens proposed per step (the drafter adapts below it to what gets accepted)
 * @param draft    the draft model ({@link Kind#DRAFT}), else null
 */
public record Speculation(Kind kind, int maxDraft, LoadedModel draft) {
    /** No speculation: one token per forward pass. */
    public static final Speculation NONE = new Speculation(Kind.NONE, 0, null);
    public static final int DEFAULT_DRAFT = 7;

    public enum Kind {
        NONE,
        /** Prompt lookup: the tokens that followed the latest earlier occurrence of the last few tokens. */
        NGRAM,
        /** A smaller model of the same vocabulary proposes its greedy continuation. */
        DRAFT,
        /** The model's own multi-token-prediction head (DeepSeek-V3's MTP block) proposes the token after the next. */
        MTP
    }

    public Speculation {
        if (kind == Kind.NONE ? maxDraft != 0 : maxDraft < 1 || maxDraft > 64) {
            throw new IllegalArgumentException("the draft length must be from 1 to 64, got " + maxDraft);
        }
        if ((kind == Kind.DRAFT) != (draft != null)) {
            throw new IllegalArgumentException("a draft model goes with speculation kind DRAFT only");
        }
    }

    /** The most tokens an MTP proposal holds by default: the head was trained for one (its chained guesses are weaker). */
    public static final int DEFAULT_MTP_DRAFT = 1;

    /**
     * Self-speculation with the model's multi-token-prediction head, up to {@code maxDraft} tokens a step (beyond the
     * first, the head runs on its own output); the model must have one ({@link LoadedModel#useSpeculation} checks).
     */
    public static Speculation mtp(int maxDraft) {
        return new Speculation(Kind.MTP, maxDraft, null);
    }

    /** Prompt lookup proposing up to {@code maxDraft} tokens a step. */
    public static Speculation ngram(int maxDraft) {
        return new Speculation(Kind.NGRAM, maxDraft, null);
    }

    /**
     * Drafts from {@code draft} (the same vocabulary as the model it is used with; checked by
     * {@link LoadedModel#useSpeculation}), up to {@code maxDraft} tokens a step.
     */
    public static Speculation draft(LoadedModel draft, int maxDraft) {
        return new Speculation(Kind.DRAFT, maxDraft, java.util.Objects.requireNonNull(draft));
    }

    /**
     * {@code none}, {@code ngram} or {@code ngram:N} (N: the most tokens a step; default {@value #DEFAULT_DRAFT}, so
     * that a verify pass of the last token and its drafts stays within the small-batch kernels' eight rows),
     * {@code mtp} or {@code mtp:N} (default {@value #DEFAULT_MTP_DRAFT}).
     */
    public static Speculation parse(String text) {
        return parse(text, null);
    }

    /** As {@link #parse(String)}, and {@code draft:MODEL.gguf[:N]}, the draft model opened by {@code open}. */
    public static Speculation parse(String text, java.util.function.Function<java.nio.file.Path, LoadedModel> open) {
        String s = text.strip();
        if (open != null && s.startsWith("draft:")) {
            String file = s.substring("draft:".length());
            int n = DEFAULT_DRAFT;
            int colon = file.lastIndexOf(':');
            if (colon > 0 && file.substring(colon + 1).matches("[0-9]+")) {
                n = draftLength(file.substring(colon + 1));
                file = file.substring(0, colon);
            }
            return draft(open.apply(java.nio.file.Path.of(file)), n);
        }
        String[] parts = s.toLowerCase(Locale.ROOT).split(":", 2);
        return switch (parts[0]) {
            case "none", "off" -> {
                if (parts.length > 1) {
                    throw new IllegalArgumentException("speculation none takes no draft length");
                }
                yield NONE;
            }
            case "ngram" -> ngram(parts.length > 1 ? draftLength(parts[1]) : DEFAULT_DRAFT);
            case "mtp" -> mtp(parts.length > 1 ? draftLength(parts[1]) : DEFAULT_MTP_DRAFT);
            default -> throw new IllegalArgumentException("unknown speculation \"" + text + "\"; expected none, ngram, "
                    + "ngram:N, mtp, mtp:N" + (open != null ? ", draft:MODEL.gguf or draft:MODEL.gguf:N" : ""));
        };
    }

    private static int draftLength(String n) {
        try {
            return Integer.parseInt(n);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the draft length must be a number, got \"" + n + "\"");
        }
    }

    /** A new drafter for one sequence of {@code model} (drafters keep per-sequence state), or null for none. */
    Drafter drafter(io.jseek.model.Model model) {
        return switch (kind) {
            case NONE -> null;
            case NGRAM -> new PromptLookup(maxDraft);
            case DRAFT -> new DraftModel(draft, maxDraft);
            case MTP -> new MtpDrafter(model, maxDraft);
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case NGRAM -> "ngram:" + maxDraft;
            case DRAFT -> "draft:" + draft.path() + ":" + maxDraft;
            case MTP -> "mtp:" + maxDraft;
        };
    }
}
