package io.jseek.model;

import io.jseek.core.JseekException;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * KV-cache memory as a pool of fixed-size {@link KvBlock}s shared by every session made from it, so that
 * concurrent sequences divide one budget as they need it instead of each holding a fixed slice. A
 * bounded pool refuses a block when all are in use (after asking its evictor, e.g. a prefix cache, to
 * give one back); an unbounded pool, the default for a lone session, just allocates.
 */
public final class KvPool {
    /** Positions per block. */
    public static final int BLOCK_TOKENS = 16;

    /** Per cache layer: values per position. */
    private final int[] widths;
    /** The cache type asked for. */
    private final CacheType type;
    /** Per cache layer: its storage, {@link #type} but where the model keeps a layer exact. */
    private final CacheType[] types;
    /** Per cache layer: positions per stored row ({@link KvLayer#of}). */
    private final int[] strides;
    /** Per cache layer: positions before the next one it must hold ({@link ModelConfig#cacheHorizons}). */
    private final int[] horizons;
    private final int maxBlocks;
    private final ArrayDeque<KvBlock> free = new ArrayDeque<>();
    private int allocated;
    private int inUse;
    private BooleanSupplier evictor = () -> false;

    /** A pool for {@code model}'s cache layout; {@code maxBlocks} ≤ 0 means unbounded. */
    public KvPool(Model model, CacheType type, int maxBlocks) {
        this(model.config().cacheWidths(), type, model.config().cacheTypes(type), model.config().cacheStrides(),
                model.config().cacheHorizons(), maxBlocks);
    }

    /** A pool whose every layer is stored as {@code type}. */
    KvPool(int[] widths, CacheType type, int maxBlocks) {
        this(widths, type, java.util.Collections.nCopies(widths.length, type).toArray(CacheType[]::new),
                filled(widths.length, 1), filled(widths.length, Integer.MAX_VALUE), maxBlocks);
    }

    private KvPool(int[] widths, CacheType type, CacheType[] types, int[] strides, int[] horizons, int maxBlocks) {
        this.widths = widths.clone();
        this.type = type;
        this.types = types.clone();
        this.strides = strides.clone();
        this.horizons = horizons.clone();
        this.maxBlocks = maxBlocks;
    }

    private static int[] filled(int n, int value) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, value);
        return a;
    }

    /** Positions before the next one cache layer l must hold (Integer.MAX_VALUE: all). */
    int horizon(int l) {
        return horizons[l];
    }

    /** Whether some layer keeps only recent positions (then blocks are not shared as prefixes). */
    boolean forgets() {
        return java.util.Arrays.stream(horizons).anyMatch(h -> h != Integer.MAX_VALUE);
    }

    /** A new page for cache layer l (one given back earlier, when its block is used again). */
    Object newPage(int l) {
        return KvLayer.newPage(types[l], widths[l], strides[l]);
    }

    /**
     * Whether block {@code index} of a session needs a page of layer l: always, but for a layer with a row per more
     * positions than a block holds, only in the blocks that end such a stride ({@link Session} adds those pages).
     */
    boolean pageNeeded(int l, int index) {
        return KvLayer.pageNeeded(strides[l], index);
    }

    /** Whether layer l's pages are added by the session only where needed (a row per more than a block). */
    private boolean lazy(int l) {
        return strides[l] > BLOCK_TOKENS;
    }

    /** Blocks needed for {@code tokens} positions. */
    public static int blocksFor(int tokens) {
        return (tokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
    }

    public CacheType cacheType() {
        return type;
    }

    /** A new session's view of cache layer l (of {@code width} values per row). */
    KvLayer newLayer(int l, int width) {
        return KvLayer.of(types[l], width, strides[l]);
    }

    /** The most blocks the pool hands out, or 0 when unbounded. */
    public int capacity() {
        return Math.max(0, maxBlocks);
    }

    /** Blocks held by sessions or caches now. */
    public synchronized int used() {
        return inUse;
    }

    /**
     * Called when the pool is out of blocks: should release one held only by a cache and return true, or
     * return false when it has none to give.
     */
    public synchronized void evictor(BooleanSupplier evictor) {
        this.evictor = evictor;
    }

    /** A block for the caller alone (one reference). */
    synchronized KvBlock take() {
        while (free.isEmpty() && maxBlocks > 0 && allocated >= maxBlocks) {
            if (!evictor.getAsBoolean()) {
                throw new KvPoolExhaustedException("the KV cache is full: all " + maxBlocks + " blocks of "
                        + BLOCK_TOKENS + " positions are in use");
            }
        }
        KvBlock b = free.poll();
        if (b != null) {
            for (int l = 0; l < widths.length; l++) {
                if (b.layers[l] == null && !lazy(l)) {
                    b.layers[l] = newPage(l);
                }
            }
        }
        if (b == null) {
            Object[] data = new Object[widths.length];
            for (int l = 0; l < widths.length; l++) {
                data[l] = lazy(l) ? null : newPage(l);
            }
            b = new KvBlock(data);
            allocated++;
        }
        b.refs = 1;
        inUse++;
        return b;
    }

    /** One more holder of {@code b}. */
    public synchronized void retain(KvBlock b) {
        if (b.refs <= 0) {
            throw new IllegalStateException("block already released");
        }
        b.refs++;
    }

    /** One holder fewer; the block returns to the pool with the last. */
    public synchronized void release(KvBlock b) {
        if (b.refs <= 0) {
            throw new IllegalStateException("block released twice");
        }
        if (--b.refs == 0) {
            inUse--;
            if (maxBlocks > 0) {
                free.push(b);
            } else {
                allocated--;
            }
        }
    }

    /** Holders of {@code b}. */
    public synchronized int refs(KvBlock b) {
        return b.refs;
    }

    /** The pool has no block for a session that needs one. */
    public static final class KvPoolExhaustedException extends JseekException {
        KvPoolExhaustedException(String message) {
            super(message);
        }
    }
}
