package io.jseek.spark;

import io.jseek.core.JseekException;
import io.jseek.engine.ChatMessage;
import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.GenerationOptions;
import io.jseek.engine.LoadedModel;
import io.jseek.engine.SamplerConfig;
import io.jseek.engine.Scheduler;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.LongAccumulator;

/** One partition's rows through the executor's scheduler: each row and its answer, in the partition's order. */
final class GeneratePartition implements MapPartitionsFunction<Row, Row> {
    private final GenerationSpec spec;
    private final int promptIndex;
    private final int seedIndex;
    private final LongAccumulator tokens;
    private final LongAccumulator rows;
    private final LongAccumulator millis;

    GeneratePartition(GenerationSpec spec, int promptIndex, int seedIndex, LongAccumulator tokens, LongAccumulator rows,
                      LongAccumulator millis) {
        this.spec = spec;
        this.promptIndex = promptIndex;
        this.seedIndex = seedIndex;
        this.tokens = tokens;
        this.rows = rows;
        this.millis = millis;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) throws Exception {
        ExecutorEngine.Engine engine = ExecutorEngine.get(spec);
        long t0 = System.nanoTime();
        List<Row> in = new ArrayList<>();
        List<Scheduler.Handle> handles = new ArrayList<>();
        ArrayDeque<Scheduler.Handle> pending = new ArrayDeque<>();
        while (input.hasNext()) {
            Row row = input.next();
            in.add(row);
            Job job = job(engine.model(), row);
            while (true) {
                try {
                    Scheduler.Handle h = engine.scheduler().submit(job.prompt(), job.options(), new GenerationListener() {
                    });
                    handles.add(h);
                    pending.add(h);
                    break;
                } catch (Scheduler.QueueFullException e) {
                    // Wait for the oldest of ours; other partitions in this JVM share the queue.
                    Scheduler.Handle oldest = pending.poll();
                    if (oldest == null) {
                        Thread.sleep(10);
                    } else {
                        oldest.result().get();
                    }
                }
            }
        }
        List<Row> out = new ArrayList<>(in.size());
        for (int i = 0; i < in.size(); i++) {
            Generation g;
            try {
                g = handles.get(i).result().get();
            } catch (ExecutionException e) {
                throw new JseekException("generation failed for a row: " + e.getCause(), e.getCause());
            }
            Object[] values = new Object[in.get(i).size() + 5];
            for (int k = 0; k < in.get(i).size(); k++) {
                values[k] = in.get(i).get(k);
            }
            int n = in.get(i).size();
            values[n] = g.content();
            values[n + 1] = g.reasoning();
            values[n + 2] = finishReason(g.stopReason());
            values[n + 3] = g.promptTokens();
            values[n + 4] = g.generatedTokens();
            tokens.add(g.generatedTokens());
            rows.add(1);
            out.add(RowFactory.create(values));
        }
        millis.add((System.nanoTime() - t0) / 1_000_000);
        return out.iterator();
    }

    /** A row's prompt tokens and generation options. */
    record Job(int[] prompt, GenerationOptions options) {
    }

    Job job(LoadedModel model, Row row) {
        if (row.isNullAt(promptIndex)) {
            throw new JseekException("a row's " + spec.promptColumn() + " is null");
        }
        String prompt = row.getString(promptIndex);
        long seed = seedIndex >= 0 && !row.isNullAt(seedIndex) ? ((Number) row.get(seedIndex)).longValue()
                : spec.seed() * 0x9E3779B97F4A7C15L + prompt.hashCode();
        return job(model, spec, prompt, seed);
    }

    /** The prompt and options for one row: what the in-process engine gets for the same text and seed. */
    static Job job(LoadedModel model, GenerationSpec spec, String prompt, long seed) {
        SamplerConfig sampler = spec.temperature() == 0 ? SamplerConfig.greedy()
                : new SamplerConfig(spec.temperature(), spec.topK(), spec.topP(), 0, 1, 0, 0, 64, seed);
        if (spec.chat()) {
            LoadedModel.ChatPrompt p = model.chatPrompt(List.of(ChatMessage.user(prompt)), "");
            return new Job(p.tokens(), new GenerationOptions(spec.maxTokens(), sampler, List.of(), p.startsReasoning()));
        }
        return new Job(model.tokenizer().encode(prompt, true, false),
                new GenerationOptions(spec.maxTokens(), sampler, List.of(), false));
    }

    static String finishReason(Generation.StopReason r) {
        return switch (r) {
            case END_OF_GENERATION, STOP_STRING -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case NO_MEMORY -> "insufficient_system_resource";
            case CANCELLED -> "cancelled";
        };
    }
}
