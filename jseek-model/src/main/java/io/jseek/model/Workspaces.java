package io.jseek.model;

import java.util.function.IntFunction;

/**
 * Where a forward pass gets its buffers, so that steady work allocates none: a session's own for its
 * single-token steps; one per thread for small batches (up to {@link #SMALL} rows: continuous-batching
 * steps, short prompts); a fresh one for anything larger (long prompts, where the work dwarfs it).
 *
 * <p>The per-thread ones are in a map of this model's, not a ThreadLocal: a ThreadLocal's value that reaches
 * back to its model (a workspace does) keeps the model alive in every thread that ever ran it, so opening and
 * closing models on one thread leaked each of them (found by GgufMutationTest: 1.2 MB a load).
 */
final class Workspaces {
    static final int SMALL = 16;

    private final IntFunction<Workspace> create;
    private final java.util.concurrent.ConcurrentHashMap<Thread, Workspace> small = new java.util.concurrent.ConcurrentHashMap<>();

    Workspaces(IntFunction<Workspace> create) {
        this.create = create;
    }

    private Workspace small() {
        Thread t = Thread.currentThread();
        Workspace w = small.get(t);
        if (w == null) {
            w = create.apply(SMALL);
            small.put(t, w);
            small.keySet().removeIf(x -> !x.isAlive());  // threads of closed worker pools
        }
        return w;
    }

    Workspace forBatch(Batch batch) {
        int t = batch.rows();
        if (batch.parts.length == 1 && t == 1) {
            return batch.parts[0].decodeWorkspace(create);
        }
        return t <= SMALL ? small() : create.apply(t);
    }
}
