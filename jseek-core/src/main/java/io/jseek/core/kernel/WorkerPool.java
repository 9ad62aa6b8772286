package io.jseek.core.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads, created once, that ops split their rows across: "for each row, in
 * parallel" without thread plumbing at the call site. A dispatch allocates nothing: the body is published
 * in fields, the workers are unparked, and every thread, the caller included, takes chunks of the range
 * until none is left; the caller then waits for the rest. One dispatch at a time (callers on several
 * threads are serialized); a body must not dispatch again.
 *
 * <p>Chunks rather than one fixed share per thread: on a shared virtual machine one thread of two was
 * often slower (measured on a Q4_K_M decode step: the caller waited 1–8 ms of 40 for its worker), and with
 * {@value #CHUNKS_PER_THREAD} chunks per thread whoever is ahead takes more.
 */
public final class WorkerPool implements AutoCloseable {
    /** A body that handles the indexes [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    /** The next chunk to take, and how many there are, for the dispatch under way. */
    private final AtomicInteger next = new AtomicInteger();
    private volatile int chunks;
    /** Chunks per thread of a dispatch (fewer when the range is shorter). */
    static final int CHUNKS_PER_THREAD = 8;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Thread caller;
    private volatile RangeBody body;
    private volatile int size;
    private volatile Throwable failure;

    public WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            int id = w + 1;
            workers[w] = new Thread(this::work, "jseek-worker-" + id);
            workers[w].setDaemon(true);
            workers[w].start();
        }
    }

    /** A pool with one thread per available processor. */
    public static WorkerPool ofAvailableProcessors() {
        return new WorkerPool(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return threads;
    }

    private static int from(int n, int chunk, int chunks) {
        return (int) ((long) n * chunk / chunks);
    }

    /** Spins before parking: dispatches come in quick succession during a forward pass. */
    private static final int SPINS = 20_000;

    private void work() {
        int seen = 0;
        while (true) {
            for (int spin = 0; spin < SPINS && generation == seen && !closed; spin++) {
                Thread.onSpinWait();
            }
            while (generation == seen && !closed) {
                LockSupport.park(this);
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                runChunks(body, size, chunks);
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    /** Takes chunks of [0, n) (cut into {@code count}) until none is left. */
    private void runChunks(RangeBody body, int n, int count) {
        for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
            body.run(from(n, i, count), from(n, i + 1, count));
        }
    }

    /** Runs {@code body} on contiguous chunks covering [0, n), shared out among the threads, and waits for all. */
    public synchronized void forRange(int n, RangeBody body) {
        if (closed) {
            throw new IllegalStateException("the worker pool is closed");
        }
        if (threads == 1 || n <= 1) {
            if (n > 0) {
                body.run(0, n);
            }
            return;
        }
        this.body = body;
        this.size = n;
        this.chunks = Math.min(n, threads * CHUNKS_PER_THREAD);
        next.set(0);
        this.caller = Thread.currentThread();
        this.failure = null;
        pending.set(workers.length);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        Throwable mine = null;
        try {
            runChunks(body, n, chunks);
        } catch (Throwable t) {
            mine = t;
        }
        for (int spin = 0; spin < SPINS && pending.get() != 0; spin++) {
            Thread.onSpinWait();
        }
        while (pending.get() != 0) {
            LockSupport.park(this);
        }
        this.body = null;
        Throwable t = mine != null ? mine : failure;
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
