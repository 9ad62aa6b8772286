package io.jseek.model;

import io.jseek.core.kernel.MatMul;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * MLA's naive form (docs/deepseek.md §2.2) for one sequence's tokens: the positions they see are
 * decompressed, a chunk of {@value #CHUNK} at a time, into per-head keys [W_UK·cKv ‖ kRope] and values
 * W_UV·cKv (step 6); then each head's query tiles attend over the chunk (step 7, {@link BlockAttention},
 * their softmax states carried from chunk to chunk), so memory stays O(chunk) however long the context.
 * Per (token, position, head) it costs nope + rope + v = 320 multiply-adds against the absorbed form's
 * 2·kv_lora + rope = 1,088 (V2/V3), for decompressing every seen position instead of moving each token's
 * query: cheaper for prompts, see {@link #cheaper}. One per workspace; the layer's weights come with each run.
 */
final class MlaNaive {
    /** Positions decompressed at a time. A multiple of the cache block. */
    static final int CHUNK = 256;
    /** Tokens per attention job (the rows of one head's tile). */
    static final int TILE = 64;
    /**
     * Prompts shorter than this take the absorbed form, the one llama.cpp computes, even where the naive one
     * is cheaper: below it attention is a small part of the work (V2-Lite: under 4 % saved), and the two
     * forms' roundings differ (see {@link #cheaper}).
     */
    static final int MIN_TOKENS = 256;

    private final Mla.Common k;
    /** The chunk's cached cKv and kRope, per position. */
    private float[][] cKv = new float[0][];
    private float[][] kRope = new float[0][];
    /** Per position of the chunk: [kNope ‖ v] of every head. */
    private float[][] keys = new float[0][];
    private float[] maxes = new float[0];
    private float[] sums = new float[0];
    private float[] outs = new float[0];
    private Mla.Scratch s;
    private Batch batch;
    /** The part's first row and token count, the chunk under way [p0, p0 + count), its tiles. */
    private int first;
    private int n;
    private int p0;
    private int count;
    private int tiles;

    private final WorkerPool.RangeBody attendJobs = this::attend;
    private final WorkerPool.RangeBody finishJobs = this::finish;

    MlaNaive(Mla.Common k) {
        this.k = k;
    }

    private void attend(int from, int to) {
        int nope = k.dims().qkNopeHeadDim();
        int vh = k.dims().vHeadDim();
        int[] limit = Blocks.limits(TILE);
        BlockAttention.Rows rows = Blocks.ROWS.get();
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
            source.set(keys, head * (nope + vh), kRope, p0, count, nope);
            rows.set(s.q, first + t0, tn, 1, head);
            BlockAttention.attendMore(source, p0, Math.min(p0 + count, seen), k.naive(), rows, limit, maxes, sums,
                    outs, head * n + t0);
        }
        source.set(null, 0, null, 0, 0, 0);
    }

    /** Each (token, head)'s output: its one state's weighted values divided by its sum. */
    private void finish(int from, int to) {
        int vh = k.dims().vHeadDim();
        for (int job = from; job < to; job++) {
            BlockAttention.mergeRow(job, 1, 0, vh, maxes, sums, outs, s.o[first + job % n], job / n * vh);
        }
    }

    /** Attention of part rows [first, first + n), all of one sequence, of layer l into s.o. */
    void run(Tensor up, Mla.Scratch s, Batch batch, int l, int first, int n) {
        int h = k.c().headCount();
        int nope = k.dims().qkNopeHeadDim();
        int rot = k.dims().qkRopeHeadDim();
        int kvr = k.dims().kvLoraRank();
        int vh = k.dims().vHeadDim();
        this.s = s;
        this.batch = batch;
        this.first = first;
        this.n = n;
        tiles = (n + TILE - 1) / TILE;
        cKv = Blocks.rows(cKv, CHUNK, kvr);
        kRope = Blocks.rows(kRope, CHUNK, rot);
        keys = Blocks.rows(keys, CHUNK, h * (nope + vh));
        maxes = Blocks.grow(maxes, h * n);
        sums = Blocks.grow(sums, h * n);
        outs = Blocks.grow(outs, h * n * vh);
        BlockAttention.reset(h * n, vh, maxes, sums, outs, 0);
        KvLayer cache = batch.cache(first, l);
        int seen = batch.position[first + n - 1] + 1;
        try {
            for (p0 = 0; p0 < seen; p0 += CHUNK) {
                count = Math.min(CHUNK, seen - p0);
                for (int j = 0; j < count; j++) {
                    cache.read(p0 + j, 0, cKv[j], 0, kvr);
                    cache.read(p0 + j, kvr, kRope[j], 0, rot);
                }
                MatMul.mul(k.pool(), up, 0, h * (nope + vh), cKv, 0, count, keys, 0);
                k.pool().forRange(h * tiles, attendJobs);
            }
            k.pool().forRange(h * n, finishJobs);
        } finally {
            this.s = null;
            this.batch = null;
        }
    }

    /** One chunk's decompressed keys and values for one head, as {@link BlockAttention} reads them. */
    private static final class ChunkSource implements BlockAttention.Source {
        /** Per position from {@code base}: the head's [kNope ‖ v] from {@code off}; the rope keys. */
        private float[][] up;
        private float[][] kRope;
        private int off;
        private int base;
        private int count;
        private int nope;

        void set(float[][] up, int off, float[][] kRope, int base, int count, int nope) {
            this.up = up;
            this.off = off;
            this.kRope = kRope;
            this.base = base;
            this.count = count;
            this.nope = nope;
        }

        @Override
        public void keys(int block, int dk, float[] dst) {
            int p = block * KvPool.BLOCK_TOKENS - base;
            for (int j = 0; j < KvPool.BLOCK_TOKENS && p + j < count; j++) {
                System.arraycopy(up[p + j], off, dst, j * dk, nope);
                System.arraycopy(kRope[p + j], 0, dst, j * dk + nope, dk - nope);
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
     * Whether the naive form costs fewer multiply-adds than the absorbed one for this batch (per head and
     * layer, P positions seen, t tokens, A = Σ positions each token sees): naive P·kv_lora·(nope + v) +
     * A·(nope + rope + v) against absorbed t·kv_lora·(nope + v) + A·(2·kv_lora + rope). Only for one part of
     * at least {@value #MIN_TOKENS} tokens: a prompt, not a decode step or a server's mixed batch.
     */
    static boolean cheaper(ModelConfig.Mla dims, Batch batch) {
        int t = batch.rows();
        if (batch.parts.length != 1 || t < MIN_TOKENS) {
            return false;
        }
        long nope = dims.qkNopeHeadDim();
        long rot = dims.qkRopeHeadDim();
        long kvr = dims.kvLoraRank();
        long vh = dims.vHeadDim();
        long seen = batch.position[t - 1] + 1;
        long pairs = (long) t * (batch.position[0] + 1) + (long) t * (t - 1) / 2;
        long naive = seen * kvr * (nope + vh) + pairs * (nope + rot + vh);
        long absorbed = t * kvr * (nope + vh) + pairs * (2 * kvr + rot);
        return naive < absorbed;
    }

    /**
     * The naive form's decompression matrix, in F32: per head, nope rows of W_UK (column d of the head's
     * stored [kv_lora × nope] block of {@code attn_k_b} is row d) then v rows of W_UV, so that
     * [kNope ‖ v] = this · cKv is one ordinary matrix product with no activation rounding (the legacy
     * {@code attn_kv_b} has this layout already; it is converted to F32 too). {@link Mla#decompression} keeps it:
     * h·(nope + v)·kv_lora floats, 8 MiB a layer for V2-Lite (216 MiB in all), 32 MiB for V3 (about 2 GiB).
     */
    static Tensor decompress(Mla layer) {
        Mla.Common k = layer.k;
        int h = k.c().headCount();
        int nope = k.dims().qkNopeHeadDim();
        int kvr = k.dims().kvLoraRank();
        int vh = k.dims().vHeadDim();
        MemorySegment data = Arena.ofAuto().allocate(4L * h * (nope + vh) * kvr, 64);
        float[] row = new float[Math.max(nope, kvr)];
        for (int head = 0; head < h; head++) {
            long first = (long) head * (nope + vh);
            if (layer.kB != null) {
                for (int r = 0; r < kvr; r++) {
                    layer.kB.dequantizeRow((long) head * kvr + r, row);
                    for (int d = 0; d < nope; d++) {
                        data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (first + d) * kvr + r, row[d]);
                    }
                }
                for (int j = 0; j < vh; j++) {
                    layer.vB.dequantizeRow((long) head * vh + j, row);
                    MemorySegment.copy(row, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (first + nope + j) * kvr, kvr);
                }
            } else {
                for (int j = 0; j < nope + vh; j++) {
                    layer.kvB.dequantizeRow(first + j, row);
                    MemorySegment.copy(row, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (first + j) * kvr, kvr);
                }
            }
        }
        return new Tensor("blk." + layer.layer + ".attn_kv_b (F32, for the naive form)", GgmlType.F32,
                new long[] {kvr, (long) h * (nope + vh)}, data);
    }
}
