package io.jseek.core.kernel;

/**
 * Partial selection of the k largest values with a bounded min-heap: O(n log k), no allocation, equal values
 * ranked by the lower index (so the choice is deterministic). The sampler's top-k and V3.2's indexer use it.
 */
public final class TopK {
    private TopK() {
    }

    /** The indices of the k largest of v[0, n) (k ≤ n) into heap[0, k), in heap order: the worst kept at 0. */
    public static void select(float[] v, int n, int k, int[] heap) {
        if (k == 0) {
            return;
        }
        for (int i = 0; i < k; i++) {
            heap[i] = i;
            siftUp(v, heap, i);
        }
        for (int i = k; i < n; i++) {
            if (better(v, i, heap[0])) {
                heap[0] = i;
                siftDown(v, heap, 0, k);
            }
        }
    }

    /** Reorders a heap from {@link #select} best first. */
    public static void bestFirst(float[] v, int[] heap, int k) {
        for (int end = k - 1; end > 0; end--) {
            int t = heap[0];
            heap[0] = heap[end];
            heap[end] = t;
            siftDown(v, heap, 0, end);
        }
    }

    /** True when index a ranks before index b. */
    private static boolean better(float[] v, int a, int b) {
        return v[a] > v[b] || v[a] == v[b] && a < b;
    }

    private static void siftUp(float[] v, int[] h, int i) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!better(v, h[parent], h[i])) {
                return;
            }
            int t = h[i];
            h[i] = h[parent];
            h[parent] = t;
            i = parent;
        }
    }

    private static void siftDown(float[] v, int[] h, int i, int size) {
        while (true) {
            int worst = i;
            int a = 2 * i + 1;
            int b = a + 1;
            if (a < size && better(v, h[worst], h[a])) {
                worst = a;
            }
            if (b < size && better(v, h[worst], h[b])) {
                worst = b;
            }
            if (worst == i) {
                return;
            }
            int t = h[i];
            h[i] = h[worst];
            h[worst] = t;
            i = worst;
        }
    }
}
