package io.jseek.model;

/**
 * Activation buffers for a batch of up to {@code capacity} tokens, reused by every forward call that fits
 * ({@link Workspaces} decides which buffers a call gets). Fields an architecture does not use stay empty.
 * Only {@code tokens} rows are valid in a given call. Small workspaces hold a logits row per token, so a
 * batch of several sequences gets its logits without allocating; larger ones hold one.
 */
final class Workspace {
    final int capacity;
    int tokens;
    final float[][] x;
    final float[][] hn;
    final float[][] normed;
    final float[][] attnOut;
    final float[][] ffnOut;
    final float[][] logits;
    /** Architecture-specific buffers. */
    final Object extra;
    /** firstRows[n]: the first n rows of logits, made on first use. */
    private final float[][][] firstRows;

    Workspace(int capacity, int embd, int vocab, Object extra) {
        this.capacity = capacity;
        this.x = new float[capacity][embd];
        this.hn = new float[capacity][embd];
        this.normed = new float[capacity][embd];
        this.attnOut = new float[capacity][embd];
        this.ffnOut = new float[capacity][embd];
        this.logits = new float[capacity <= Workspaces.SMALL ? capacity : 1][vocab];
        this.firstRows = new float[logits.length + 1][][];
        this.extra = extra;
    }

    /** The first {@code n} logits rows (n ≤ logits.length), as an array of exactly n rows. */
    float[][] logits(int n) {
        if (firstRows[n] == null) {
            firstRows[n] = java.util.Arrays.copyOf(logits, n);
        }
        return firstRows[n];
    }
}
