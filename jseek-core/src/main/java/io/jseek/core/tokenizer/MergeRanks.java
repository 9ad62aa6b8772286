package io.jseek.core.tokenizer;

import java.util.Arrays;

/** Open-addressing map from a pair of token ids to the rank of their merge; the BPE inner loop's lookup. */
final class MergeRanks {
    private final long[] keys;
    private final int[] ranks;
    private final int mask;

    MergeRanks(int capacity) {
        int size = Integer.highestOneBit(Math.max(16, capacity * 2 - 1)) << 1;
        keys = new long[size];
        ranks = new int[size];
        Arrays.fill(keys, -1L);
        mask = size - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** Records a merge; the first (lowest) rank of a pair wins. */
    void put(int left, int right, int rank) {
        long k = key(left, right);
        int i = slot(k);
        while (keys[i] != -1L) {
            if (keys[i] == k) {
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = k;
        ranks[i] = rank;
    }

    /** The rank of merging {@code left right}, or -1 if there is no such merge. */
    int get(int left, int right) {
        long k = key(left, right);
        int i = slot(k);
        while (keys[i] != -1L) {
            if (keys[i] == k) {
                return ranks[i];
            }
            i = (i + 1) & mask;
        }
        return -1;
    }
}
