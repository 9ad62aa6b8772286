package io.jseek.cli;

import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import java.io.PrintWriter;

/**
 * Prints a streamed answer: reasoning dimmed on a terminal (between {@code <think>} and {@code </think>}
 * lines otherwise), then the answer.
 */
final class Display implements GenerationListener {
    private static final String DIM = "\u001b[2m";
    private static final String RESET = "\u001b[0m";

    private final PrintWriter out;
    private final boolean ansi;
    private boolean inReasoning;
    private boolean any;
    volatile boolean cancel;

    Display(PrintWriter out, boolean ansi) {
        this.out = out;
        this.ansi = ansi;
    }

    @Override
    public void onReasoning(String delta) {
        if (!inReasoning) {
            out.print(ansi ? DIM : "<think>\n");
            inReasoning = true;
        }
        out.print(delta);
        out.flush();
        any = true;
    }

    @Override
    public void onContent(String delta) {
        endReasoning();
        out.print(delta);
        out.flush();
        any = true;
    }

    @Override
    public boolean cancelled() {
        return cancel;
    }

    private void endReasoning() {
        if (inReasoning) {
            out.print(ansi ? RESET + "\n\n" : "\n</think>\n\n");
            inReasoning = false;
        }
    }

    /** Ends the answer's output. */
    void finish() {
        endReasoning();
        if (any) {
            out.println();
        }
        out.flush();
    }

    static String stats(Generation g) {
        return String.format("prompt: %d tokens%s, %.1f tok/s | generated: %d tokens, %.1f tok/s%s | stop: %s",
                g.promptTokens(), g.reusedTokens() > 0 ? " (+" + g.reusedTokens() + " cached)" : "",
                g.promptTokensPerSecond(), g.generatedTokens(), g.generationTokensPerSecond(),
                g.draftedTokens() > 0 ? String.format(" | drafts: %d of %d kept (%.0f %%)", g.acceptedTokens(),
                        g.draftedTokens(), 100 * g.acceptanceRate()) : "",
                g.stopReason().name().toLowerCase().replace('_', ' '));
    }
}
