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

    public InProcessRollouts(int threads, int parallel) {
        this.threads = threads;
        this.parallel = parallel;
    }

    @Override
    public List<List<Generation>> sample(Path policy, List<int[]> prompts, int samples, SamplerConfig sampler, long seed,
                                         int maxTokens) {
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(1);
        int context = longest + maxTokens + 1;
        try (LoadedModel m = LoadedModel.open(policy, threads);
             Scheduler s = new Scheduler(m, new Scheduler.Config(parallel, context, context * parallel, CacheType.F32,
                     1024, prompts.size() * samples))) {
            List<List<Scheduler.Handle>> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                List<Scheduler.Handle> group = new ArrayList<>();
                for (int j = 0; j < samples; j++) {
                    SamplerConfig c = new SamplerConfig(sampler.temperature(), sampler.topK(), sampler.topP(),
                            sampler.minP(), sampler.repeatPenalty(), sampler.presencePenalty(), sampler.frequencyPenalty(),
                            sampler.penaltyLastN(), seed + (long) i * samples + j, sampler.logitBias());
                    group.add(s.submit(prompts.get(i), new GenerationOptions(maxTokens, c, List.of(), false),
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
