package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.PackedMatrix;

/**
 * MLA's absorbed form (docs/deepseek.md §2.3; step numbers are §2.3's) of a batch, in three parallel
 * steps: every (token, head)'s query moved into latent space, [qAbsorbed ‖ qRope]; the heads of tiles of
 * tokens attending over their sequence's cached [cKv ‖ kRope] ({@link BlockAttention}: each cached block read
 * once for all of a tile's heads, long contexts cut into chunks for the threads, {@link AttentionPlan}); per
 * (token, head) the chunks merged into oLatent, then W_UV applied. Where W_UK and W_UV are packed, their
 * per-head products run as one dispatch each (MatMul.Products); otherwise one (token, head) row product at a
 * time. With V3.2's sparse attention each token attends to its chosen positions only ({@link #sparse}).
 * One per workspace; the layer comes with each run.
 */
final class MlaAbsorbed {
    private final Mla.Common k;
    private final AttentionPlan plan = new AttentionPlan();
    private final MatMul.Products products = new MatMul.Products(16);
    /** Per token: every head's [qAbsorbed ‖ qRope]; every head's oLatent. */
    private float[][] qAbsorbed = new float[0][];
    private float[][] oLatent = new float[0][];
    private float[] maxes = new float[0];
    private float[] sums = new float[0];
    private float[] outs = new float[0];
    private int[] tileOf = new int[0];
    private Mla layer;
    private Mla.Scratch s;
    private Batch batch;
    private int rowsPerTile;
    /** Sparse attention: per token its chosen positions (the first counts[i]); chunks of them; the group's first token. */
    private int[][] selected;
    private int[] counts;
    private int sparseChunks;
    private int sparseChunkLength;
    private int sparseFirst;

    private final WorkerPool.RangeBody absorbJobs = this::absorb;
    private final WorkerPool.RangeBody attendJobs = this::attend;
    private final WorkerPool.RangeBody mergeJobs = this::merge;
    private final WorkerPool.RangeBody sparseJobs = this::sparse;
    private final WorkerPool.RangeBody sparseMergeJobs = this::sparseMerge;

    MlaAbsorbed(Mla.Common k) {
        this.k = k;
    }

    /** Rows (token, head) whose W_UK product was not done packed: qAbsorbed by row products (step 2). */
    private void absorb(int from, int to) {
        int h = k.c().headCount();
        int qk = k.dims().qkNopeHeadDim() + k.dims().qkRopeHeadDim();
        int dk = k.dims().kvLoraRank() + k.dims().qkRopeHeadDim();
        for (int job = from; job < to; job++) {
            int i = job / h;
            int head = job % h;
            layer.absorbQuery(head, s.q[i], head * qk, qAbsorbed[i], head * dk);
        }
    }

    /** Steps 3–5 over one chunk of one tile's cached positions. */
    private void attend(int from, int to) {
        int h = k.c().headCount();
        int[] limit = Blocks.limits(rowsPerTile);
        BlockAttention.Rows rows = Blocks.ROWS.get();
        for (int job = from; job < to; job++) {
            int tile = plan.jobTile[job];
            int first = plan.tileFirst[tile];
            rows.set(qAbsorbed, first, plan.tileEnd[tile] - first, h, 0);
            for (int r = 0; r < rows.count; r++) {
                limit[r] = batch.position[first + r / h] + 1;
            }
            BlockAttention.attend(batch.cache(first, layer.layer), plan.jobFrom[job], plan.jobTo[job], k.absorbed(),
                    rows, limit, maxes, sums, outs, plan.jobSlot[job] * rowsPerTile);
        }
    }

    /** Merges each (token, head)'s chunks into its oLatent; applies W_UV (step 6) unless that is done packed. */
    private void merge(int from, int to) {
        int h = k.c().headCount();
        int kvr = k.dims().kvLoraRank();
        int vh = k.dims().vHeadDim();
        boolean up = !(layer.vBm instanceof PackedMatrix);
        for (int job = from; job < to; job++) {
            int i = job / h;
            int head = job % h;
            int tile = tileOf[i];
            int r = (i - plan.tileFirst[tile]) * h + head;
            BlockAttention.mergeRow(plan.tileSlot[tile] * rowsPerTile + r, plan.tileChunks[tile], rowsPerTile, kvr,
                    maxes, sums, outs, oLatent[i], head * kvr);
            if (up) {
                layer.valueUp(head, oLatent[i], head * kvr, s.o[i], head * vh);
            }
        }
    }

    /**
     * Steps 3–5 of one (token, chunk of its chosen positions), V3.2's sparse attention: every head over the
     * chunk's cached [cKv ‖ kRope] rows, gathered a block of 16 at a time ({@link Chosen}) and attended as
     * dense positions are ({@link BlockAttention}: each row read once for all heads), into the job's states.
     */
    private void sparse(int from, int to) {
        int h = k.c().headCount();
        int[] limit = Blocks.limits(h);
        BlockAttention.Rows rows = Blocks.ROWS.get();
        Chosen source = CHOSEN.get();
        for (int job = from; job < to; job++) {
            int i = sparseFirst + job / sparseChunks;
            int p0 = job % sparseChunks * sparseChunkLength;
            int p1 = Math.min(counts[i], p0 + sparseChunkLength);
            BlockAttention.reset(h, k.dims().kvLoraRank(), maxes, sums, outs, job * h);
            if (p0 >= p1) {
                continue;
            }
            java.util.Arrays.fill(limit, 0, h, p1);
            source.set(batch.cache(i, layer.layer), selected[i], counts[i]);
            rows.set(qAbsorbed, i, 1, h, 0);
            BlockAttention.attendMore(source, p0, p1, k.absorbed(), rows, limit, maxes, sums, outs, job * h);
        }
        source.set(null, null, 0);
    }

    /** Each (token, head)'s chunks merged into its oLatent; W_UV applied (step 6) unless that is done packed. */
    private void sparseMerge(int from, int to) {
        int h = k.c().headCount();
        int kvr = k.dims().kvLoraRank();
        int vh = k.dims().vHeadDim();
        boolean up = !(layer.vBm instanceof PackedMatrix);
        for (int job = from; job < to; job++) {
            int r = job / h;
            int i = sparseFirst + r;
            int head = job % h;
            BlockAttention.mergeRow(r * sparseChunks * h + head, sparseChunks, h, kvr, maxes, sums, outs, oLatent[i],
                    head * kvr);
            if (up) {
                layer.valueUp(head, oLatent[i], head * kvr, s.o[i], head * vh);
            }
        }
    }

    /** Sparse attention's states held at a time (floats of outputs), bounding them for long prompts. */
    private static final int SPARSE_STATES = 1 << 22;

    /** The batch's sparse attention: tokens in groups, each token's chosen positions in chunks for the threads. */
    private void sparseAll(int t) {
        int h = k.c().headCount();
        int kvr = k.dims().kvLoraRank();
        int most = 0;
        for (int i = 0; i < t; i++) {
            most = Math.max(most, counts[i]);
        }
        // Enough jobs for the threads (a decode step: its positions split), chunks of whole cache blocks.
        int chunks = Math.max(1, Math.min((2 * k.pool().threads() + t - 1) / t, most / (4 * KvPool.BLOCK_TOKENS)));
        int b = KvPool.BLOCK_TOKENS;
        sparseChunkLength = ((most + chunks - 1) / chunks + b - 1) / b * b;
        sparseChunks = Math.max(1, (most + sparseChunkLength - 1) / sparseChunkLength);
        int group = Math.max(1, Math.min(t, SPARSE_STATES / (sparseChunks * h * kvr)));
        maxes = Blocks.grow(maxes, group * sparseChunks * h);
        sums = Blocks.grow(sums, group * sparseChunks * h);
        outs = Blocks.grow(outs, group * sparseChunks * h * kvr);
        for (sparseFirst = 0; sparseFirst < t; sparseFirst += group) {
            int n = Math.min(group, t - sparseFirst);
            k.pool().forRange(n * sparseChunks, sparseJobs);
            k.pool().forRange(n * h, sparseMergeJobs);
        }
    }

    /** A token's chosen positions as a {@link BlockAttention.Source}: block b is chosen[16b .. 16b + 15]. */
    private static final class Chosen implements BlockAttention.Source {
        private KvLayer cache;
        private int[] positions;
        private int count;

        /** The first {@code count} of {@code positions}, in {@code cache}. */
        void set(KvLayer cache, int[] positions, int count) {
            this.cache = cache;
            this.positions = positions;
            this.count = count;
        }

        @Override
        public void keys(int block, int dk, float[] dst) {
            int first = block * KvPool.BLOCK_TOKENS;
            for (int j = 0; j < KvPool.BLOCK_TOKENS && first + j < count; j++) {
                cache.read(positions[first + j], 0, dst, j * dk, dk);
            }
        }

        @Override
        public void values(int block, int dv, float[] dst) {
            throw new IllegalStateException("MLA's values are its keys' latent");
        }
    }

    private static final ThreadLocal<Chosen> CHOSEN = ThreadLocal.withInitial(Chosen::new);

    /** Attention of the batch's t rows (queries in s.q, their positions already cached) into s.o. */
    void run(Mla layer, Mla.Scratch s, Batch batch, int t) {
        run(layer, s, batch, t, null, null);
    }

    /**
     * As {@link #run(Mla, Mla.Scratch, Batch, int)}; with {@code selected} non-null each token i attends to
     * positions selected[i][0, counts[i]) only.
     */
    void run(Mla layer, Mla.Scratch s, Batch batch, int t, int[][] selected, int[] counts) {
        int h = k.c().headCount();
        int nope = k.dims().qkNopeHeadDim();
        int rot = k.dims().qkRopeHeadDim();
        int kvr = k.dims().kvLoraRank();
        int vh = k.dims().vHeadDim();
        int dk = kvr + rot;
        this.layer = layer;
        this.s = s;
        this.batch = batch;
        this.selected = selected;
        this.counts = counts;
        // Tiles of tokens whose heads' outputs fit in 256 KiB; decode: chunks of at least 4 blocks.
        int tileTokens = Math.max(1, (64 << 10) / (h * kvr));
        plan.plan(batch, tileTokens, 2 * k.pool().threads(), 4 * KvPool.BLOCK_TOKENS);
        rowsPerTile = tileTokens * h;
        qAbsorbed = Blocks.rows(qAbsorbed, t, h * dk);
        oLatent = Blocks.rows(oLatent, t, h * kvr);
        maxes = Blocks.grow(maxes, plan.slots * rowsPerTile);
        sums = Blocks.grow(sums, plan.slots * rowsPerTile);
        outs = Blocks.grow(outs, plan.slots * rowsPerTile * kvr);
        if (tileOf.length < t) {
            tileOf = new int[t];
        }
        for (int tile = 0; tile < plan.tiles; tile++) {
            for (int i = plan.tileFirst[tile]; i < plan.tileEnd[tile]; i++) {
                tileOf[i] = tile;
            }
        }
        try {
            if (layer.kBm instanceof PackedMatrix) {
                products.clear();
                for (int head = 0; head < h; head++) {
                    products.add(layer.kBm, (long) head * kvr, kvr, s.q, head * (nope + rot), t, qAbsorbed, head * dk);
                }
                MatMul.mul(k.pool(), products);
            } else {
                k.pool().forRange(t * h, absorbJobs);
            }
            for (int i = 0; i < t; i++) {
                for (int head = 0; head < h; head++) {
                    System.arraycopy(s.q[i], head * (nope + rot) + nope, qAbsorbed[i], head * dk + kvr, rot);
                }
            }
            if (selected == null) {
                k.pool().forRange(plan.jobs, attendJobs);
                k.pool().forRange(t * h, mergeJobs);
            } else {
                sparseAll(t);
            }
            if (layer.vBm instanceof PackedMatrix) {
                products.clear();
                for (int head = 0; head < h; head++) {
                    products.add(layer.vBm, (long) head * vh, vh, oLatent, head * kvr, t, s.o, head * vh);
                }
                MatMul.mul(k.pool(), products);
            }
        } finally {
            this.layer = null;
            this.s = null;
            this.batch = null;
            this.selected = null;
        }
    }
}
