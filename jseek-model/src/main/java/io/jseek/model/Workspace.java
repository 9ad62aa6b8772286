package io.jseek.model;

/**
 * Activation buffers for a batch of up to {@code capacity} tokens, allocated once and reused by every
 * forward call that fits (a session keeps one for single-token decoding). Fields an architecture does not
 * use stay empty. Only {@code tokens} rows are valid in a given call.
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

    Workspace(int capacity, int embd, int vocab, Object extra) {
        this.capacity = capacity;
        this.x = new float[capacity][embd];
        this.hn = new float[capacity][embd];
        this.normed = new float[capacity][embd];
        this.attnOut = new float[capacity][embd];
        this.ffnOut = new float[capacity][embd];
        this.logits = new float[1][vocab];
        this.extra = extra;
    }
}
