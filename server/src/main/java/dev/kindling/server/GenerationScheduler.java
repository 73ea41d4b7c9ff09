package dev.kindling.server;

import dev.kindling.autograd.Grad;
import dev.kindling.models.Gpt;
import dev.kindling.models.KVCache;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Continuous batching for one GPT: a single thread owns the model and steps every running sequence one token at a
 * time in one batched forward ({@link Gpt#step}), each sequence with its own KV cache. Waiting sequences join at the
 * next token boundary (after their prompt's prefill) while fewer than maxBatch run; finished, cancelled and timed-out
 * ones leave at once, freeing their slot.
 */
final class GenerationScheduler implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GenerationScheduler.class.getName());

    private final String name;
    private final Gpt model;
    private final int maxBatch, maxQueue;
    private final Metrics metrics;
    private final LinkedBlockingQueue<Sequence> waiting = new LinkedBlockingQueue<>();
    private final List<Sequence> active = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopping;

    GenerationScheduler(String name, Gpt model, int maxBatch, int maxQueue, Metrics metrics) {
        this.name = name;
        this.model = model;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.metrics = metrics;
        metrics.queue("generation:" + name, waiting::size);
        thread = Thread.ofPlatform().name("kindling-generate-" + name).daemon().start(this::run);
    }

    /**
     * Queues the choices of one request, all or none.
     *
     * @throws ApiError 429 when the queue has no room for them
     */
    synchronized void submit(List<Sequence> seqs) {
        if (stopping) throw ApiError.shuttingDown();
        if (!waiting.isEmpty() && waiting.size() + seqs.size() > maxQueue) throw ApiError.queueFull(name, maxQueue);
        waiting.addAll(seqs);
    }

    private void run() {
        try (var noGrad = Grad.disabled()) {
            while (true) {
                if (active.isEmpty()) {
                    Sequence s = waiting.poll(50, TimeUnit.MILLISECONDS);
                    if (s == null) {
                        if (stopping) return;
                        continue;
                    }
                    admit(s);
                }
                for (Sequence s; active.size() < maxBatch && (s = waiting.poll()) != null; ) admit(s);
                long now = System.nanoTime();
                active.removeIf(s -> {
                    if (s.cancelled()) s.finish("cancelled");
                    else if (s.expired(now)) s.finish("timeout");
                    else if (s.cache.length() + 1 > s.cache.capacity()) s.finish("length");
                    if (s.finished()) metrics.finished(s.lastReason());
                    return s.finished();
                });
                metrics.activeSequences.set(active.size());
                if (active.isEmpty()) continue;
                step();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            // a bug or out of memory in the model: fail everything in flight rather than leave clients hanging
            LOG.log(Level.SEVERE, "generation for " + name + " stopped", t);
            for (Sequence s : active) s.fail("generation failed: " + t);
            for (Sequence s; (s = waiting.poll()) != null; ) s.fail("generation failed: " + t);
            active.clear();
        } finally {
            metrics.activeSequences.set(0);
        }
    }

    /** Runs the prompt and takes the first token; the sequence joins the batch unless it is already done. */
    private void admit(Sequence s) {
        if (s.cancelled()) {
            s.finish("cancelled");
            metrics.finished("cancelled");
            return;
        }
        int context = model.config.blockSize();
        s.cache = new KVCache(model.config, 1, Math.min(context, s.prompt.length + s.maxTokens));
        long[] ids = new long[s.prompt.length];
        for (int i = 0; i < ids.length; i++) ids[i] = s.prompt[i];
        float[] last = model.nextTokenLogits(Tensor.wrapLongs(ids, 1, ids.length), s.cache).toFloatArray(); // (1, V)
        int vocab = model.config.vocabSize();
        metrics.batch("prefill", 1);
        metrics.tokens(1);
        if (s.accept(s.sampler.sample(last, 0, vocab))) metrics.finished(s.lastReason());
        else active.add(s);
    }

    /** One token for every running sequence, in one batched forward. */
    private void step() {
        int n = active.size(), vocab = model.config.vocabSize();
        long[] ids = new long[n];
        KVCache[] caches = new KVCache[n];
        for (int i = 0; i < n; i++) {
            ids[i] = active.get(i).last;
            caches[i] = active.get(i).cache;
        }
        float[] logits = model.step(ids, caches).toFloatArray();                        // (n, V)
        metrics.batch("generation", n);
        metrics.tokens(n);
        List<Sequence> done = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Sequence s = active.get(i);
            if (s.accept(s.sampler.sample(logits, i * vocab, vocab))) {
                done.add(s);
                metrics.finished(s.lastReason());
            }
        }
        active.removeAll(done);
        metrics.activeSequences.set(active.size());
    }

    /** Lets what is queued and running finish, then stops the thread. */
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
