package dev.kindling.server;

import dev.kindling.inference.Embedder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Coalesces embedding requests: one thread owns the encoder; it takes the first waiting request, waits up to the
 * batch window for more, as long as the texts fit in maxBatch, and embeds them all in one call. A request with more
 * texts than maxBatch runs alone (the Embedder splits it into batches of maxBatch).
 */
final class EmbeddingBatcher implements AutoCloseable {
    private record Job(List<String> texts, CompletableFuture<List<float[]>> result) {}

    private final String name;
    private final Embedder embedder;
    private final int maxBatch, maxQueue;
    private final long windowNanos;
    private final Metrics metrics;
    private final LinkedBlockingQueue<Job> waiting = new LinkedBlockingQueue<>();
    private final Thread thread;
    private Job carry; // taken from the queue but did not fit the last batch
    private volatile boolean stopping;

    EmbeddingBatcher(String name, Embedder embedder, int maxBatch, int maxQueue, long windowNanos, Metrics metrics) {
        this.name = name;
        this.embedder = embedder;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.windowNanos = windowNanos;
        this.metrics = metrics;
        metrics.queue("embeddings:" + name, waiting::size);
        thread = Thread.ofPlatform().name("kindling-embed-" + name).daemon().start(this::run);
    }

    /**
     * The vectors of {@code texts}, in order, once their batch ran.
     *
     * @throws ApiError 429 when maxQueue requests are already waiting
     */
    synchronized CompletableFuture<List<float[]>> submit(List<String> texts) {
        if (stopping) throw ApiError.shuttingDown();
        if (waiting.size() >= maxQueue) throw ApiError.queueFull(name, maxQueue);
        var job = new Job(texts, new CompletableFuture<>());
        waiting.add(job);
        return job.result;
    }

    private void run() {
        try {
            while (true) {
                Job first = carry != null ? carry : waiting.poll(50, TimeUnit.MILLISECONDS);
                carry = null;
                if (first == null) {
                    if (stopping && waiting.isEmpty()) return;
                    continue;
                }
                List<Job> batch = new ArrayList<>();
                batch.add(first);
                int texts = first.texts.size();
                long deadline = System.nanoTime() + windowNanos;
                while (texts < maxBatch) {
                    long left = deadline - System.nanoTime();
                    Job next = left > 0 ? waiting.poll(left, TimeUnit.NANOSECONDS) : waiting.poll();
                    if (next == null) break;
                    if (texts + next.texts.size() > maxBatch) {
                        carry = next;
                        break;
                    }
                    batch.add(next);
                    texts += next.texts.size();
                }
                runBatch(batch, texts);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void runBatch(List<Job> batch, int texts) {
        List<String> all = new ArrayList<>(texts);
        for (Job j : batch) all.addAll(j.texts);
        try {
            List<float[]> vectors = embedder.embed(all);
            metrics.batch("embeddings", Math.min(texts, maxBatch));
            metrics.embeddedTexts.add(texts);
            int at = 0;
            for (Job j : batch) {
                j.result.complete(vectors.subList(at, at + j.texts.size()));
                at += j.texts.size();
            }
        } catch (RuntimeException e) {
            for (Job j : batch) j.result.completeExceptionally(e);
        }
    }

    /** Lets the waiting requests run, then stops the thread. */
    @Override
    public void close() {
        stopping = true;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
