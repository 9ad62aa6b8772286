package io.jseek.model;

import io.jseek.core.JseekException;
import java.util.ArrayList;
import java.util.List;

/**
 * One sequence's state: its KV cache and how many positions it holds. The cache stores, per cache layer
 * and position, its width of values ({@link ModelConfig#cacheWidths}; for MLA: the normalized latent then the
 * rotated rope key; for V3.2 also each layer's indexer key) as
 * F32, F16 or Q8_0, in {@link KvBlock}s taken from a {@link KvPool} as the sequence grows, up to the context
 * length. Blocks may be shared with other sessions (a cached prefix); a shared block is copied before this
 * session writes into it. Owned by one thread at a time; {@link #close} gives the blocks back.
 */
public final class Session implements AutoCloseable {
    private final int contextLength;
    private final KvPool pool;
    private final KvLayer[] cache;
    private final java.util.ArrayList<KvBlock> blocks = new java.util.ArrayList<>();
    private int position;
    private List<int[][]> routing;
    private List<float[][]> routingScores;
    private int[][][] forcedRouting;
    /** V3.2's indexer choices: recorded, and forced, per [position][layer]. */
    private int[][][] selections;
    private int[][][] forcedSelections;
    /** Per cache layer: blocks before this one were looked at for giving pages back (null: no layer forgets). */
    private int[] forgotten;
    /** The final hidden states captured for a drafter, or null. */
    private HiddenStates hidden;
    /** The model's buffers for single-token steps, created on the first one. */
    private Workspace decodeWorkspace;
    /** The batch for single-token steps, created on the first one. */
    Batch decodeBatch;

    Session(int[] widths, int contextLength, KvPool pool) {
        if (contextLength < 1) {
            throw new JseekException("context length must be at least 1, got " + contextLength);
        }
        this.contextLength = contextLength;
        this.pool = pool;
        this.cache = new KvLayer[widths.length];
        this.forgotten = pool.forgets() ? new int[widths.length] : null;
        for (int l = 0; l < widths.length; l++) {
            cache[l] = pool.newLayer(l, widths[l]);
        }
    }

    public CacheType cacheType() {
        return pool.cacheType();
    }

    /**
     * The blocks completely filled by the first {@code position()} positions, in order (for a prefix cache,
     * which must {@link KvPool#retain} those it keeps).
     */
    public java.util.List<KvBlock> fullBlocks() {
        if (pool.forgets()) {
            // A prefix of such a model needs its last positions' rows of the forgetting layers, which this session
            // may have given back for any shorter prefix: nothing is offered for sharing.
            return java.util.List.of();
        }
        return java.util.List.copyOf(blocks.subList(0, position / KvPool.BLOCK_TOKENS));
    }

    /**
     * Starts an empty session from cached blocks holding its first {@code prefix.size() × BLOCK_TOKENS}
     * positions (computed by another session of the same model and cache type); takes a reference to each.
     */
    public void attachPrefix(java.util.List<KvBlock> prefix) {
        if (position != 0 || !blocks.isEmpty()) {
            throw new IllegalStateException("a prefix can only start an empty session");
        }
        if ((long) prefix.size() * KvPool.BLOCK_TOKENS > contextLength) {
            throw new JseekException("the cached prefix is longer than the context");
        }
        for (KvBlock b : prefix) {
            pool.retain(b);
            setBlock(blocks.size(), b);
        }
        position = prefix.size() * KvPool.BLOCK_TOKENS;
    }

    /** Gives every block back to the pool; the session is empty afterwards. */
    @Override
    public void close() {
        for (KvBlock b : blocks) {
            pool.release(b);
        }
        blocks.clear();
        position = 0;
    }

    /** Number of tokens already in the cache: the position of the next token. */
    public int position() {
        return position;
    }

    public int contextLength() {
        return contextLength;
    }

    /**
     * Forgets everything after the first {@code n} positions (n ≤ position) and returns the positions kept: n, but
     * 0 when the model's cache keeps only recent positions of some layer (V4's window and compressor state, {@link
     * ModelConfig#cacheHorizons}) and those n needs were given back — more than {@link #REWIND_MARGIN} positions
     * behind what they had to be. Then the caller feeds the sequence again from its start.
     */
    public int truncate(int n) {
        if (n < 0 || n > position) {
            throw new IllegalArgumentException("cannot truncate to " + n + " of " + position + " positions");
        }
        if (n < position && !rewindable(n)) {
            n = 0;
        }
        position = n;
        if (forgotten != null) {
            for (int l = 0; l < cache.length; l++) {
                forgotten[l] = Math.min(forgotten[l], n / KvPool.BLOCK_TOKENS);
            }
        }
        // Rows from n on will be written again: blocks from n's on get back the pages they gave.
        for (int i = n / KvPool.BLOCK_TOKENS; i < blocks.size(); i++) {
            KvBlock b = blocks.get(i);
            for (int l = 0; l < cache.length; l++) {
                if (b.layers[l] == null && pool.pageNeeded(l, i)) {
                    b.layers[l] = pool.newPage(l);
                    cache[l].page(i, b.layers[l]);
                }
            }
        }
        if (hidden != null) {
            hidden.truncate(n);
        }
        return n;
    }

    /**
     * Positions a layer that keeps only recent ones holds beyond its horizon, so that rejected drafts can be taken
     * back: the longest speculative draft (64 tokens, the engine's {@code Speculation}).
     */
    public static final int REWIND_MARGIN = 64;

    /** Whether every layer still holds the rows a continuation from position n reads. */
    private boolean rewindable(int n) {
        for (int l = 0; l < cache.length; l++) {
            int h = pool.horizon(l);
            if (h == Integer.MAX_VALUE) {
                continue;
            }
            for (int i = Math.max(0, n - h) / KvPool.BLOCK_TOKENS; i * KvPool.BLOCK_TOKENS < n; i++) {
                if (blocks.get(i).layers[l] == null) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Gives back the pages of the layers that keep only recent positions, in blocks wholly more than their horizon
     * and {@link #REWIND_MARGIN} behind the next position and held by this session alone.
     */
    private void forgetOld() {
        for (int l = 0; l < cache.length; l++) {
            int h = pool.horizon(l);
            if (h == Integer.MAX_VALUE) {
                continue;
            }
            long keepFrom = (long) position - h - REWIND_MARGIN;
            for (int i = forgotten[l]; (long) (i + 1) * KvPool.BLOCK_TOKENS <= keepFrom; i++) {
                KvBlock b = blocks.get(i);
                if (b.layers[l] != null && pool.refs(b) == 1) {
                    b.layers[l] = null;
                    cache[l].page(i, null);
                }
                forgotten[l] = i + 1;
            }
        }
    }

    /**
     * From now on (or no longer), every forward pass keeps this session's final hidden states, after the output
     * norm, for each position it feeds, in {@link #hidden} — what a multi-token-prediction head drafts from.
     */
    public void captureHidden(boolean on, int width) {
        hidden = on ? new HiddenStates(width) : null;
    }

    /** The captured hidden states, or null when not captured. */
    public HiddenStates hidden() {
        return hidden;
    }

    /** Records the experts chosen in every MoE layer from now on, and their selection scores (for checking routing). */
    public void recordRouting() {
        routing = new ArrayList<>();
        routingScores = new ArrayList<>();
    }

    /**
     * The recorded selection scores, parallel to {@link #routing}: {@code [token][expert]}, the score each
     * expert is ranked by (probability plus selection bias; before the group rule).
     */
    public List<float[][]> routingScores() {
        return routingScores == null ? List.of() : routingScores;
    }

    /**
     * From now on, position p's tokens use {@code experts[p][j]} in the j-th MoE layer instead of the experts
     * the router chooses (their gate weights still come from the router). For comparing the rest of the
     * computation with a reference that chose differently at a near-tie: "teacher-forced routing".
     */
    public void forceRouting(int[][][] experts) {
        forcedRouting = experts;
    }

    /** The experts forced at position {@code pos} in MoE layer {@code j}, or null. */
    int[] forcedExperts(int pos, int j) {
        return forcedRouting == null || pos >= forcedRouting.length ? null : forcedRouting[pos][j];
    }

    /**
     * Records from now on the positions V3.2's lightning indexer chooses for each token and layer, where it
     * chooses (a token that sees at most top-k positions attends to all of them and records nothing).
     */
    public void recordSelections() {
        selections = new int[contextLength][][];
    }

    /** The recorded choices, {@code [position][layer]} ascending positions, null where none were made. */
    public int[][][] selections() {
        return selections;
    }

    /**
     * From now on, a token at position p attends in layer l to {@code forced[p][l]} (where that is not null)
     * instead of the positions the indexer chooses: for comparing cache types, say, without a near-tie of
     * indexer scores tipping differently ("teacher-forced selection").
     */
    public void forceSelections(int[][][] forced) {
        forcedSelections = forced;
    }

    int[] forcedSelection(int pos, int layer) {
        return forcedSelections == null || pos >= forcedSelections.length || forcedSelections[pos] == null
                ? null : forcedSelections[pos][layer];
    }

    void addSelection(int pos, int layer, int layers, int[] chosen, int n) {
        if (selections != null) {
            if (selections[pos] == null) {
                selections[pos] = new int[layers][];
            }
            selections[pos][layer] = java.util.Arrays.copyOf(chosen, n);
        }
    }

    /**
     * The recorded choices: one entry per (forward call, MoE layer) in call order, each {@code [token][k]}
     * expert ids in selection order.
     */
    public List<int[][]> routing() {
        return routing == null ? List.of() : routing;
    }

    void addRouting(int[][] chosen, float[][] scores, int from, int tokens) {
        if (routing != null) {
            int[][] copy = new int[tokens][];
            float[][] scoreCopy = new float[tokens][];
            for (int i = 0; i < tokens; i++) {
                copy[i] = chosen[from + i].clone();
                scoreCopy[i] = scores[from + i].clone();
            }
            routing.add(copy);
            routingScores.add(scoreCopy);
        }
    }

    /**
     * Checks that {@code n} more tokens fit and makes room for them: blocks for new positions, and a private
     * copy of any shared block they fall in.
     */
    void reserve(int n) {
        if (position + n > contextLength) {
            throw new JseekException("the sequence needs " + (position + n) + " positions but the context holds "
                    + contextLength + " (use a larger context, or a shorter prompt)");
        }
        int first = position / KvPool.BLOCK_TOKENS;
        int end = KvPool.blocksFor(position + n);
        for (int i = first; i < Math.min(end, blocks.size()); i++) {
            KvBlock b = blocks.get(i);
            if (pool.refs(b) > 1) {
                KvBlock copy = pool.take();
                for (int l = 0; l < cache.length; l++) {
                    Object from = b.layers[l];
                    if (from != null) {
                        if (copy.layers[l] == null) {
                            copy.layers[l] = pool.newPage(l);
                        }
                        System.arraycopy(from, 0, copy.layers[l], 0, java.lang.reflect.Array.getLength(from));
                    }
                }
                setBlock(i, copy);
                pool.release(b);
            }
        }
        while (blocks.size() < end) {
            setBlock(blocks.size(), pool.take());
        }
    }

    private void setBlock(int index, KvBlock b) {
        if (index == blocks.size()) {
            blocks.add(b);
        } else {
            blocks.set(index, b);
        }
        for (int l = 0; l < cache.length; l++) {
            if (b.layers[l] == null && pool.pageNeeded(l, index)) {
                b.layers[l] = pool.newPage(l);
            }
            cache[l].page(index, b.layers[l]);
        }
    }

    void advance(int n) {
        position += n;
        if (forgotten != null) {
            forgetOld();
        }
    }

    /** The session's own buffers for single-token steps (so decoding allocates nothing). */
    Workspace decodeWorkspace(java.util.function.IntFunction<Workspace> create) {
        if (decodeWorkspace == null) {
            decodeWorkspace = create.apply(1);
        }
        return decodeWorkspace;
    }

    /** Pages the session's blocks hold now, over all cache layers (those given back not counted). */
    int heldPages() {
        int n = 0;
        for (KvBlock b : blocks) {
            for (Object page : b.layers) {
                n += page != null ? 1 : 0;
            }
        }
        return n;
    }

    /** The cache of layer {@code l}. */
    KvLayer layer(int l) {
        return cache[l];
    }
}
