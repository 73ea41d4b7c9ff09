package dev.kindling.server;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The server's counters, gauges and histograms, written in the Prometheus text exposition format (version 0.0.4).
 * Label values come from fixed sets (route names, status codes, batch kinds), never from request input.
 */
final class Metrics {
    static final double[] LATENCY_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256};

    /** A cumulative histogram: counts per upper bound, a sum and a count. */
    static final class Histogram {
        final double[] bounds;
        final LongAdder[] counts;
        final DoubleAdder sum = new DoubleAdder();
        final LongAdder count = new LongAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            counts = new LongAdder[bounds.length];
            for (int i = 0; i < bounds.length; i++) counts[i] = new LongAdder();
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) if (v <= bounds[i]) counts[i].increment();
            sum.add(v);
            count.increment();
        }
    }

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();       // "route|status"
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();        // route
    private final Map<String, Histogram> batchSizes = new ConcurrentHashMap<>();     // kind
    private final Map<String, LongAdder> finished = new ConcurrentHashMap<>();       // reason
    private final Map<String, LongSupplier> queueDepth = new ConcurrentHashMap<>();  // kind
    final LongAdder generatedTokens = new LongAdder();
    final LongAdder embeddedTexts = new LongAdder();
    final AtomicLong activeSequences = new AtomicLong();
    private final TokenRate tokenRate = new TokenRate();

    void request(String route, int status, double seconds) {
        requests.computeIfAbsent(route + "|" + status, k -> new LongAdder()).increment();
        latency.computeIfAbsent(route, k -> new Histogram(LATENCY_BUCKETS)).observe(seconds);
    }

    void batch(String kind, int size) {
        batchSizes.computeIfAbsent(kind, k -> new Histogram(BATCH_BUCKETS)).observe(size);
    }

    void finished(String reason) {
        finished.computeIfAbsent(reason, k -> new LongAdder()).increment();
    }

    long finishedCount(String reason) {
        LongAdder a = finished.get(reason);
        return a == null ? 0 : a.sum();
    }

    void tokens(int n) {
        generatedTokens.add(n);
        tokenRate.add(n);
    }

    void queue(String kind, LongSupplier depth) {
        queueDepth.put(kind, depth);
    }

    /** The whole registry as Prometheus text. */
    String render() {
        StringBuilder sb = new StringBuilder(4096);
        sb.append("# HELP kindling_http_requests_total HTTP requests by route and status.\n# TYPE kindling_http_requests_total counter\n");
        for (var e : new TreeMap<>(requests).entrySet()) {
            String[] rs = e.getKey().split("\\|");
            sb.append("kindling_http_requests_total{route=\"").append(rs[0]).append("\",status=\"").append(rs[1]).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        histograms(sb, "kindling_http_request_duration_seconds", "Request latency in seconds by route (streams until their last event).",
                "route", latency);
        histograms(sb, "kindling_batch_size", "Rows per batched forward: texts for embeddings, sequences per decoding step for generation.",
                "kind", batchSizes);
        sb.append("# HELP kindling_queue_depth Requests waiting for a slot.\n# TYPE kindling_queue_depth gauge\n");
        for (var e : new TreeMap<>(queueDepth).entrySet())
            sb.append("kindling_queue_depth{kind=\"").append(e.getKey()).append("\"} ").append(e.getValue().getAsLong()).append('\n');
        sb.append("# HELP kindling_generation_active_sequences Sequences in the running decode batch.\n# TYPE kindling_generation_active_sequences gauge\n")
                .append("kindling_generation_active_sequences ").append(activeSequences.get()).append('\n');
        sb.append("# HELP kindling_generated_tokens_total Tokens generated.\n# TYPE kindling_generated_tokens_total counter\n")
                .append("kindling_generated_tokens_total ").append(generatedTokens.sum()).append('\n');
        sb.append("# HELP kindling_generation_tokens_per_second Tokens generated per second over the last 10 seconds.\n# TYPE kindling_generation_tokens_per_second gauge\n")
                .append("kindling_generation_tokens_per_second ").append(fmt(tokenRate.perSecond())).append('\n');
        sb.append("# HELP kindling_embedded_texts_total Texts embedded.\n# TYPE kindling_embedded_texts_total counter\n")
                .append("kindling_embedded_texts_total ").append(embeddedTexts.sum()).append('\n');
        sb.append("# HELP kindling_sequences_finished_total Generated sequences by how they ended.\n# TYPE kindling_sequences_finished_total counter\n");
        for (var e : new TreeMap<>(finished).entrySet())
            sb.append("kindling_sequences_finished_total{reason=\"").append(e.getKey()).append("\"} ").append(e.getValue().sum()).append('\n');
        return sb.toString();
    }

    private static void histograms(StringBuilder sb, String name, String help, String label, Map<String, Histogram> hs) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" histogram\n");
        for (var e : new TreeMap<>(hs).entrySet()) {
            Histogram h = e.getValue();
            String l = label + "=\"" + e.getKey() + "\"";
            for (int i = 0; i < h.bounds.length; i++)
                sb.append(name).append("_bucket{").append(l).append(",le=\"").append(fmt(h.bounds[i])).append("\"} ").append(h.counts[i].sum()).append('\n');
            sb.append(name).append("_bucket{").append(l).append(",le=\"+Inf\"} ").append(h.count.sum()).append('\n');
            sb.append(name).append("_sum{").append(l).append("} ").append(fmt(h.sum.sum())).append('\n');
            sb.append(name).append("_count{").append(l).append("} ").append(h.count.sum()).append('\n');
        }
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.6g", v);
    }

    /** Tokens per second over a sliding window of ten one-second buckets. */
    static final class TokenRate {
        private final long[] buckets = new long[10];
        private final long[] second = new long[10];

        synchronized void add(int n) {
            long now = System.nanoTime() / 1_000_000_000L;
            int i = (int) (now % buckets.length);
            if (second[i] != now) {
                second[i] = now;
                buckets[i] = 0;
            }
            buckets[i] += n;
        }

        synchronized double perSecond() {
            long now = System.nanoTime() / 1_000_000_000L;
            long total = 0;
            for (int i = 0; i < buckets.length; i++) if (now - second[i] < buckets.length) total += buckets[i];
            return total / (double) buckets.length;
        }
    }
}
