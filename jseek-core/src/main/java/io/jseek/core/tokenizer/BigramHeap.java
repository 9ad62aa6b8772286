package io.jseek.core.tokenizer;

import java.util.Arrays;

/**
 * A binary min-heap of candidate merges ordered by (rank, left position): BPE always applies the
 * lowest-ranked merge, and the leftmost one among equals.
 */
final class BigramHeap {
    private long[] order;   // rank << 32 | left
    private long[] payload; // right << 32 | size
    private int n;

    BigramHeap(int capacity) {
        order = new long[Math.max(4, capacity)];
        payload = new long[order.length];
    }

    boolean isEmpty() {
        return n == 0;
    }

    void push(int rank, int left, int right, int size) {
        if (n == order.length) {
            order = Arrays.copyOf(order, n * 2);
            payload = Arrays.copyOf(payload, n * 2);
        }
        long o = ((long) rank << 32) | left;
        long p = ((long) right << 32) | size;
        int i = n++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (order[parent] <= o) {
                break;
            }
            order[i] = order[parent];
            payload[i] = payload[parent];
            i = parent;
        }
        order[i] = o;
        payload[i] = p;
    }

    int left() {
        return (int) order[0];
    }

    int right() {
        return (int) (payload[0] >>> 32);
    }

    int size() {
        return (int) payload[0];
    }

    void pop() {
        long o = order[--n];
        long p = payload[n];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) {
                break;
            }
            if (c + 1 < n && order[c + 1] < order[c]) {
                c++;
            }
            if (o <= order[c]) {
                break;
            }
            order[i] = order[c];
            payload[i] = payload[c];
            i = c;
        }
        order[i] = o;
        payload[i] = p;
    }
}
