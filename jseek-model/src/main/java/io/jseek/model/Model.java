package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.kernel.WorkerPool;

/**
 * A loaded model: weights bound to one architecture's forward pass. Stateless between calls; the KV
 * cache lives in a {@link Session}. The GGUF file must stay open while the model is used.
 */
public sealed interface Model permits DenseModel, DeepSeek2Model, DeepSeek4Model {

    ModelConfig config();

    /** The model's multi-token-prediction block ({@link ModelConfig#nextnLayers}), or null when it has none. */
    default MtpHead mtp() {
        return null;
    }

    /** A new, empty sequence with room for {@code contextLength} positions, its cache taken from {@code pool}. */
    default Session newSession(int contextLength, KvPool pool) {
        return new Session(config().cacheWidths(), contextLength, pool);
    }

    /** A new, empty sequence with room for {@code contextLength} positions, cached as {@code cacheType}. */
    default Session newSession(int contextLength, CacheType cacheType) {
        return newSession(contextLength, new KvPool(this, cacheType, 0));
    }

    /** A new, empty sequence with an F32 cache. */
    default Session newSession(int contextLength) {
        return newSession(contextLength, CacheType.F32);
    }

    /**
     * Feeds {@code tokens} at the session's next positions (all at once, as one batch) and returns the
     * logits after each of them ({@code [tokens.length][vocab]}), or only after the last one when
     * {@code allLogits} is false ({@code [1][vocab]}). In that case the returned array is reused: a
     * single token's belongs to the session, a short prompt's to the model and this thread, and later calls
     * overwrite it. So a single-token step allocates nothing.
     */
    default float[][] forward(Session session, int[] tokens, boolean allLogits) {
        return forward(Batch.of(session, tokens), allLogits);
    }

    /**
     * One forward pass over several sequences at once (continuous batching): each part's tokens are fed at
     * its session's next positions; the weights are streamed once for all of them. Returns the logits after
     * every token ({@code allLogits}) or after the rows each part asks for, in order (its last token unless
     * {@link Batch.Builder#add(Session, int[], int)} asked for more; for small batches the array belongs to the model
     * and this thread, and the next call on the thread overwrites it).
     */
    float[][] forward(Batch batch, boolean allLogits);

    /**
     * Binds the weights of {@code file} to its architecture, checking every tensor's presence and shape, and
     * packs the 4- to 6-bit matrices for the integer kernels (a copy in memory the file owns) as the
     * {@link Packing#configured() configured policy} says: by default when the file fits well in memory.
     */
    static Model load(GgufFile file, WorkerPool pool) {
        return load(file, pool, Packing.configured().packs(file.fileSize(), Packing.physicalMemory()));
    }

    /** As {@link #load(GgufFile, WorkerPool)}; {@code pack} false keeps every weight as stored (half the memory, slower). */
    static Model load(GgufFile file, WorkerPool pool, boolean pack) {
        return load(ModelConfig.fromGguf(file.metadata()), file, pool, pack);
    }

    /**
     * The model of {@code config} with its weights from {@code source} (GGUF names), every tensor's presence
     * and shape checked; packed as {@code pack} says.
     */
    static Model load(ModelConfig config, io.jseek.core.tensor.TensorSource source, WorkerPool pool, boolean pack) {
        checkBlockCount(config, source);
        if (source instanceof io.jseek.core.gguf.GgufFile gguf) {
            UsedTensors used = new UsedTensors(gguf);
            Model m = config.architecture().create(config, new Weights(used, pool, pack), pool);
            used.requireAllUsed();
            return m;
        }
        return config.architecture().create(config, new Weights(source, pool, pack), pool);
    }

    /**
     * The declared block count against the tensor table, before anything is sized by it: its last block must exist
     * (a flipped bit in block_count would otherwise size per-layer arrays of billions, or fail only after allocating).
     */
    static void checkBlockCount(ModelConfig config, io.jseek.core.tensor.TensorSource source) {
        int n = config.blockCount();
        if (!source.hasTensor("blk." + (n - 1) + ".attn_norm.weight")) {
            int present = 0;
            while (present < 100_000 && source.hasTensor("blk." + present + ".attn_norm.weight")) {
                present++;
            }
            throw new JseekException("the model declares " + n + " blocks (block_count) but has tensors for " + present);
        }
    }

    /** Checks token ids before they reach an embedding lookup. */
    static void checkTokens(int[] tokens, int vocab) {
        for (int t : tokens) {
            if (t < 0 || t >= vocab) {
                throw new JseekException("token id " + t + " is out of range (vocabulary has " + vocab + " tokens)");
            }
        }
    }
}
