package io.jseek.model;

import java.util.function.IntFunction;

/**
 * Where a forward pass gets its buffers, so that steady work allocates none: a session's own for its
 * single-token steps; one per thread for small batches (up to {@link #SMALL} rows: continuous-batching
 * steps, short prompts); a fresh one for anything larger (long prompts, where the work dwarfs it).
 */
final class Workspaces {
    static final int SMALL = 16;

    private final IntFunction<Workspace> create;
    private final ThreadLocal<Workspace> small;

    Workspaces(IntFunction<Workspace> create) {
        this.create = create;
        this.small = ThreadLocal.withInitial(() -> create.apply(SMALL));
    }

    Workspace forBatch(Batch batch) {
        int t = batch.rows();
        if (batch.parts.length == 1 && t == 1) {
            return batch.parts[0].decodeWorkspace(create);
        }
        return t <= SMALL ? small.get() : create.apply(t);
    }
}
