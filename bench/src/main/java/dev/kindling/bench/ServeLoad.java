package dev.kindling.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kindling.server.InferenceServer;
import dev.kindling.server.ServerOptions;
import dev.kindling.server.TestModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Load generator for {@code kindling serve}: for each batching mode (--max-batch 64, and 1 = unbatched) it starts the
 * server in this JVM, then runs 1, 8 and 64 closed-loop clients for a fixed time against /v1/embeddings (one text per
 * request) and streaming /v1/completions, over loopback HTTP. Reports requests/s, generated tokens/s, p50/p99 latency
 * (a stream's latency is until its last event; time to first token is shown too), errors, and the ratio of batched to
 * unbatched throughput.
 * <pre>
 * bench/run-serve [--seconds 10] [--clients 1,8,64] [--max-tokens 32] [--gpt DIR] [--bert DIR]
 * </pre>
 * Without --gpt/--bert it writes random-weight models of a fixed small shape to a temporary folder (speed does not
 * depend on the weights).
 */
public final class ServeLoad {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = ("the cat sits on the mat a dog is sitting hello world once upon a time there was a small "
            + "model that served text over http quick brown fox jumps lazy").split(" ");

    record Result(String workload, int clients, int batch, int requests, int errors, long tokens, double seconds, double cpuSeconds,
                  double[] latencyMs, double[] ttftMs) {
        double rps() {
            return requests / seconds;
        }

        double tps() {
            return tokens / seconds;
        }

        /** Requests per second of this JVM's CPU time (server and clients): less sensitive to other jobs on the machine. */
        double perCpuSecond() {
            return requests / cpuSeconds;
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = 10;
        int maxTokens = 32, rounds = 1;
        int[] clients = {1, 8, 64};
        Path gpt = null, bert = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--clients" -> clients = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--gpt" -> gpt = Path.of(args[++i]);
                case "--bert" -> bert = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("serve-load: unknown option " + args[i]
                        + " (--seconds, --max-tokens, --clients, --rounds, --gpt, --bert)");
            }
        }
        Path tmp = Files.createTempDirectory("kindling-serve-load");
        if (gpt == null) TestModels.writeGpt(gpt = tmp.resolve("gpt"), 256, 6, 6, 384, 1);
        if (bert == null) TestModels.writeBert(bert = tmp.resolve("bert"), 256, 4, 4, 128, 2);
        System.out.printf(Locale.ROOT, "serve-load: %.0f s per point, clients %s, max_tokens %d, %d rounds, %d cores%n", seconds,
                Arrays.toString(clients), maxTokens, rounds, Runtime.getRuntime().availableProcessors());
        List<Result> all = new ArrayList<>();
        for (int round = 0; round < rounds; round++)
        // alternate which mode goes first, so neither always gets the colder JIT or the quieter minutes
        for (int batch : round % 2 == 0 ? new int[] {64, 1} : new int[] {1, 64}) {
            var options = ServerOptions.defaults(List.of(gpt, bert)).withPort(0).withMaxBatch(batch).withMaxQueue(1024)
                    .withRequestTimeout(Duration.ofMinutes(10));
            try (var server = InferenceServer.start(options)) {
                String base = "http://127.0.0.1:" + server.port();
                String gptName = gpt.getFileName().toString(), bertName = bert.getFileName().toString();
                // warm up the JIT at every measured concurrency: batched shapes take other code paths, and the
                // Vector API is very slow until C2 compiled them
                for (String workload : List.of("embeddings", "completions"))
                    for (int c : clients) run(base, workload, bertName, gptName, c, 2, maxTokens);
                for (String workload : List.of("embeddings", "completions"))
                    for (int c : clients) {
                        Result r = run(base, workload, bertName, gptName, c, seconds, maxTokens);
                        r = new Result(r.workload, r.clients, batch, r.requests, r.errors, r.tokens, r.seconds, r.cpuSeconds, r.latencyMs, r.ttftMs);
                        all.add(r);
                        print(r);
                    }
            }
        }
        List<Result> results = medians(all);
        System.out.println();
        System.out.println("| workload | clients | max-batch | req/s | req per CPU-s | tokens/s | p50 ms | p99 ms | TTFT p50 ms | errors |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Result r : results)
            System.out.printf(Locale.ROOT, "| %s | %d | %d | %.1f | %.1f | %s | %.1f | %.1f | %s | %d |%n", r.workload, r.clients, r.batch, r.rps(),
                    r.perCpuSecond(),
                    r.workload.equals("completions") ? String.format(Locale.ROOT, "%.0f", r.tps()) : "-",
                    pct(r.latencyMs, 50), pct(r.latencyMs, 99), r.ttftMs.length > 0 ? String.format(Locale.ROOT, "%.1f", pct(r.ttftMs, 50)) : "-", r.errors);
        int most = Arrays.stream(clients).max().orElse(1);
        for (String w : List.of("embeddings", "completions")) {
            Result b = find(results, w, most, 64), u = find(results, w, most, 1);
            if (b != null && u != null)
                System.out.printf(Locale.ROOT, "batched / unbatched throughput, %s, %d clients: %.2fx (%.1f vs %.1f req/s); per CPU second %.2fx%n",
                        w, most, b.rps() / u.rps(), b.rps(), u.rps(), b.perCpuSecond() / u.perCpuSecond());
        }
        int errors = results.stream().mapToInt(Result::errors).sum();
        System.out.println("errors: " + errors);
        if (errors > 0) System.exit(1);
    }

    /** Per (workload, clients, max-batch): the round with the median throughput; errors are summed over rounds. */
    static List<Result> medians(List<Result> all) {
        List<Result> out = new ArrayList<>();
        for (Result r : all) {
            if (find(out, r.workload, r.clients, r.batch) != null) continue;
            List<Result> same = all.stream().filter(o -> o.workload.equals(r.workload) && o.clients == r.clients && o.batch == r.batch)
                    .sorted(java.util.Comparator.comparingDouble(Result::rps)).toList();
            Result m = same.get(same.size() / 2);
            int errors = same.stream().mapToInt(Result::errors).sum();
            out.add(new Result(m.workload, m.clients, m.batch, m.requests, errors, m.tokens, m.seconds, m.cpuSeconds, m.latencyMs, m.ttftMs));
        }
        out.sort(java.util.Comparator.comparingInt((Result r) -> -r.batch).thenComparing(Result::workload).thenComparingInt(Result::clients));
        return out;
    }

    private static Result find(List<Result> rs, String w, int clients, int batch) {
        return rs.stream().filter(r -> r.workload.equals(w) && r.clients == clients && r.batch == batch).findFirst().orElse(null);
    }

    private static void print(Result r) {
        System.out.printf(Locale.ROOT, "  %-11s clients %2d max-batch %2d: %7.1f req/s %7.1f req/CPU-s %7.0f tok/s p50 %7.1f ms p99 %7.1f ms errors %d%n",
                r.workload, r.clients, r.batch, r.rps(), r.perCpuSecond(), r.tps(), pct(r.latencyMs, 50), pct(r.latencyMs, 99), r.errors);
    }

    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** Closed loop: each client sends its next request when the last one finished, until the time is up. */
    static Result run(String base, String workload, String bert, String gpt, int clients, double seconds, int maxTokens) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<Double> latencies = Collections.synchronizedList(new ArrayList<>());
        List<Double> ttfts = Collections.synchronizedList(new ArrayList<>());
        long[] tokens = new long[clients];
        int[] errors = new int[clients], requests = new int[clients];
        AtomicBoolean stop = new AtomicBoolean();
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long start = System.nanoTime();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int id = c;
                fs.add(pool.submit(() -> {
                    Random rnd = new Random(id);
                    while (!stop.get()) {
                        StringBuilder text = new StringBuilder();
                        for (int w = 0; w < 8 + rnd.nextInt(8); w++) text.append(w == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
                        long t0 = System.nanoTime();
                        try {
                            if (workload.equals("embeddings")) {
                                String body = "{\"model\":\"" + bert + "\",\"input\":\"" + text + "\"}";
                                var resp = http.send(post(base + "/v1/embeddings", body), HttpResponse.BodyHandlers.ofString());
                                if (resp.statusCode() != 200 || !resp.body().contains("\"embedding\"")) errors[id]++;
                            } else {
                                String body = "{\"model\":\"" + gpt + "\",\"prompt\":\"" + text + "\",\"max_tokens\":" + maxTokens
                                        + ",\"temperature\":0.8,\"seed\":" + rnd.nextInt() + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
                                var resp = http.send(post(base + "/v1/completions", body), HttpResponse.BodyHandlers.ofLines());
                                if (resp.statusCode() != 200) {
                                    errors[id]++;
                                    resp.body().close();
                                    continue;
                                }
                                boolean done = false;
                                long first = -1;
                                for (String line : (Iterable<String>) resp.body()::iterator) {
                                    if (!line.startsWith("data: ")) continue;
                                    if (first < 0) first = System.nanoTime();
                                    if (line.equals("data: [DONE]")) done = true;
                                    else if (line.contains("\"usage\"")) {
                                        JsonNode u = JSON.readTree(line.substring(6)).get("usage");
                                        tokens[id] += u.get("completion_tokens").asLong();
                                    } else if (line.contains("\"error\"")) errors[id]++;
                                }
                                if (!done) errors[id]++;
                                if (first > 0) ttfts.add((first - t0) / 1e6);
                            }
                            requests[id]++;
                            latencies.add((System.nanoTime() - t0) / 1e6);
                        } catch (Exception e) {
                            errors[id]++;
                        }
                    }
                    return null;
                }));
            }
            Thread.sleep((long) (seconds * 1000));
            stop.set(true);
            for (var f : fs) f.get();
        }
        double elapsed = (System.nanoTime() - start) / 1e9, cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
        double[] lat = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] tt = ttfts.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new Result(workload, clients, 0, Arrays.stream(requests).sum(), Arrays.stream(errors).sum(), Arrays.stream(tokens).sum(),
                elapsed, cpu, lat, tt);
    }

    private static HttpRequest post(String url, String body) {
        return HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }
}
