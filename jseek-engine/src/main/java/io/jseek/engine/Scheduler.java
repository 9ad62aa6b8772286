package io.jseek.engine;

import io.jseek.core.JseekException;
import io.jseek.model.Batch;
import io.jseek.model.CacheType;
import io.jseek.model.KvBlock;
import io.jseek.model.KvPool;
import io.jseek.model.Model;
import io.jseek.model.Session;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous batching: every running sequence advances in one forward pass per step — one token each for
 * those generating, a chunk of the prompt for those starting (so a long prompt does not stall running
 * streams) — and new requests join between steps. KV memory is one {@link KvPool} shared by all
 * sequences; finished sequences leave their blocks in a {@link PrefixCache} for later prompts with the
 * same start. Listeners are called on the scheduler's thread and must not block.
 *
 * <p>By default outputs are not batch-invariant: a sequence's logits differ in the last bits depending on what
 * else is in its batch (different matrix kernels for one and for several rows), so a seeded request can, rarely,
 * take another token when run alongside others. {@link Config#batchInvariant} makes them so, at a cost.
 */
public final class Scheduler implements AutoCloseable {
    /**
     * @param parallel      sequences running at once
     * @param contextLength most positions one sequence may use (prompt + generated)
     * @param kvTokens      positions of KV cache shared by all sequences (at least contextLength)
     * @param prefillChunk  prompt tokens fed per step, over all starting sequences
     * @param maxQueue      requests waiting beyond the running ones before new ones are refused
     * @param batchInvariant each sequence computes the same bits as it would alone: every product token by token
     *                      ({@link io.jseek.core.kernel.MatMul#batchInvariant}), each prompt fed in chunks of
     *                      {@code prefillChunk} whatever else starts, no prefix cache (a cached prefix was computed
     *                      in other chunks). Seeded samples then do not depend on what runs alongside; slower.
     */
    public record Config(int parallel, int contextLength, int kvTokens, CacheType cacheType, int prefillChunk,
                         int maxQueue, boolean batchInvariant) {
        public Config {
            if (parallel < 1 || contextLength < 2 || prefillChunk < 1 || maxQueue < 0) {
                throw new JseekException("bad scheduler settings: parallel " + parallel + ", context " + contextLength
                        + ", prefill chunk " + prefillChunk + ", queue " + maxQueue);
            }
            kvTokens = Math.max(kvTokens, contextLength);
        }

        public Config(int parallel, int contextLength, int kvTokens, CacheType cacheType, int prefillChunk, int maxQueue) {
            this(parallel, contextLength, kvTokens, cacheType, prefillChunk, maxQueue, false);
        }
    }

    /** A submitted request. */
    public interface Handle {
        /** Stops the request (queued or running) at the next step; its result completes as CANCELLED. */
        void cancel();

        /** Completes when the request ends, with what it generated, or exceptionally on an engine error. */
        CompletableFuture<Generation> result();

        /** Prompt tokens found in the prefix cache (known once the request has started; 0 before). */
        int cachedTokens();
    }

    /** The queue is full; try again later. */
    public static final class QueueFullException extends JseekException {
        QueueFullException(String message) {
            super(message);
        }
    }

    /** Thrown by {@link #submit} once the scheduler has stopped: closed, or failed ({@link #fault}). */
    public static final class StoppedException extends JseekException {
        StoppedException(String message) {
            super(message);
        }
    }

    /** What stopped the scheduler's loop, or null while it runs (or after a clean {@link #close}). */
    private volatile Throwable fault;

    /**
     * The fault that stopped the loop (an {@code Error} — e.g. a mapped weight file truncated under the server — or a
     * failure outside any one sequence), or null while healthy. A server reports itself unhealthy with it.
     */
    public Throwable fault() {
        return fault;
    }

    /** A point-in-time view for health checks and metrics. */
    public record Stats(int running, int waiting, int kvBlocksUsed, int kvBlocksTotal, int prefixCacheBlocks,
                        long prefixQueryTokens, long prefixHitTokens, long promptTokens, long generatedTokens,
                        long steps, long cancelled, long draftedTokens, long acceptedTokens) {
    }

    private final class Sequence implements Handle {
        final int[] prompt;
        final GenerationOptions options;
        final GenerationListener listener;
        final CompletableFuture<Generation> result = new CompletableFuture<>();
        volatile boolean cancel;
        volatile int cached;
        Session session;
        int fed;
        Decoding decoding;
        /** Speculative decoding ({@link LoadedModel#speculation}): the drafter, its proposals this step; null without. */
        Drafter drafter;
        int[] draft;
        int drafts;
        long started;
        long promptDone;

        Sequence(int[] prompt, GenerationOptions options, GenerationListener listener) {
            this.prompt = prompt;
            this.options = options;
            this.listener = listener;
        }

        @Override
        public void cancel() {
            cancel = true;
            wake();
        }

        @Override
        public CompletableFuture<Generation> result() {
            return result;
        }

        @Override
        public int cachedTokens() {
            return cached;
        }
    }

    private final LoadedModel model;
    private final Model net;
    private final Config config;
    private final KvPool pool;
    private final PrefixCache cache;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> active = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile int runningCount;
    private volatile int cacheSize;
    private final AtomicLong prefixQueries = new AtomicLong();
    private final AtomicLong prefixHits = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong draftedTokens = new AtomicLong();
    private final AtomicLong acceptedTokens = new AtomicLong();

    public Scheduler(LoadedModel model, Config config) {
        this.model = model;
        this.net = model.network();
        this.config = config;
        this.pool = new KvPool(net, config.cacheType(), KvPool.blocksFor(config.kvTokens()));
        this.cache = new PrefixCache(pool);
        this.thread = Thread.ofPlatform().name("jseek-scheduler").daemon().start(this::run);
    }

    public Config config() {
        return config;
    }

    /**
     * Queues a request: {@code prompt} (token ids, BOS included as the model wants) then up to
     * {@code options.maxTokens()} generated tokens, which together must fit the context.
     */
    public Handle submit(int[] prompt, GenerationOptions options, GenerationListener listener) {
        if (prompt.length == 0) {
            throw new JseekException("the prompt is empty");
        }
        Model.checkTokens(prompt, model.tokenizer().vocabSize());
        if ((long) prompt.length + options.maxTokens() > config.contextLength()) {
            throw new JseekException("the prompt has " + prompt.length + " tokens and up to " + options.maxTokens()
                    + " more are asked for, but the context holds " + config.contextLength());
        }
        Sequence s = new Sequence(prompt, options, listener);
        synchronized (this) {
            if (closed) {
                Throwable f = fault;
                throw new StoppedException(f == null ? "the scheduler is shut down"
                        : "the engine failed and stopped: " + f);
            }
            if (waiting.size() >= config.maxQueue() + Math.max(0, config.parallel() - runningCount)) {
                throw new QueueFullException("the server is busy: " + runningCount + " running, " + waiting.size()
                        + " waiting");
            }
            waiting.add(s);
            notifyAll();
        }
        return s;
    }

    public Stats stats() {
        int queued;
        synchronized (this) {
            queued = waiting.size();
        }
        return new Stats(runningCount, queued, pool.used(), pool.capacity(), cacheSize, prefixQueries.get(),
                prefixHits.get(), promptTokens.get(), generatedTokens.get(), steps.get(), cancelled.get(),
                draftedTokens.get(), acceptedTokens.get());
    }

    /** Cancels everything, waits for the scheduler's thread and frees the cache. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void wake() {
        notifyAll();
    }

    private void run() {
        io.jseek.core.kernel.MatMul.batchInvariant(config.batchInvariant());
        try {
            while (true) {
                synchronized (this) {
                    while (!closed && waiting.isEmpty() && active.isEmpty()) {
                        wait();
                    }
                    if (closed) {
                        break;
                    }
                }
                admit();
                dropCancelled();
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            fault = t;
            System.getLogger("jseek.engine").log(System.Logger.Level.ERROR,
                    "the scheduler stopped: every request fails until the model is reopened", t);
            failAll(t);
            return;
        }
        List<Sequence> rest = new ArrayList<>(active);
        synchronized (this) {
            rest.addAll(waiting);
            waiting.clear();
        }
        for (Sequence s : rest) {
            s.cancel = true;
        }
        dropCancelled();
        for (Sequence s : rest) {
            if (!s.result.isDone()) {
                s.result.completeExceptionally(new JseekException("the server is shutting down"));
            }
        }
        cache.clear();
    }

    /** Moves waiting requests in while there are free slots and KV blocks for their prompts. */
    private void admit() {
        while (active.size() < config.parallel()) {
            Sequence s;
            synchronized (this) {
                s = waiting.peek();
                if (s == null) {
                    return;
                }
                int free = pool.capacity() - pool.used() + cache.size();
                int need = KvPool.blocksFor(s.prompt.length) + active.size();
                if (!active.isEmpty() && free < need) {
                    return;
                }
                waiting.poll();
            }
            s.started = System.nanoTime();
            s.session = net.newSession(config.contextLength(), pool);
            s.drafter = model.speculation().drafter(net);
            s.draft = s.drafter != null ? new int[s.drafter.maxDraft()] : null;
            if (s.drafter != null) {
                s.drafter.attach(s.session);
            }
            if (!s.cancel && !config.batchInvariant()) {
                List<KvBlock> prefix = cache.lookup(s.prompt);
                s.session.attachPrefix(prefix);
                s.fed = s.session.position();
                s.cached = s.fed;
                prefixQueries.addAndGet(s.prompt.length);
                prefixHits.addAndGet(s.fed);
            }
            active.add(s);
            runningCount = active.size();
        }
    }

    private void dropCancelled() {
        for (Sequence s : List.copyOf(active)) {
            if (s.cancel) {
                end(s, Generation.StopReason.CANCELLED);
            }
        }
    }

    /** One forward pass over every active sequence. */
    private void step() {
        if (active.isEmpty()) {
            return;
        }
        Batch.Builder batch = new Batch.Builder();
        List<Sequence> parts = new ArrayList<>();
        List<int[]> chunks = new ArrayList<>();
        // Drafts take KV positions too: only while every running sequence could still get a block.
        boolean roomToDraft = pool.capacity() - pool.used() + cache.size() > active.size();
        for (Sequence s : active) {
            if (s.decoding != null) {
                // The last sampled token, and with speculation the drafts after it, each row giving logits.
                s.drafts = s.drafter == null || !roomToDraft ? 0 : s.decoding.propose(s.drafter,
                        s.session.contextLength() - s.session.position() - 1, s.draft);
                int[] feed = new int[1 + s.drafts];
                feed[0] = s.decoding.last();
                if (s.drafts > 0) {
                    System.arraycopy(s.draft, 0, feed, 1, s.drafts);
                }
                batch.add(s.session, feed, feed.length);
                parts.add(s);
                chunks.add(feed);
            }
        }
        int budget = config.prefillChunk();
        for (Sequence s : active) {
            if (s.decoding == null && (budget > 0 || config.batchInvariant())) {
                // Batch-invariant: every starting sequence its own whole chunk, as it would get alone.
                int n = Math.min(config.batchInvariant() ? config.prefillChunk() : budget, s.prompt.length - s.fed);
                int[] chunk = Arrays.copyOfRange(s.prompt, s.fed, s.fed + n);
                batch.add(s.session, chunk);
                parts.add(s);
                chunks.add(chunk);
                budget -= n;
            }
        }
        float[][] logits;
        try {
            logits = net.forward(batch.build(), false);
        } catch (KvPool.KvPoolExhaustedException e) {
            // Out of KV memory: the youngest sequence gives its blocks back to the others.
            end(active.getLast(), Generation.StopReason.NO_MEMORY);
            return;
        } catch (RuntimeException e) {
            // A bug or bad input in this step: its sequences fail, the others go on.
            parts.forEach(s -> fail(s, e));
            return;
        }
        steps.incrementAndGet();
        int row = 0; // the first logits row of part i
        for (int i = 0; i < parts.size(); i++) {
            Sequence s = parts.get(i);
            int from = row;
            row += s.decoding != null ? chunks.get(i).length : 1;
            try {
                if (s.decoding == null) {
                    s.fed += chunks.get(i).length;
                    promptTokens.addAndGet(chunks.get(i).length);
                    if (s.fed < s.prompt.length) {
                        continue;
                    }
                    s.promptDone = System.nanoTime();
                    s.decoding = new Decoding(model.tokenizer(), s.prompt, s.options, s.listener);
                    generatedTokens.incrementAndGet();
                    if (!s.decoding.step(logits[from], s.session.position() < s.session.contextLength())) {
                        finish(s);
                    }
                    continue;
                }
                int base = s.session.position() - chunks.get(i).length;
                int kept = s.decoding.verify(logits, from, s.draft, s.drafts, base, s.session.contextLength(), s.drafter);
                Decoding.rewind(s.session, base + 1 + kept);
                generatedTokens.addAndGet(1 + kept);
                draftedTokens.addAndGet(s.drafts);
                acceptedTokens.addAndGet(kept);
                if (s.decoding.stopped()) {
                    finish(s);
                }
            } catch (RuntimeException e) {
                // Sampling, a constraint or a listener failed for this sequence: it fails, the others go on.
                fail(s, e);
            }
        }
    }

    /** Stops a sequence from outside its decoding (cancelled, or no memory left), prompt fed or not. */
    private void end(Sequence s, Generation.StopReason why) {
        if (s.decoding == null) {
            s.decoding = new Decoding(model.tokenizer(), s.prompt, s.options, s.listener);
        }
        s.decoding.abort(why);
        finish(s);
    }

    /** Ends a sequence that failed: its blocks go back to the pool, the error to the caller. */
    private void fail(Sequence s, Throwable error) {
        active.remove(s);
        if (s.session != null) {
            s.session.close();
        }
        if (s.drafter != null) {
            s.drafter.close();
        }
        runningCount = active.size();
        s.result.completeExceptionally(error);
    }

    /** Ends a stopped sequence: its KV blocks go to the prefix cache, its result to the caller. */
    private void finish(Sequence s) {
        active.remove(s);
        if (s.decoding.stopReason() == Generation.StopReason.CANCELLED) {
            cancelled.incrementAndGet();
        }
        Generation g = s.decoding.result(s.prompt.length - s.cached, s.cached,
                ((s.promptDone > 0 ? s.promptDone : System.nanoTime()) - s.started) / 1e9,
                s.promptDone > 0 ? (System.nanoTime() - s.promptDone) / 1e9 : 0);
        int held = s.session.position();
        if (held > 0 && s.decoding.stopReason() != Generation.StopReason.NO_MEMORY) {
            int[] all = Arrays.copyOf(s.prompt, s.prompt.length + g.tokens().length);
            System.arraycopy(g.tokens(), 0, all, s.prompt.length, g.tokens().length);
            cache.add(s.session, Arrays.copyOf(all, Math.min(held, all.length)));
        }
        s.session.close();
        if (s.drafter != null) {
            s.drafter.close();
        }
        runningCount = active.size();
        cacheSize = cache.size();
        s.result.complete(g);
    }

    private void failAll(Throwable t) {
        List<Sequence> all = new ArrayList<>(active);
        synchronized (this) {
            closed = true;
            all.addAll(waiting);
            waiting.clear();
        }
        for (Sequence s : all) {
            fail(s, t);
        }
    }
}
