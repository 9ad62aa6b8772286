package io.jseek.model;

import java.util.Arrays;

/**
 * A session's final hidden states — after the output norm, what the output head reads — captured for the
 * positions fed since the reader last {@link #clear cleared} them ({@link Session#captureHidden}). A multi-token
 * prediction head drafts from them (docs/deepseek.md §5.4). Rows are for consecutive positions from {@link #first}.
 */
public final class HiddenStates {
    private final int width;
    private float[][] rows = new float[0][];
    private int first;
    private int count;

    HiddenStates(int width) {
        this.width = width;
    }

    /** The position of row 0. */
    public int first() {
        return first;
    }

    /** How many positions are held. */
    public int count() {
        return count;
    }

    /** The hidden state at position {@code first() + i}. */
    public float[] row(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i + " of " + count + " hidden states");
        }
        return rows[i];
    }

    /** Forgets every row; the next one starts a new run. */
    public void clear() {
        count = 0;
    }

    /** Where the row of position {@code pos} goes (positions arrive in order; a gap starts a new run). */
    float[] slot(int pos) {
        if (count > 0 && pos != first + count) {
            count = 0;
        }
        if (count == 0) {
            first = pos;
        }
        if (count == rows.length) {
            rows = Arrays.copyOf(rows, Math.max(4, 2 * count));
        }
        if (rows[count] == null) {
            rows[count] = new float[width];
        }
        return rows[count++];
    }

    /** Drops the rows of positions ≥ n (the session was cut back). */
    void truncate(int n) {
        count = Math.max(0, Math.min(count, n - first));
    }
}
