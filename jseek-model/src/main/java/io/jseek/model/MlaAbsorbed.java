package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
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
    private float[][] queries = new float[0][];
    private float[][] latents = new float[0][];
    private float[] maxes = new float[0];
    private float[] sums = new float[0];
    private float[] outs = new float[0];
    private int[] tileOf = new int[0];
    private Mla layer;
    private Mla.Scratch s;
    private Batch batch;
    private int rowsPerTile;
    /** Sparse attention: per token its chosen positions (the first counts[i]); heads per job. */
    private int[][] selected;
    private int[] counts;
    private int headsPerJob;

    private final WorkerPool.RangeBody absorbJobs = this::absorb;
    private final WorkerPool.RangeBody attendJobs = this::attend;
    private final WorkerPool.RangeBody mergeJobs = this::merge;
    private final WorkerPool.RangeBody sparseJobs = this::sparse;

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
            layer.absorbQuery(head, s.q[i], head * qk, queries[i], head * dk);
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
            rows.set(queries, first, plan.tileEnd[tile] - first, h, 0);
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
                    maxes, sums, outs, latents[i], head * kvr);
            if (up) {
                layer.valueUp(head, latents[i], head * kvr, s.o[i], head * vh);
            }
        }
    }

    /**
     * Steps 3–6 for a group of one token's heads over only its chosen positions (V3.2's sparse attention): their
     * cached [cKv ‖ kRope] rows gathered once for the group, then per head scores, softmax, oLatent, and W_UV
     * unless that is done packed. The work grows with the number chosen, not with the context.
     */
    private void sparse(int from, int to) {
        int h = k.c().headCount();
        int kvr = k.dims().kvLoraRank();
        int dk = kvr + k.dims().qkRopeHeadDim();
        int vh = k.dims().vHeadDim();
        float scale = k.absorbed().scale();
        boolean up = !(layer.vBm instanceof PackedMatrix);
        int groups = (h + headsPerJob - 1) / headsPerJob;
        for (int job = from; job < to; job++) {
            int i = job / groups;
            int h0 = job % groups * headsPerJob;
            int n = counts[i];
            float[] rows = gathered(n * dk);
            float[] p = Blocks.scores(n);
            KvLayer cache = batch.cache(i, layer.layer);
            for (int j = 0; j < n; j++) {
                cache.read(selected[i][j], 0, rows, j * dk, dk);
            }
            for (int head = h0; head < Math.min(h, h0 + headsPerJob); head++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    p[j] = scale * VectorMath.dot(queries[i], head * dk, rows, j * dk, dk);
                    max = Math.max(max, p[j]);
                }
                float sum = 0;
                for (int j = 0; j < n; j++) {
                    p[j] = (float) Math.exp(p[j] - max);
                    sum += p[j];
                }
                float[] out = latents[i];
                java.util.Arrays.fill(out, head * kvr, (head + 1) * kvr, 0f);
                for (int j = 0; j < n; j++) {
                    VectorMath.axpy(p[j] / sum, rows, j * dk, out, head * kvr, kvr);
                }
                if (up) {
                    layer.valueUp(head, out, head * kvr, s.o[i], head * vh);
                }
            }
        }
    }

    private static final ThreadLocal<float[]> GATHERED = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] gathered(int n) {
        float[] a = GATHERED.get();
        if (a.length < n) {
            a = new float[n];
            GATHERED.set(a);
        }
        return a;
    }

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
        queries = Blocks.rows(queries, t, h * dk);
        latents = Blocks.rows(latents, t, h * kvr);
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
                    products.add(layer.kBm, (long) head * kvr, kvr, s.q, head * (nope + rot), t, queries, head * dk);
                }
                MatMul.mul(k.pool(), products);
            } else {
                k.pool().forRange(t * h, absorbJobs);
            }
            for (int i = 0; i < t; i++) {
                for (int head = 0; head < h; head++) {
                    System.arraycopy(s.q[i], head * (nope + rot) + nope, queries[i], head * dk + kvr, rot);
                }
            }
            if (selected == null) {
                k.pool().forRange(plan.jobs, attendJobs);
                k.pool().forRange(t * h, mergeJobs);
            } else {
                // Enough jobs for the threads: a decode step's heads split, a prompt's tokens whole.
                headsPerJob = Math.max(1, h * t / (4 * k.pool().threads()));
                headsPerJob = Math.min(h, headsPerJob);
                k.pool().forRange(t * ((h + headsPerJob - 1) / headsPerJob), sparseJobs);
            }
            if (layer.vBm instanceof PackedMatrix) {
                products.clear();
                for (int head = 0; head < h; head++) {
                    products.add(layer.vBm, (long) head * vh, vh, latents, head * kvr, t, s.o, head * vh);
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
