package io.jseek.core.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads, created once, that ops split their rows across: "for each row, in
 * parallel" without thread plumbing at the call site. A dispatch allocates nothing: the body is published
 * in fields, the workers are unparked, the caller runs the first chunk and parks until the rest are done.
 * One dispatch at a time (callers on several threads are serialized); a body must not dispatch again.
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
            int chunk = w + 1;
            workers[w] = new Thread(() -> work(chunk), "jseek-worker-" + chunk);
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

    private void work(int chunk) {
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
            int n = size;
            try {
                int from = from(n, chunk, threads);
                int to = from(n, chunk + 1, threads);
                if (from < to) {
                    body.run(from, to);
                }
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }
    }

    /** Runs {@code body} on contiguous chunks covering [0, n), one chunk per worker, and waits for all. */
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
        this.caller = Thread.currentThread();
        this.failure = null;
        pending.set(workers.length);
        generation++;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        Throwable mine = null;
        try {
            body.run(0, from(n, 1, threads));
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
