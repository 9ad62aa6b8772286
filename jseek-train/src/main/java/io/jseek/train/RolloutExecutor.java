package io.jseek.train;

import io.jseek.engine.Generation;
import io.jseek.engine.SamplerConfig;
import java.nio.file.Path;
import java.util.List;

/**
 * Samples completions from a policy given as a GGUF file: the seam between the trainer and whatever runs
 * the rollouts (in this process by default; a cluster implementation can sit behind the same interface).
 */
public interface RolloutExecutor extends AutoCloseable {
    /**
     * {@code samples} completions of every prompt (token ids, BOS included), at most {@code maxTokens}
     * each; result [prompt][sample]. Sample j of prompt i is seeded with {@code seed + i·samples + j}.
     */
    List<List<Generation>> sample(Path policy, List<int[]> prompts, int samples, SamplerConfig sampler, long seed,
                                  int maxTokens);

    @Override
    default void close() {
    }
}
