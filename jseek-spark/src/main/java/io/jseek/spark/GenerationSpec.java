package io.jseek.spark;

import io.jseek.core.JseekException;
import java.io.Serializable;

/**
 * What {@link JseekGeneration#generate} runs: the model every executor loads (a path each can read), where the
 * prompts are, how to sample, and how much each executor JVM runs at once. Immutable and serializable (it travels to
 * the executors); build it with {@link #of} and the {@code with...} methods.
 *
 * @param modelPath      a GGUF file every executor can read at this path (a shared file system, or shipped with
 *                       {@code spark-submit --files} and named by its file name: then {@code SparkFiles.get} finds it)
 * @param promptColumn   a string column: a user message (chat) or the raw text to continue ({@link #chat} false)
 * @param seedColumn     an integer column with each row's sampling seed, or null: then a row's seed is
 *                       {@code seed} mixed with a hash of its prompt, so the same prompt gets the same sample
 * @param chat           prompts are user messages rendered with the model's chat template (else raw text)
 * @param maxTokens      most tokens generated per row
 * @param temperature    0: greedy
 * @param topP           nucleus sampling (1: off)
 * @param topK           top-k sampling (0: off)
 * @param seed           the job's seed (see {@code seedColumn})
 * @param parallel       rows generated at once per executor JVM (its scheduler's slots)
 * @param contextLength  most positions a row may use, prompt and answer (0: the model's, capped at 4,096)
 * @param threads        compute threads per executor JVM (0: its cores)
 * @param batchInvariant a row's arithmetic does not depend on what it is batched with, so results are the same
 *                       bits however rows are partitioned and batched (on by default; off is faster)
 */
public record GenerationSpec(String modelPath, String promptColumn, String seedColumn, boolean chat, int maxTokens,
                             float temperature, float topP, int topK, long seed, int parallel, int contextLength,
                             int threads, boolean batchInvariant) implements Serializable {
    public GenerationSpec {
        if (modelPath == null || modelPath.isBlank()) {
            throw new JseekException("a model path is required");
        }
        if (promptColumn == null || promptColumn.isBlank()) {
            throw new JseekException("a prompt column is required");
        }
        if (maxTokens < 1 || parallel < 1 || contextLength < 0 || threads < 0 || topK < 0 || !(temperature >= 0)
                || !(topP > 0 && topP <= 1)) {
            throw new JseekException("bad generation settings: max tokens " + maxTokens + ", parallel " + parallel
                    + ", context " + contextLength + ", threads " + threads + ", temperature " + temperature
                    + ", top-p " + topP + ", top-k " + topK);
        }
    }

    /** Chat prompts from column {@code prompt}, 256 tokens, DeepSeek's sampling defaults (0.6, top-p 0.95), seed 0. */
    public static GenerationSpec of(String modelPath) {
        return new GenerationSpec(modelPath, "prompt", null, true, 256, 0.6f, 0.95f, 0, 0, 8, 0, 0, true);
    }

    public GenerationSpec withPromptColumn(String column, boolean chat) {
        return new GenerationSpec(modelPath, column, seedColumn, chat, maxTokens, temperature, topP, topK, seed, parallel,
                contextLength, threads, batchInvariant);
    }

    public GenerationSpec withSeedColumn(String column) {
        return new GenerationSpec(modelPath, promptColumn, column, chat, maxTokens, temperature, topP, topK, seed, parallel,
                contextLength, threads, batchInvariant);
    }

    public GenerationSpec withSampling(int maxTokens, float temperature, float topP, int topK, long seed) {
        return new GenerationSpec(modelPath, promptColumn, seedColumn, chat, maxTokens, temperature, topP, topK, seed,
                parallel, contextLength, threads, batchInvariant);
    }

    public GenerationSpec withExecutor(int parallel, int contextLength, int threads, boolean batchInvariant) {
        return new GenerationSpec(modelPath, promptColumn, seedColumn, chat, maxTokens, temperature, topP, topK, seed,
                parallel, contextLength, threads, batchInvariant);
    }
}
