package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.VectorMath;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Matrix;
import io.jseek.core.tensor.PackedMatrix;
import io.jseek.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * DeepSeek-V2 / V2-Lite / V3 / R1: Multi-head Latent Attention and DeepSeekMoE (docs/deepseek.md §2–3).
 *
 * <p>The cache holds, per token and layer, only the RMS-normalized latent {@code c} (kv_lora values) and
 * the rotated shared rope key (qk_rope values). Attention then runs in one of two equivalent forms:
 * <ul>
 * <li>NAIVE (§2.2): decompress every cached position into per-head keys {@code k_nope = W_UK c} and values
 * {@code v = W_UV c}, then ordinary attention;</li>
 * <li>ABSORBED (§2.3): fold W_UK into the query ({@code q_abs = W_UKᵀ q_nope}), attend over the latents
 * directly, and apply W_UV once to the weighted latent sum. Far cheaper per decoded token.</li>
 * </ul>
 * A prompt of one sequence takes the naive form where it needs fewer multiply-adds ({@link #naiveCheaper});
 * everything else, decode included, the absorbed form (the one llama.cpp computes).
 * Both layouts of W_UK/W_UV are read: split {@code attn_k_b}/{@code attn_v_b} and legacy {@code attn_kv_b}.
 */
final class DeepSeek2Model implements Model {
    /** Which form of MLA attention to compute: one always, or per batch the one with fewer multiply-adds. */
    enum AttentionForm { NAIVE, ABSORBED, CHEAPER }

    private record Layer(float[] attnNorm, Matrix wq, Matrix wqA, float[] qANorm, Matrix wqB, Matrix wkvA,
                         float[] kvANorm, Tensor kB, Tensor vB, Tensor kvB, Matrix kBm, Matrix vBm, Matrix wo,
                         float[] ffnNorm,
                         Matrix gate, Matrix up, Matrix down,
                         Matrix router, Router routing, Matrix gateExps, Matrix upExps, Matrix downExps,
                         Matrix gateShared, Matrix upShared, Matrix downShared) {
        boolean isMoe() {
            return router != null;
        }
    }

    /** Per-call buffers for a batch of {@code t} tokens. */
    private final class Buffers {
        final float[][] q;
        final float[][] qa;
        final float[][] kv;
        final float[][] o;
        final float[][] g;
        final float[][] u;
        final float[][] routerLogits;
        /** Per token: the score each expert was selected by (kept for recording routing). */
        final float[][] scores;
        final int[][] chosen;
        final float[][] weights;
        final float[][] routed;
        final float[][] expertIn;
        final float[][] expertOut;
        final int[] expertRows;
        final float[] expertWeights;
        final Router.Scratch routing;
        final MatMul.Products products = new MatMul.Products(2);
        final Naive naive = new Naive();
        final Absorbed absorbed = new Absorbed();
        final Experts experts = new Experts();

        Buffers(int t) {
            int h = c.headCount();
            int e = c.embeddingLength();
            q = new float[t][h * (mla.qkNopeHeadDim() + mla.qkRopeHeadDim())];
            qa = new float[t][Math.max(1, mla.qLoraRank())];
            kv = new float[t][mla.kvLoraRank() + mla.qkRopeHeadDim()];
            o = new float[t][h * mla.vHeadDim()];
            ModelConfig.Moe m = c.moe();
            int width = c.feedForwardLength();
            int x = 1;
            int k = 1;
            if (m != null) {
                width = Math.max(width, m.expertFeedForwardLength() * Math.max(1, m.expertSharedCount()));
                x = m.expertCount();
                k = m.expertUsedCount();
            }
            g = new float[t][width];
            u = new float[t][width];
            routerLogits = new float[t][x];
            scores = new float[t][x];
            chosen = new int[t][k];
            weights = new float[t][k];
            routed = new float[t][e];
            expertIn = new float[t][];
            expertOut = new float[t][e];
            expertRows = new int[t];
            expertWeights = new float[t];
            routing = new Router.Scratch(m);
        }
    }

    /**
     * NAIVE attention (§2.2) of one sequence's tokens: the positions they see are decompressed, a chunk of
     * {@value #CHUNK} at a time, into per-head keys [W_UK·c ‖ k_rope] and values W_UV·c; then each head's
     * query tiles attend over the chunk ({@link BlockAttention}, their softmax states carried from chunk to
     * chunk), so memory stays O(chunk) however long the context. Per (token, position, head) it costs
     * nope + rope + v = 320 multiply-adds against the absorbed form's 2·kv_lora + rope = 1,088 (V2/V3), for
     * decompressing every seen position instead of moving each token's query: cheaper for prompts, see
     * {@link #naiveCheaper}.
     */
    private final class Naive {
        /** Positions decompressed at a time. A multiple of the cache block. */
        static final int CHUNK = 256;
        /** Tokens per attention job (the rows of one head's tile). */
        static final int TILE = 64;
        private float[][] latents = new float[0][];
        private float[][] ropes = new float[0][];
        /** Per position of the chunk: [k_nope ‖ v] of every head. */
        private float[][] keys = new float[0][];
        private float[] maxes = new float[0];
        private float[] sums = new float[0];
        private float[] outs = new float[0];
        private Buffers b;
        private Batch batch;
        /** The part's first row and token count, the chunk under way [p0, p0 + count), its tiles. */
        private int first;
        private int n;
        private int p0;
        private int count;
        private int tiles;

        private final WorkerPool.RangeBody attend = (from, to) -> {
            int nope = mla.qkNopeHeadDim();
            int vh = mla.vHeadDim();
            int[] limit = limits(TILE);
            BlockAttention.Rows rows = ROWS.get();
            ChunkSource source = SOURCES.get();
            for (int job = from; job < to; job++) {
                int head = job / tiles;
                int t0 = job % tiles * TILE;
                int tn = Math.min(TILE, n - t0);
                int seen = batch.position[first + t0 + tn - 1] + 1;
                if (seen <= p0) {
                    continue;
                }
                for (int r = 0; r < tn; r++) {
                    limit[r] = batch.position[first + t0 + r] + 1;
                }
                source.set(keys, head * (nope + vh), ropes, p0, count, nope);
                rows.set(b.q, first + t0, tn, 1, head);
                BlockAttention.attendMore(source, p0, Math.min(p0 + count, seen), naiveShape, rows, limit, maxes, sums,
                        outs, head * n + t0);
            }
            source.set(null, 0, null, 0, 0, 0);
        };

        /** Each (token, head)'s output: its one state's weighted values divided by its sum. */
        private final WorkerPool.RangeBody finish = (from, to) -> {
            int vh = mla.vHeadDim();
            for (int job = from; job < to; job++) {
                BlockAttention.mergeRow(job, 1, 0, vh, maxes, sums, outs, b.o[first + job % n], job / n * vh);
            }
        };

        /** Attention of part rows [first, first + n), all of one sequence, into b.o. */
        void run(Tensor up, Buffers b, Batch batch, int l, int first, int n) {
            int h = c.headCount();
            int nope = mla.qkNopeHeadDim();
            int rot = mla.qkRopeHeadDim();
            int kvr = mla.kvLoraRank();
            int vh = mla.vHeadDim();
            this.b = b;
            this.batch = batch;
            this.first = first;
            this.n = n;
            tiles = (n + TILE - 1) / TILE;
            latents = rows(latents, CHUNK, kvr);
            ropes = rows(ropes, CHUNK, rot);
            keys = rows(keys, CHUNK, h * (nope + vh));
            maxes = grow(maxes, h * n);
            sums = grow(sums, h * n);
            outs = grow(outs, h * n * vh);
            BlockAttention.reset(h * n, vh, maxes, sums, outs, 0);
            KvLayer cache = batch.cache(first, l);
            int seen = batch.position[first + n - 1] + 1;
            try {
                for (p0 = 0; p0 < seen; p0 += CHUNK) {
                    count = Math.min(CHUNK, seen - p0);
                    for (int j = 0; j < count; j++) {
                        cache.read(p0 + j, 0, latents[j], 0, kvr);
                        cache.read(p0 + j, kvr, ropes[j], 0, rot);
                    }
                    MatMul.mul(pool, up, 0, h * (nope + vh), latents, 0, count, keys, 0);
                    pool.forRange(h * tiles, attend);
                }
                pool.forRange(h * n, finish);
            } finally {
                this.b = null;
                this.batch = null;
            }
        }
    }

    /** One chunk's decompressed keys and values for one head, as {@link BlockAttention} reads them. */
    private static final class ChunkSource implements BlockAttention.Source {
        /** Per position from {@code base}: the head's [k_nope ‖ v] from {@code off}; the rope keys. */
        private float[][] up;
        private float[][] ropes;
        private int off;
        private int base;
        private int count;
        private int nope;

        void set(float[][] up, int off, float[][] ropes, int base, int count, int nope) {
            this.up = up;
            this.off = off;
            this.ropes = ropes;
            this.base = base;
            this.count = count;
            this.nope = nope;
        }

        @Override
        public void keys(int block, int dk, float[] dst) {
            int p = block * KvPool.BLOCK_TOKENS - base;
            for (int j = 0; j < KvPool.BLOCK_TOKENS && p + j < count; j++) {
                System.arraycopy(up[p + j], off, dst, j * dk, nope);
                System.arraycopy(ropes[p + j], 0, dst, j * dk + nope, dk - nope);
            }
        }

        @Override
        public void values(int block, int dv, float[] dst) {
            int p = block * KvPool.BLOCK_TOKENS - base;
            for (int j = 0; j < KvPool.BLOCK_TOKENS && p + j < count; j++) {
                System.arraycopy(up[p + j], off + nope, dst, j * dv, dv);
            }
        }
    }

    private static final ThreadLocal<ChunkSource> SOURCES = ThreadLocal.withInitial(ChunkSource::new);

    /**
     * ABSORBED attention (§2.3) of a batch, in three steps: every (token, head)'s query moved into latent
     * space, [q_abs ‖ q_rope]; the heads of tiles of tokens attending over their sequence's cached latents and
     * rope keys ({@link BlockAttention}: each cached block read once for all of a tile's heads, long contexts
     * cut into chunks for the threads, {@link AttentionPlan}); per (token, head) the chunks merged, then W_UV
     * applied to the weighted latent. Where W_UK and W_UV are packed, their per-head products run as one
     * dispatch each (MatMul.Products); otherwise one (token, head) row product at a time.
     */
    private final class Absorbed {
        private final AttentionPlan plan = new AttentionPlan();
        private final MatMul.Products products = new MatMul.Products(16);
        private float[][] queries = new float[0][];
        private float[][] latents = new float[0][];
        private float[] maxes = new float[0];
        private float[] sums = new float[0];
        private float[] outs = new float[0];
        private int[] tileOf = new int[0];
        private Layer layer;
        private Buffers b;
        private Batch batch;
        private int l;
        private int rowsPerTile;

        /** Rows (token, head) whose W_UK product was not done packed: q_abs by row products. */
        private final WorkerPool.RangeBody absorb = (from, to) -> {
            int h = c.headCount();
            int qk = mla.qkNopeHeadDim() + mla.qkRopeHeadDim();
            int dk = mla.kvLoraRank() + mla.qkRopeHeadDim();
            for (int job = from; job < to; job++) {
                int i = job / h;
                int head = job % h;
                absorbQuery(layer, head, b.q[i], head * qk, queries[i], head * dk);
            }
        };

        private final WorkerPool.RangeBody attend = (from, to) -> {
            int h = c.headCount();
            int[] limit = limits(rowsPerTile);
            BlockAttention.Rows rows = ROWS.get();
            for (int job = from; job < to; job++) {
                int k = plan.jobTile[job];
                int first = plan.tileFirst[k];
                rows.set(queries, first, plan.tileEnd[k] - first, h, 0);
                for (int r = 0; r < rows.count; r++) {
                    limit[r] = batch.position[first + r / h] + 1;
                }
                BlockAttention.attend(batch.cache(first, l), plan.jobFrom[job], plan.jobTo[job], shape, rows, limit,
                        maxes, sums, outs, plan.jobSlot[job] * rowsPerTile);
            }
        };

        /** Merges each (token, head)'s chunks into its weighted latent; applies W_UV unless that is done packed. */
        private final WorkerPool.RangeBody merge = (from, to) -> {
            int h = c.headCount();
            int kvr = mla.kvLoraRank();
            int vh = mla.vHeadDim();
            boolean up = !(layer.vBm instanceof PackedMatrix);
            for (int job = from; job < to; job++) {
                int i = job / h;
                int head = job % h;
                int k = tileOf[i];
                int r = (i - plan.tileFirst[k]) * h + head;
                BlockAttention.mergeRow(plan.tileSlot[k] * rowsPerTile + r, plan.tileChunks[k], rowsPerTile, kvr,
                        maxes, sums, outs, latents[i], head * kvr);
                if (up) {
                    valueUp(layer, head, latents[i], head * kvr, b.o[i], head * vh);
                }
            }
        };

        void run(Layer layer, Buffers b, Batch batch, int l, int t) {
            int h = c.headCount();
            int nope = mla.qkNopeHeadDim();
            int rot = mla.qkRopeHeadDim();
            int kvr = mla.kvLoraRank();
            int vh = mla.vHeadDim();
            int dk = kvr + rot;
            this.layer = layer;
            this.b = b;
            this.batch = batch;
            this.l = l;
            // Tiles of tokens whose heads' outputs fit in 256 KiB; decode: chunks of at least 4 blocks.
            int tileTokens = Math.max(1, (64 << 10) / (h * kvr));
            plan.plan(batch, tileTokens, 2 * pool.threads(), 4 * KvPool.BLOCK_TOKENS);
            rowsPerTile = tileTokens * h;
            queries = rows(queries, t, h * dk);
            latents = rows(latents, t, h * kvr);
            maxes = grow(maxes, plan.slots * rowsPerTile);
            sums = grow(sums, plan.slots * rowsPerTile);
            outs = grow(outs, plan.slots * rowsPerTile * kvr);
            if (tileOf.length < t) {
                tileOf = new int[t];
            }
            for (int k = 0; k < plan.tiles; k++) {
                for (int i = plan.tileFirst[k]; i < plan.tileEnd[k]; i++) {
                    tileOf[i] = k;
                }
            }
            try {
                if (layer.kBm instanceof PackedMatrix) {
                    products.clear();
                    for (int head = 0; head < h; head++) {
                        products.add(layer.kBm, (long) head * kvr, kvr, b.q, head * (nope + rot), t, queries, head * dk);
                    }
                    MatMul.mul(pool, products);
                } else {
                    pool.forRange(t * h, absorb);
                }
                for (int i = 0; i < t; i++) {
                    for (int head = 0; head < h; head++) {
                        System.arraycopy(b.q[i], head * (nope + rot) + nope, queries[i], head * dk + kvr, rot);
                    }
                }
                pool.forRange(plan.jobs, attend);
                pool.forRange(t * h, merge);
                if (layer.vBm instanceof PackedMatrix) {
                    products.clear();
                    for (int head = 0; head < h; head++) {
                        products.add(layer.vBm, (long) head * vh, vh, latents, head * kvr, t, b.o, head * vh);
                    }
                    MatMul.mul(pool, products);
                }
            } finally {
                this.layer = null;
                this.b = null;
                this.batch = null;
            }
        }
    }

    private static final ThreadLocal<BlockAttention.Rows> ROWS = ThreadLocal.withInitial(BlockAttention.Rows::new);

    /** At least {@code n} rows of {@code width} floats (rows kept when large enough). */
    private static float[][] rows(float[][] a, int n, int width) {
        if (a.length < n || a.length > 0 && a[0].length < width) {
            a = new float[Math.max(n, a.length)][width];
        }
        return a;
    }

    /**
     * DeepSeekMoE for a few tokens (decode, continuous batching): the chosen experts' gate and up products,
     * and the shared experts', in one dispatch, then all the down products in another, instead of three
     * dispatches per chosen expert (measured: 14 dispatches per layer and token took the worker threads' time
     * as waiting on V2-Lite). Each chosen expert is a slot with its own tokens and buffers.
     */
    private final class Experts {
        static final int MAX_TOKENS = 8;
        private final MatMul.Products upper = new MatMul.Products(32);
        private final MatMul.Products lower = new MatMul.Products(16);
        /** Per slot: its expert, its tokens (batch rows), their gate weights, inputs and buffers. */
        private int[] expert = new int[0];
        private int[] rows = new int[0];
        private int[][] tokens = new int[0][];
        private float[][] weights = new float[0][];
        private float[][][] in = new float[0][][];
        private float[][][] g = new float[0][][];
        private float[][][] u = new float[0][][];
        private float[][][] out = new float[0][][];

        void run(Layer L, Workspace ws, Buffers b, int t) {
            ModelConfig.Moe m = c.moe();
            int e = c.embeddingLength();
            int width = m.expertFeedForwardLength();
            int slots = 0;
            for (int x = 0; x < m.expertCount(); x++) {
                int n = 0;
                for (int i = 0; i < t; i++) {
                    for (int k = 0; k < b.chosen[i].length; k++) {
                        if (b.chosen[i][k] == x) {
                            if (n == 0) {
                                ensure(slots, width, e);
                            }
                            tokens[slots][n] = i;
                            weights[slots][n] = b.weights[i][k];
                            in[slots][n] = ws.hn[i];
                            n++;
                        }
                    }
                }
                if (n > 0) {
                    expert[slots] = x;
                    rows[slots] = n;
                    slots++;
                }
            }
            upper.clear();
            lower.clear();
            int shared = m.expertSharedCount() * width;
            if (L.gateShared != null) {
                upper.add(L.gateShared, 0, shared, ws.hn, 0, t, b.g, 0).add(L.upShared, 0, shared, ws.hn, 0, t, b.u, 0);
            }
            for (int s = 0; s < slots; s++) {
                long first = (long) expert[s] * width;
                upper.add(L.gateExps, first, width, in[s], 0, rows[s], g[s], 0)
                        .add(L.upExps, first, width, in[s], 0, rows[s], u[s], 0);
            }
            MatMul.mul(pool, upper);
            if (L.gateShared != null) {
                for (int i = 0; i < t; i++) {
                    VectorMath.siluMul(b.g[i], b.u[i], shared);
                }
                lower.add(L.downShared, 0, e, b.g, 0, t, ws.ffnOut, 0);
            } else {
                for (int i = 0; i < t; i++) {
                    Arrays.fill(ws.ffnOut[i], 0f);
                }
            }
            for (int s = 0; s < slots; s++) {
                for (int r = 0; r < rows[s]; r++) {
                    VectorMath.siluMul(g[s][r], u[s][r], width);
                }
                lower.add(L.downExps, (long) expert[s] * e, e, g[s], 0, rows[s], out[s], 0);
            }
            MatMul.mul(pool, lower);
            // In expert order, as the batched path sums them.
            for (int i = 0; i < t; i++) {
                Arrays.fill(b.routed[i], 0f);
            }
            for (int s = 0; s < slots; s++) {
                for (int r = 0; r < rows[s]; r++) {
                    VectorMath.axpy(weights[s][r], out[s][r], 0, b.routed[tokens[s][r]], 0, e);
                }
            }
            Blocks.addInto(ws.ffnOut, b.routed, t);
        }

        /** Makes slot {@code s} exist. */
        private void ensure(int s, int width, int e) {
            if (expert.length <= s) {
                int n = Math.max(s + 1, 2 * expert.length);
                expert = Arrays.copyOf(expert, n);
                rows = Arrays.copyOf(rows, n);
                tokens = Arrays.copyOf(tokens, n);
                weights = Arrays.copyOf(weights, n);
                in = Arrays.copyOf(in, n);
                g = Arrays.copyOf(g, n);
                u = Arrays.copyOf(u, n);
                out = Arrays.copyOf(out, n);
            }
            if (in[s] == null) {
                tokens[s] = new int[MAX_TOKENS];
                weights[s] = new float[MAX_TOKENS];
                in[s] = new float[MAX_TOKENS][];
                g[s] = new float[MAX_TOKENS][width];
                u[s] = new float[MAX_TOKENS][width];
                out[s] = new float[MAX_TOKENS][e];
            }
        }
    }

    private static float[] grow(float[] a, int n) {
        return a.length >= n ? a : new float[Math.max(n, a.length + a.length / 2)];
    }

    /** Each thread's row-limit scratch for attention jobs. */
    private static final ThreadLocal<int[]> LIMITS = ThreadLocal.withInitial(() -> new int[0]);

    private static int[] limits(int n) {
        int[] a = LIMITS.get();
        if (a.length < n) {
            a = new int[n];
            LIMITS.set(a);
        }
        return a;
    }

    private final ModelConfig c;
    private final ModelConfig.Mla mla;
    private final WorkerPool pool;
    private final AttentionForm form;
    private final Tensor tokenEmbd;
    private final float[] outputNorm;
    private final Matrix output;
    private final Layer[] layers;
    private final Rope rope;
    private final float kqScale;
    /** The absorbed form's keys: latent and rope key (576 values for V2/V3); values: the latent. */
    private final BlockAttention.Shape shape;
    /** The naive form's keys: a head's nope and rope parts (192 values); values: its v (128). */
    private final BlockAttention.Shape naiveShape;
    /** Per layer, the naive form's decompression matrix ({@link #decompression}), made on first use. */
    private final Tensor[] decompressions;
    /**
     * Prompts shorter than this take the absorbed form, the one llama.cpp computes, even where the naive one
     * is cheaper: below it attention is a small part of the work (V2-Lite: under 4 % saved), and the two
     * forms' roundings differ (see {@link #naiveCheaper}).
     */
    static final int NAIVE_MIN_TOKENS = 256;
    private final int vocab;
    private final Workspaces workspaces;

    DeepSeek2Model(ModelConfig c, Weights w, WorkerPool pool, AttentionForm form) {
        this.c = c;
        this.mla = c.mla();
        this.pool = pool;
        this.form = form;
        int e = c.embeddingLength();
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int rot = mla.qkRopeHeadDim();
        int kvr = mla.kvLoraRank();
        int vh = mla.vHeadDim();
        this.tokenEmbd = w.rows("token_embd.weight", e);
        this.vocab = Math.toIntExact(tokenEmbd.rowCount());
        this.outputNorm = w.vector("output_norm.weight", e);
        this.output = w.has("output.weight") ? w.matrix("output.weight", e, vocab) : w.packed(tokenEmbd, false);
        ModelConfig.Moe moe = c.moe();
        this.layers = new Layer[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            int qLora = mla.qLoraRank();
            boolean moeLayer = moe != null && l >= moe.leadingDenseBlockCount();
            int ff = c.feedForwardLength();
            Matrix gate = null;
            Matrix up = null;
            Matrix down = null;
            Matrix router = null;
            float[] bias = null;
            Matrix ge = null;
            Matrix ue = null;
            Matrix de = null;
            Matrix gs = null;
            Matrix us = null;
            Matrix ds = null;
            if (moeLayer) {
                int x = moe.expertCount();
                int fe = moe.expertFeedForwardLength();
                router = w.matrix(p + "ffn_gate_inp.weight", e, x);
                bias = w.optionalVector(p + "exp_probs_b.bias", x);
                ge = w.matrix(p + "ffn_gate_exps.weight", e, fe, x);
                ue = w.matrix(p + "ffn_up_exps.weight", e, fe, x);
                de = w.matrix(p + "ffn_down_exps.weight", fe, e, x);
                if (moe.expertSharedCount() > 0) {
                    int fs = fe * moe.expertSharedCount();
                    gs = w.matrix(p + "ffn_gate_shexp.weight", e, fs);
                    us = w.matrix(p + "ffn_up_shexp.weight", e, fs);
                    ds = w.matrix(p + "ffn_down_shexp.weight", fs, e);
                }
            } else {
                gate = w.matrix(p + "ffn_gate.weight", e, ff);
                up = w.matrix(p + "ffn_up.weight", e, ff);
                down = w.matrix(p + "ffn_down.weight", ff, e);
            }
            Tensor kB = mla.splitKvB() ? w.tensor(p + "attn_k_b.weight", nope, kvr, h) : null;
            Tensor vB = mla.splitKvB() ? w.tensor(p + "attn_v_b.weight", kvr, vh, h) : null;
            layers[l] = new Layer(w.vector(p + "attn_norm.weight", e),
                    qLora == 0 ? w.matrix(p + "attn_q.weight", e, (long) h * (nope + rot)) : null,
                    qLora > 0 ? w.matrix(p + "attn_q_a.weight", e, qLora) : null,
                    qLora > 0 ? w.vector(p + "attn_q_a_norm.weight", qLora) : null,
                    qLora > 0 ? w.matrix(p + "attn_q_b.weight", qLora, (long) h * (nope + rot)) : null,
                    w.matrix(p + "attn_kv_a_mqa.weight", e, kvr + rot),
                    w.vector(p + "attn_kv_a_norm.weight", kvr),
                    kB, vB, mla.splitKvB() ? null : w.tensor(p + "attn_kv_b.weight", kvr, (long) h * (nope + vh)),
                    kB != null ? w.packed(kB, false) : null, vB != null ? w.packed(vB, false) : null,
                    w.matrix(p + "attn_output.weight", (long) h * vh, e),
                    w.vector(p + "ffn_norm.weight", e), gate, up, down, router,
                    router != null ? new Router(moe, bias) : null, ge, ue, de, gs, us, ds);
        }
        double mscaleAllDim = c.ropeScaling().yarnLogMultiplier() / 0.1;
        this.rope = new Rope(rot, c.ropeFreqBase(), c.ropeScaling(), null, false, true, mscaleAllDim);
        // kq_scale = mscale² / sqrt(nope + rope), with the YaRN correction folded into mscale (§2.4).
        double attnFactorOrg = rope.attnFactor() * (1 + 0.1 * rope.logFactor());
        double mscale = attnFactorOrg * (1 + 0.1 * mscaleAllDim * rope.logFactor());
        this.kqScale = (float) (mscale * mscale / Math.sqrt(nope + rot));
        this.shape = new BlockAttention.Shape(0, kvr + rot, 0, kvr, kqScale);
        this.naiveShape = new BlockAttention.Shape(0, nope + rot, nope + rot, vh, kqScale);
        this.decompressions = new Tensor[layers.length];
        this.workspaces = new Workspaces(n -> new Workspace(n, e, vocab, new Buffers(n)));
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public int kvValuesPerToken() {
        return mla.kvLoraRank() + mla.qkRopeHeadDim();
    }

    @Override
    public float[][] forward(Batch batch, boolean allLogits) {
        Workspace ws = Blocks.begin(batch, tokenEmbd, workspaces);
        int t = ws.tokens;
        Buffers b = (Buffers) ws.extra;
        float eps = c.rmsNormEps();
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            Blocks.rmsNorm(ws.x, t, L.attnNorm, eps, ws.hn);
            attention(L, ws, b, batch, l);
            Blocks.addInto(ws.x, ws.attnOut, t);
            Blocks.rmsNorm(ws.x, t, L.ffnNorm, eps, ws.hn);
            if (L.isMoe()) {
                moe(L, l, ws, b, batch);
            } else {
                Blocks.swiglu(pool, b.products, L.gate, L.up, L.down, 0, c.feedForwardLength(), ws.hn, t, b.g, b.u, ws.ffnOut);
            }
            Blocks.addInto(ws.x, ws.ffnOut, t);
        }
        return Blocks.finish(pool, ws, batch, outputNorm, eps, output, allLogits);
    }

    /** MLA for the batch: writes the new latents into each row's cache, W_O · heads into attnOut. */
    private void attention(Layer L, Workspace ws, Buffers b, Batch batch, int l) {
        int t = ws.tokens;
        int h = c.headCount();
        int nope = mla.qkNopeHeadDim();
        int qk = nope + mla.qkRopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.wq != null) {
            MatMul.mul(pool, b.products.clear().add(L.wq, b.q).add(L.wkvA, b.kv), ws.hn, t);
        } else {
            MatMul.mul(pool, b.products.clear().add(L.wqA, b.qa).add(L.wkvA, b.kv), ws.hn, t);
            Blocks.rmsNorm(b.qa, t, L.qANorm, c.rmsNormEps(), b.qa);
            Blocks.matmul(pool, L.wqB, b.qa, t, b.q);
        }
        for (int i = 0; i < t; i++) {
            int pos = batch.position[i];
            KvLayer cache = batch.cache(i, l);
            for (int head = 0; head < h; head++) {
                rope.apply(b.q[i], head * qk + nope, pos);
            }
            rope.apply(b.kv[i], kvr, pos);
            VectorMath.rmsNorm(b.kv[i], 0, b.kv[i], 0, L.kvANorm, kvr, c.rmsNormEps());
            cache.write(pos, 0, b.kv[i], 0, b.kv[i].length);
        }
        if (form == AttentionForm.NAIVE || form == AttentionForm.CHEAPER && naiveCheaper(batch)) {
            Tensor up = decompression(l);
            for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
                b.naive.run(up, b, batch, l, row, batch.partTokens[p].length);
            }
        } else {
            b.absorbed.run(L, b, batch, l, t);
        }
        Blocks.matmul(pool, L.wo, b.o, t, ws.attnOut);
    }

    /** q_abs[c] = Σ_d W_UK[head][c][d] · q_nope[d]: the query moved into latent space (§2.3). */
    private void absorbQuery(Layer L, int head, float[] q, int qOff, float[] qAbs, int off) {
        int nope = mla.qkNopeHeadDim();
        int kvr = mla.kvLoraRank();
        if (L.kB != null) {
            MatMul.mulVector(L.kB, (long) head * kvr, kvr, q, qOff, qAbs, off);
        } else {
            MatMul.mulTransposed(L.kvB, (long) head * (nope + mla.vHeadDim()), nope, q, qOff, qAbs, off);
        }
    }

    /**
     * Whether the naive form costs fewer multiply-adds than the absorbed one for this batch (per head and
     * layer, P positions seen, t tokens, A = Σ positions each token sees): naive P·kv_lora·(nope + v) +
     * A·(nope + rope + v) against absorbed t·kv_lora·(nope + v) + A·(2·kv_lora + rope). Only for one part of
     * at least {@value #NAIVE_MIN_TOKENS} tokens: a prompt, not a decode step or a server's mixed batch.
     */
    boolean naiveCheaper(Batch batch) {
        int t = batch.rows();
        if (batch.parts.length != 1 || t < NAIVE_MIN_TOKENS) {
            return false;
        }
        long nope = mla.qkNopeHeadDim();
        long rot = mla.qkRopeHeadDim();
        long kvr = mla.kvLoraRank();
        long vh = mla.vHeadDim();
        long seen = batch.position[t - 1] + 1;
        long pairs = (long) t * (batch.position[0] + 1) + (long) t * (t - 1) / 2;
        long naive = seen * kvr * (nope + vh) + pairs * (nope + rot + vh);
        long absorbed = t * kvr * (nope + vh) + pairs * (2 * kvr + rot);
        return naive < absorbed;
    }

    /**
     * Layer l's decompression matrix for the naive form, in F32: per head, nope rows of W_UK (column d of
     * the head's stored [kv_lora × nope] block of {@code attn_k_b} is row d) then v rows of W_UV, so that
     * [k_nope ‖ v] = this · latent is one ordinary matrix product with no activation rounding (the legacy
     * {@code attn_kv_b} has this layout already; it is converted to F32 too). Made on first use:
     * h·(nope + v)·kv_lora floats a layer, 8 MiB for V2-Lite (216 MiB in all), 32 MiB for V3 (about 2 GiB).
     */
    private Tensor decompression(int l) {
        synchronized (decompressions) {
            if (decompressions[l] == null) {
                int h = c.headCount();
                int nope = mla.qkNopeHeadDim();
                int kvr = mla.kvLoraRank();
                int vh = mla.vHeadDim();
                Layer L = layers[l];
                MemorySegment data = Arena.ofAuto().allocate(4L * h * (nope + vh) * kvr, 64);
                float[] row = new float[Math.max(nope, kvr)];
                for (int head = 0; head < h; head++) {
                    long first = (long) head * (nope + vh);
                    if (L.kB != null) {
                        for (int r = 0; r < kvr; r++) {
                            L.kB.dequantizeRow((long) head * kvr + r, row);
                            for (int d = 0; d < nope; d++) {
                                data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (first + d) * kvr + r, row[d]);
                            }
                        }
                        for (int j = 0; j < vh; j++) {
                            L.vB.dequantizeRow((long) head * vh + j, row);
                            MemorySegment.copy(row, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (first + nope + j) * kvr, kvr);
                        }
                    } else {
                        for (int j = 0; j < nope + vh; j++) {
                            L.kvB.dequantizeRow(first + j, row);
                            MemorySegment.copy(row, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (first + j) * kvr, kvr);
                        }
                    }
                }
                decompressions[l] = new Tensor("blk." + l + ".attn_kv_b (F32, for the naive form)", GgmlType.F32,
                        new long[] {kvr, (long) h * (nope + vh)}, data);
            }
            return decompressions[l];
        }
    }

    /** v[d] = Σ_c W_UV[head][d][c] · latent[latentOff + c], into out[outOff..]. */
    private void valueUp(Layer L, int head, float[] latent, int latentOff, float[] out, int outOff) {
        int vh = mla.vHeadDim();
        if (L.vB != null) {
            MatMul.mulVector(L.vB, (long) head * vh, vh, latent, latentOff, out, outOff);
        } else {
            int nope = mla.qkNopeHeadDim();
            MatMul.mulVector(L.kvB, (long) head * (nope + vh) + nope, vh, latent, latentOff, out, outOff);
        }
    }

    /** DeepSeekMoE into ffnOut: routed experts (the batch's tokens grouped by expert) plus the shared experts. */
    private void moe(Layer L, int l, Workspace ws, Buffers b, Batch batch) {
        ModelConfig.Moe m = c.moe();
        int t = ws.tokens;
        int e = c.embeddingLength();
        Blocks.matmul(pool, L.router, ws.hn, t, b.routerLogits);
        int moeLayer = l - m.leadingDenseBlockCount();
        for (int i = 0; i < t; i++) {
            int[] forced = batch.parts[batch.partOf[i]].forcedExperts(batch.position[i], moeLayer);
            L.routing.route(b.routerLogits[i], forced, b.routing, b.chosen[i], b.weights[i], b.scores[i]);
        }
        for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
            batch.parts[p].addRouting(b.chosen, b.scores, row, batch.partTokens[p].length);
        }
        if (t <= Experts.MAX_TOKENS) {
            b.experts.run(L, ws, b, t);
            return;
        }
        if (L.gateShared != null) {
            Blocks.swiglu(pool, b.products, L.gateShared, L.upShared, L.downShared, 0,
                    m.expertFeedForwardLength() * m.expertSharedCount(), ws.hn, t, b.g, b.u, ws.ffnOut);
        } else {
            for (int i = 0; i < t; i++) {
                Arrays.fill(ws.ffnOut[i], 0f);
            }
        }
        for (int i = 0; i < t; i++) {
            Arrays.fill(b.routed[i], 0f);
        }
        for (int expert = 0; expert < m.expertCount(); expert++) {
            int rows = 0;
            for (int i = 0; i < t; i++) {
                for (int k = 0; k < b.chosen[i].length; k++) {
                    if (b.chosen[i][k] == expert) {
                        b.expertRows[rows] = i;
                        b.expertWeights[rows] = b.weights[i][k];
                        b.expertIn[rows] = ws.hn[i];
                        rows++;
                    }
                }
            }
            if (rows == 0) {
                continue;
            }
            Blocks.swiglu(pool, b.products, L.gateExps, L.upExps, L.downExps, expert, m.expertFeedForwardLength(), b.expertIn, rows,
                    b.g, b.u, b.expertOut);
            for (int r = 0; r < rows; r++) {
                VectorMath.axpy(b.expertWeights[r], b.expertOut[r], 0, b.routed[b.expertRows[r]], 0, e);
            }
        }
        Blocks.addInto(ws.ffnOut, b.routed, t);
    }
}
