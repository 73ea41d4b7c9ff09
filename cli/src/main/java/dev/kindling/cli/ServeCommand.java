package dev.kindling.cli;

import dev.kindling.kernels.Parallel;
import dev.kindling.server.InferenceServer;
import dev.kindling.server.ServerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kindling serve}: the OpenAI-compatible HTTP service; SIGTERM drains in-flight requests and exits 0. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve model folders over an OpenAI-compatible HTTP API (completions, chat, embeddings).")
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model folder (GPT-2 style or BERT family); repeat to serve several.")
    List<Path> models;
    @Option(names = "--host", defaultValue = "127.0.0.1") String host;
    @Option(names = "--port", defaultValue = "8080") int port;
    @Option(names = "--max-batch", defaultValue = "16", description = "Sequences decoded together / texts per embedding batch (1 = no batching).")
    int maxBatch;
    @Option(names = "--max-queue", defaultValue = "64", description = "Requests waiting per model before 429.") int maxQueue;
    @Option(names = "--api-key", description = "Require 'Authorization: Bearer KEY' on /v1 routes.") String apiKey;
    @Option(names = "--max-body", defaultValue = "1048576", description = "Largest request body in bytes (413 beyond).") long maxBody;
    @Option(names = "--timeout", defaultValue = "120", description = "Per-request timeout in seconds.") double timeout;
    @Option(names = "--batch-window-ms", defaultValue = "5", description = "How long embeddings wait for a batch to fill.") double windowMs;
    @Option(names = "--threads") Integer threads;

    @Override
    public Integer call() throws Exception {
        if (threads != null) Parallel.setThreads(threads);
        if (!(timeout > 0)) throw new IllegalArgumentException("--timeout must be positive, got " + timeout);
        if (!(windowMs >= 0)) throw new IllegalArgumentException("--batch-window-ms must be >= 0, got " + windowMs);
        var options = new ServerOptions(models, host, port, maxBatch, maxQueue, apiKey, maxBody,
                Duration.ofMillis(Math.round(timeout * 1000)), Duration.ofNanos(Math.round(windowMs * 1e6)));
        try (var server = InferenceServer.start(options)) {
            System.out.println("kindling serve: " + server.modelNames() + " on http://" + host + ":" + server.port() + "/ (playground at /)");
            server.closeOnSignals();
        }
        System.out.println("kindling serve: stopped");
        return 0;
    }
}
