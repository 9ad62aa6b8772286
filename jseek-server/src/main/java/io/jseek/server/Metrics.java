package io.jseek.server;

import io.jseek.engine.Scheduler;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;

/** Counters and latency histograms, written in the Prometheus text format (names after vLLM's, prefixed jseek_). */
final class Metrics {
    private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
    final AtomicLong promptTokens = new AtomicLong();
    final AtomicLong generationTokens = new AtomicLong();
    final AtomicLong cancelled = new AtomicLong();
    final Histogram ttft = new Histogram("jseek_time_to_first_token_seconds", "Time from request to first generated text.",
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30);
    final Histogram interToken = new Histogram("jseek_inter_token_latency_seconds",
            "Mean time between generated tokens, one observation per request.",
            0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1);
    final Histogram e2e = new Histogram("jseek_e2e_request_latency_seconds", "Time from request to its last byte.",
            0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120);

    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new AtomicLong()).incrementAndGet();
    }

    String render(Scheduler.Stats s) {
        StringBuilder b = new StringBuilder();
        b.append("# HELP jseek_requests_total HTTP requests by endpoint and status.\n# TYPE jseek_requests_total counter\n");
        new TreeMap<>(requests).forEach((k, v) -> {
            String[] p = k.split("\u0000");
            b.append("jseek_requests_total{endpoint=\"").append(p[0]).append("\",status=\"").append(p[1]).append("\"} ")
                    .append(v.get()).append('\n');
        });
        counter(b, "jseek_prompt_tokens_total", "Prompt tokens of finished requests.", promptTokens.get());
        counter(b, "jseek_generation_tokens_total", "Generated tokens of finished requests.", generationTokens.get());
        counter(b, "jseek_requests_cancelled_total", "Requests stopped because the client went away.", cancelled.get());
        if (s != null) {
            gauge(b, "jseek_num_requests_running", "Sequences in the running batch.", s.running());
            gauge(b, "jseek_num_requests_waiting", "Requests queued for a slot.", s.waiting());
            gauge(b, "jseek_kv_blocks_used", "KV cache blocks in use (sequences and prefix cache).", s.kvBlocksUsed());
            gauge(b, "jseek_kv_blocks_free", "KV cache blocks free.", s.kvBlocksTotal() - s.kvBlocksUsed());
            gauge(b, "jseek_prefix_cache_blocks", "KV blocks kept by the prefix cache.", s.prefixCacheBlocks());
            counter(b, "jseek_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.", s.prefixQueryTokens());
            counter(b, "jseek_prefix_cache_hits_total", "Prompt tokens found in the prefix cache.", s.prefixHitTokens());
            counter(b, "jseek_engine_steps_total", "Batched forward passes.", s.steps());
        }
        ttft.render(b);
        interToken.render(b);
        e2e.render(b);
        return b.toString();
    }

    private static void counter(StringBuilder b, String name, String help, long v) {
        b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, long v) {
        b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(v).append('\n');
    }

    static final class Histogram {
        private final String name;
        private final String help;
        private final double[] bounds;
        private final AtomicLongArray counts;
        private final DoubleAdder sum = new DoubleAdder();
        private final AtomicLong count = new AtomicLong();

        Histogram(String name, String help, double... bounds) {
            this.name = name;
            this.help = help;
            this.bounds = bounds;
            this.counts = new AtomicLongArray(bounds.length);
        }

        void observe(double seconds) {
            for (int i = 0; i < bounds.length; i++) {
                if (seconds <= bounds[i]) {
                    counts.incrementAndGet(i);
                }
            }
            sum.add(seconds);
            count.incrementAndGet();
        }

        void render(StringBuilder b) {
            b.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" histogram\n");
            for (int i = 0; i < bounds.length; i++) {
                b.append(name).append("_bucket{le=\"").append(bounds[i]).append("\"} ").append(counts.get(i)).append('\n');
            }
            b.append(name).append("_bucket{le=\"+Inf\"} ").append(count.get()).append('\n');
            b.append(name).append("_sum ").append(String.format(Locale.ROOT, "%.6f", sum.sum())).append('\n');
            b.append(name).append("_count ").append(count.get()).append('\n');
        }
    }
}
