package dev.kindling.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Settings of an {@link InferenceServer}. Defaults live in {@link #defaults(List)} only.
 *
 * @param models model folders (Hugging Face layout: config.json, model.safetensors, tokenizer.json); each is served
 *     under its folder name, GPT-2 style ones for completions and chat, BERT-family ones for embeddings
 * @param host address to listen on
 * @param port TCP port, 0 for any free one
 * @param maxBatch sequences decoded together (generation) and texts per forward (embeddings); 1 turns batching off
 * @param maxQueue requests waiting for a slot, per model; beyond it requests get 429 with Retry-After
 * @param apiKey when not null, every /v1 request needs {@code Authorization: Bearer <apiKey>}
 * @param maxBodyBytes largest request body; larger ones get 413
 * @param requestTimeout longest a request may take; a generation past it is cancelled
 * @param batchWindow how long the embedding batcher waits for more requests to join a batch
 */
public record ServerOptions(List<Path> models, String host, int port, int maxBatch, int maxQueue, String apiKey,
                            long maxBodyBytes, Duration requestTimeout, Duration batchWindow) {
    public ServerOptions {
        models = List.copyOf(models);
        if (models.isEmpty()) throw new IllegalArgumentException("server: at least one --model folder is needed");
        if (host == null || host.isBlank()) throw new IllegalArgumentException("server: --host must not be empty");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("server: --port " + port + " is outside [0, 65535]");
        if (maxBatch < 1) throw new IllegalArgumentException("server: --max-batch must be at least 1, got " + maxBatch);
        if (maxQueue < 1) throw new IllegalArgumentException("server: --max-queue must be at least 1, got " + maxQueue);
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("server: --api-key must not be blank");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("server: --max-body must be at least 1024 bytes, got " + maxBodyBytes);
        if (requestTimeout.isNegative() || requestTimeout.isZero())
            throw new IllegalArgumentException("server: the request timeout must be positive, got " + requestTimeout);
        if (batchWindow.isNegative()) throw new IllegalArgumentException("server: the batch window must be >= 0, got " + batchWindow);
    }

    /**
     * 127.0.0.1:8080, max batch 16, max queue 64, no API key, 1 MiB bodies, 120 s timeout, 5 ms embedding window.
     */
    public static ServerOptions defaults(List<Path> models) {
        return new ServerOptions(models, "127.0.0.1", 8080, 16, 64, null, 1 << 20, Duration.ofSeconds(120), Duration.ofMillis(5));
    }

    public ServerOptions withPort(int p) {
        return new ServerOptions(models, host, p, maxBatch, maxQueue, apiKey, maxBodyBytes, requestTimeout, batchWindow);
    }

    public ServerOptions withHost(String h) {
        return new ServerOptions(models, h, port, maxBatch, maxQueue, apiKey, maxBodyBytes, requestTimeout, batchWindow);
    }

    public ServerOptions withMaxBatch(int n) {
        return new ServerOptions(models, host, port, n, maxQueue, apiKey, maxBodyBytes, requestTimeout, batchWindow);
    }

    public ServerOptions withMaxQueue(int n) {
        return new ServerOptions(models, host, port, maxBatch, n, apiKey, maxBodyBytes, requestTimeout, batchWindow);
    }

    public ServerOptions withApiKey(String key) {
        return new ServerOptions(models, host, port, maxBatch, maxQueue, key, maxBodyBytes, requestTimeout, batchWindow);
    }

    public ServerOptions withMaxBodyBytes(long n) {
        return new ServerOptions(models, host, port, maxBatch, maxQueue, apiKey, n, requestTimeout, batchWindow);
    }

    public ServerOptions withRequestTimeout(Duration d) {
        return new ServerOptions(models, host, port, maxBatch, maxQueue, apiKey, maxBodyBytes, d, batchWindow);
    }

    public ServerOptions withBatchWindow(Duration d) {
        return new ServerOptions(models, host, port, maxBatch, maxQueue, apiKey, maxBodyBytes, requestTimeout, d);
    }
}
