package io.jseek.model;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.kernel.WorkerPool;
import io.jseek.core.tensor.TensorSource;
import java.nio.file.Path;

/**
 * A model's files opened, whatever their form: a GGUF file, or a Hugging Face directory ({@link HfDirectory}).
 * The one place a model path is opened: its config, its weights by GGUF names, its tokenizer keys (GGUF's,
 * or those of tokenizer.json), held open until {@link #close}.
 */
public final class ModelFiles implements AutoCloseable {
    private final Path path;
    private final GgufFile gguf;
    private final HfDirectory hf;
    private final ModelConfig config;
    private final GgufMetadata tokenizerKeys;

    private ModelFiles(Path path, GgufFile gguf, HfDirectory hf, ModelConfig config, GgufMetadata tokenizerKeys) {
        this.path = path;
        this.gguf = gguf;
        this.hf = hf;
        this.config = config;
        this.tokenizerKeys = tokenizerKeys;
    }

    /** Opens a GGUF file or, for a directory with a config.json, a Hugging Face model directory. */
    public static ModelFiles open(Path path) {
        if (HfDirectory.isHfDirectory(path)) {
            HfDirectory dir = HfDirectory.open(path);
            try {
                return new ModelFiles(path, null, dir, dir.config(), HfTokenizer.metadata(path));
            } catch (RuntimeException e) {
                dir.close();
                throw e;
            }
        }
        GgufFile file = GgufFile.open(path);
        try {
            ModelConfig config = ModelConfig.fromGguf(file.metadata());
            Model.checkBlockCount(config, file);  // before anything (the KV plan, the layers) is sized by it
            return new ModelFiles(path, file, null, config, file.metadata());
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * Only the tokenizer keys of a GGUF file or a Hugging Face directory (whose config.json and tokenizer files
     * suffice: no weights are opened).
     */
    public static GgufMetadata tokenizerKeys(Path path) {
        if (HfDirectory.isHfDirectory(path)) {
            return HfTokenizer.metadata(path);
        }
        try (GgufFile file = GgufFile.open(path)) {
            return file.metadata();
        }
    }

    public Path path() {
        return path;
    }

    public ModelConfig config() {
        return config;
    }

    /** The tokenizer's keys ({@code tokenizer.ggml.*}, {@code tokenizer.chat_template}). */
    public GgufMetadata tokenizerKeys() {
        return tokenizerKeys;
    }

    /** The sampling the model's files recommend (generation_config.json, or a GGUF's general.sampling.* keys). */
    public SamplingDefaults samplingDefaults() {
        return gguf != null ? SamplingDefaults.fromGguf(gguf.metadata()) : SamplingDefaults.fromDirectory(path);
    }

    /** The weights, by GGUF names. */
    public TensorSource tensors() {
        return gguf != null ? gguf : hf;
    }

    /** Bytes on disk: the GGUF file's (all shards), or the directory's safetensors files'. */
    public long byteSize() {
        return gguf != null ? gguf.fileSize() : hf.byteSize();
    }

    /** The GGUF file, or null for a directory. */
    public GgufFile gguf() {
        return gguf;
    }

    /** The Hugging Face directory, or null for a GGUF file. */
    public HfDirectory directory() {
        return hf;
    }

    /** The forward pass over these weights (a GGUF's matrices packed as the configured policy says). */
    public Model load(WorkerPool pool) {
        return gguf != null ? Model.load(gguf, pool) : Model.load(config, hf, pool, true);
    }

    /**
     * Binds every tensor as a forward pass would, without packing or computing: each present with the shape the
     * architecture needs, none unknown, 1-D ones F32 — what {@code jseek info} checks. A GGUF file only (a Hugging Face
     * directory's weights are converted as they load).
     */
    public void checkTensors() {
        if (gguf != null) {
            try (io.jseek.core.kernel.WorkerPool pool = new io.jseek.core.kernel.WorkerPool(1)) {
                Model.load(config, gguf, pool, false);
            }
        }
    }

    @Override
    public void close() {
        if (gguf != null) {
            gguf.close();
        } else {
            hf.close();
        }
    }
}
