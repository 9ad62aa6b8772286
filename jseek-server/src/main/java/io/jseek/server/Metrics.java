package io.jseek.server;

import io.jseek.engine.Scheduler;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The server's metrics on the Prometheus Java client (names after vLLM's, prefixed jseek_): request counts, tokens,
 * latency histograms, the scheduler's state and the transport's connections, scraped from {@code /metrics}.
 */
final class Metrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter requests = Counter.builder().name("jseek_requests_total")
            .help("HTTP requests by endpoint and status.").labelNames("endpoint", "status").register(registry);
    final Counter promptTokens = counter("jseek_prompt_tokens_total", "Prompt tokens of finished requests.");
    final Counter generationTokens = counter("jseek_generation_tokens_total", "Generated tokens of finished requests.");
    final Counter cancelled = counter("jseek_requests_cancelled_total", "Requests stopped because the client went away.");
    final Counter rejected = counter("jseek_requests_rejected_total",
            "Requests refused with 503 because the queue was full.");
    final Histogram ttft = histogram("jseek_time_to_first_token_seconds", "Time from request to first generated text.",
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30);
    final Histogram interToken = histogram("jseek_inter_token_latency_seconds",
            "Mean time between generated tokens, one observation per request.",
            0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1);
    final Histogram e2e = histogram("jseek_e2e_request_latency_seconds", "Time from request to its last byte.",
            0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120);
    private final Supplier<Scheduler> scheduler;
    /** The scheduler's numbers, taken once per scrape. */
    private volatile Scheduler.Stats stats;

    /**
     * @param scheduler the scheduler being served, or null while the model loads
     * @param transport the connections' numbers: open, refused, timed out
     */
    Metrics(Supplier<Scheduler> scheduler, Supplier<HttpTransport.Stats> transport) {
        schedulerGauge("jseek_num_requests_running", "Sequences in the running batch.", Scheduler.Stats::running);
        schedulerGauge("jseek_num_requests_waiting", "Requests queued for a slot.", Scheduler.Stats::waiting);
        schedulerGauge("jseek_kv_blocks_used", "KV cache blocks in use (sequences and prefix cache).", Scheduler.Stats::kvBlocksUsed);
        schedulerGauge("jseek_kv_blocks_free", "KV cache blocks free.", s -> s.kvBlocksTotal() - s.kvBlocksUsed());
        schedulerGauge("jseek_prefix_cache_blocks", "KV blocks kept by the prefix cache.", Scheduler.Stats::prefixCacheBlocks);
        schedulerCounter("jseek_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.", Scheduler.Stats::prefixQueryTokens);
        schedulerCounter("jseek_prefix_cache_hits_total", "Prompt tokens found in the prefix cache.", Scheduler.Stats::prefixHitTokens);
        schedulerCounter("jseek_engine_steps_total", "Batched forward passes.", Scheduler.Stats::steps);
        schedulerCounter("jseek_spec_decode_num_draft_tokens_total", "Tokens proposed by speculative decoding (serve --spec).",
                Scheduler.Stats::draftedTokens);
        schedulerCounter("jseek_spec_decode_num_accepted_tokens_total",
                "Proposed tokens the model kept (each a token without a forward pass of its own).", Scheduler.Stats::acceptedTokens);
        GaugeWithCallback.builder().name("jseek_http_connections").help("Open HTTP connections.")
                .callback(cb -> cb.call(transport.get().open())).register(registry);
        CounterWithCallback.builder().name("jseek_http_connections_refused_total")
                .help("Connections closed at once because the connection limit was reached (or evicted to make room).")
                .callback(cb -> cb.call(transport.get().refused())).register(registry);
        CounterWithCallback.builder().name("jseek_http_connections_timed_out_total")
                .help("Connections closed because no complete request head arrived within the header timeout.")
                .callback(cb -> cb.call(transport.get().timedOut())).register(registry);
        this.scheduler = scheduler;
    }

    void request(String endpoint, int status) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
    }

    /** The Prometheus text format's content type. */
    String contentType() {
        return writer.getContentType();
    }

    /** Every metric in the Prometheus text format. */
    byte[] render() {
        Scheduler s = scheduler.get();
        stats = s == null ? null : s.stats();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, registry.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private Counter counter(String name, String help) {
        return Counter.builder().name(name).help(help).register(registry);
    }

    private Histogram histogram(String name, String help, double... bounds) {
        return Histogram.builder().name(name).help(help).classicOnly().classicUpperBounds(bounds).register(registry);
    }

    private void schedulerGauge(String name, String help, ToLongFunction<Scheduler.Stats> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> {
            Scheduler.Stats s = stats;
            if (s != null) {
                cb.call(value.applyAsLong(s));
            }
        }).register(registry);
    }

    private void schedulerCounter(String name, String help, ToLongFunction<Scheduler.Stats> value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> {
            Scheduler.Stats s = stats;
            if (s != null) {
                cb.call(value.applyAsLong(s));
            }
        }).register(registry);
    }
}
