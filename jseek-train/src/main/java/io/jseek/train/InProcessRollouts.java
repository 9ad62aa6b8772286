package io.jseek.train;

import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Scheduler;
import io.jseek.model.CacheType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Rollouts with jseek's own inference engine in this process: the policy is loaded from its GGUF and all
 * completions run through one continuous-batching scheduler, so every step of the batch streams the
 * weights once for all sequences.
 */
public final class InProcessRollouts implements RolloutExecutor {
    private final int threads;
    private final int parallel;
    private final boolean batchInvariant;

    public InProcessRollouts(int threads, int parallel) {
        this(threads, parallel, false);
    }

    /**
     * @param batchInvariant each completion computed as it would be alone ({@link Scheduler.Config#batchInvariant}):
     *                       the samples then do not depend on how completions are batched, here or on a cluster
     */
    public InProcessRollouts(int threads, int parallel, boolean batchInvariant) {
        this.threads = threads;
        this.parallel = parallel;
        this.batchInvariant = batchInvariant;
    }

    /** The scheduler settings for rollouts of prompts up to {@code longest} tokens (one place for every executor). */
    public static Scheduler.Config config(int parallel, int longest, int maxTokens, int requests, boolean batchInvariant) {
        int context = longest + maxTokens + 1;
        // Whole blocks for every slot: context × parallel alone rounded each sequence's last block away, and the
        // youngest sequence then ended early for want of KV memory (a shorter rollout than its seed gives).
        int kv = io.jseek.model.KvPool.blocksFor(context) * io.jseek.model.KvPool.BLOCK_TOKENS * parallel;
        return new Scheduler.Config(parallel, context, kv, CacheType.F32, 1024, requests, batchInvariant);
    }

    /** The options of sample {@code j} of prompt {@code i}: the interface's seeding, {@code seed + i·samples + j}. */
    public static GenerationOptions options(SamplerConfig sampler, long seed, int i, int samples, int j, int maxTokens) {
        return new GenerationOptions(maxTokens, sampler.withSeed(seed + (long) i * samples + j), List.of(), false);
    }

    @Override
    public List<List<Generation>> sample(Path policy, List<int[]> prompts, int samples, SamplerConfig sampler, long seed,
                                         int maxTokens) {
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(1);
        try (LoadedModel m = LoadedModel.open(policy, threads);
             Scheduler s = new Scheduler(m, config(parallel, longest, maxTokens, prompts.size() * samples,
                     batchInvariant))) {
            List<List<Scheduler.Handle>> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                List<Scheduler.Handle> group = new ArrayList<>();
                for (int j = 0; j < samples; j++) {
                    group.add(s.submit(prompts.get(i), options(sampler, seed, i, samples, j, maxTokens),
                            new GenerationListener() { }));
                }
                handles.add(group);
            }
            List<List<Generation>> out = new ArrayList<>();
            for (List<Scheduler.Handle> group : handles) {
                List<Generation> g = new ArrayList<>();
                for (Scheduler.Handle h : group) {
                    g.add(h.result().get());
                }
                out.add(g);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("rollouts interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a rollout failed: " + e.getCause().getMessage(), e.getCause());
        }
    }
}
