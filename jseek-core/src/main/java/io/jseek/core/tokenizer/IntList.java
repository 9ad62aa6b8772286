package io.jseek.core.tokenizer;

import java.util.Arrays;

/** A growable list of ints, to keep the tokenizer's inner loops free of boxing. */
final class IntList {
    private int[] a;
    private int n;

    IntList(int capacity) {
        a = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (n == a.length) {
            a = Arrays.copyOf(a, n * 2);
        }
        a[n++] = v;
    }

    /** Adds {@code v} if it is positive (a piece of zero length is no piece). */
    void addLength(int v) {
        if (v > 0) {
            add(v);
        }
    }

    int get(int i) {
        return a[i];
    }

    int size() {
        return n;
    }

    void clear() {
        n = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(a, n);
    }
}
