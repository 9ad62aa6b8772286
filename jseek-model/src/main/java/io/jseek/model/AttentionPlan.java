package io.jseek.model;

/**
 * How one layer's attention over a batch is cut into jobs for the worker pool. Each sequence's tokens are
 * taken in tiles of up to {@code tileTokens} consecutive tokens (their queries share every key/value block,
 * see {@link BlockAttention}); when there are fewer tiles than jobs wanted, each tile's positions are cut
 * into chunks of whole cache blocks (flash-decoding: a long context is read by every thread, each its own
 * part), whose partial states are merged afterwards. Reused call after call; allocates only when a batch is
 * larger than any before.
 */
final class AttentionPlan {
    /** Tiles: batch rows [first, end), the positions they see [0, length), their first state slot and chunk count. */
    int tiles;
    int[] tileFirst = new int[0];
    int[] tileEnd = new int[0];
    int[] tileLength = new int[0];
    int[] tileSlot = new int[0];
    int[] tileChunks = new int[0];
    /** Jobs: a tile, a position range [from, to), the state slot it fills. */
    int jobs;
    int[] jobTile = new int[0];
    int[] jobFrom = new int[0];
    int[] jobTo = new int[0];
    int[] jobSlot = new int[0];
    /** State slots in all. */
    int slots;

    /**
     * Plans {@code batch}: tiles of at most {@code tileTokens} tokens, and at least about {@code wanted} jobs
     * where the positions allow (chunks of at least {@code minChunk} positions).
     */
    void plan(Batch batch, int tileTokens, int wanted, int minChunk) {
        tiles = 0;
        for (int p = 0, row = 0; p < batch.parts.length; row += batch.partTokens[p].length, p++) {
            for (int t = 0; t < batch.partTokens[p].length; t += tileTokens) {
                ensureTiles(tiles + 1);
                tileFirst[tiles] = row + t;
                tileEnd[tiles] = row + Math.min(batch.partTokens[p].length, t + tileTokens);
                tileLength[tiles] = batch.position[tileEnd[tiles] - 1] + 1;
                tiles++;
            }
        }
        int chunksWanted = Math.max(1, (wanted + tiles - 1) / tiles);
        // Batch-invariant: a tile's split (and so the order its partial softmaxes merge in) may depend on its own
        // length only, never on the other tiles or the threads: one chunk per 1,024 positions.
        boolean invariant = io.jseek.core.kernel.MatMul.batchInvariant();
        jobs = 0;
        slots = 0;
        for (int k = 0; k < tiles; k++) {
            int blocks = KvPool.blocksFor(tileLength[k]);
            int chunks = invariant ? Math.ceilDiv(tileLength[k], 1024)
                    : Math.max(1, Math.min(chunksWanted, tileLength[k] / Math.max(1, minChunk)));
            chunks = Math.min(chunks, blocks);
            tileSlot[k] = slots;
            tileChunks[k] = chunks;
            ensureJobs(jobs + chunks);
            for (int c = 0; c < chunks; c++) {
                jobTile[jobs] = k;
                jobFrom[jobs] = (int) ((long) blocks * c / chunks) * KvPool.BLOCK_TOKENS;
                jobTo[jobs] = Math.min(tileLength[k], (int) ((long) blocks * (c + 1) / chunks) * KvPool.BLOCK_TOKENS);
                jobSlot[jobs] = slots + c;
                jobs++;
            }
            slots += chunks;
        }
    }

    private void ensureTiles(int n) {
        if (tileFirst.length < n) {
            int m = Math.max(n, 2 * tileFirst.length);
            tileFirst = java.util.Arrays.copyOf(tileFirst, m);
            tileEnd = java.util.Arrays.copyOf(tileEnd, m);
            tileLength = java.util.Arrays.copyOf(tileLength, m);
            tileSlot = java.util.Arrays.copyOf(tileSlot, m);
            tileChunks = java.util.Arrays.copyOf(tileChunks, m);
        }
    }

    private void ensureJobs(int n) {
        if (jobTile.length < n) {
            int m = Math.max(n, 2 * jobTile.length);
            jobTile = java.util.Arrays.copyOf(jobTile, m);
            jobFrom = java.util.Arrays.copyOf(jobFrom, m);
            jobTo = java.util.Arrays.copyOf(jobTo, m);
            jobSlot = java.util.Arrays.copyOf(jobSlot, m);
        }
    }
}
