package dev.kindling.distributed;

import dev.kindling.autograd.RemovableHandle;
import dev.kindling.nn.Module;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data-parallel training (PyTorch's DistributedDataParallel): every rank holds a full replica of the model
 * and trains on its own part of each batch; the gradients are averaged across ranks, so all replicas take
 * the same optimizer step and stay equal.
 *
 * <p>On construction the replicas are made equal by broadcasting rank 0's parameters and float buffers.
 * The parameters are grouped into buckets of about {@code bucketBytes}, last layers first (the order in
 * which backward produces their gradients). A post-accumulate-grad hook on every parameter counts the
 * gradients that are ready; as soon as a bucket is complete its gradients are copied out (while they are
 * still in the cache) and its all-reduce starts on a communication thread, while backward goes on computing
 * the earlier layers' gradients. Buckets are sent in bucket order on every rank (a complete bucket waits for
 * the earlier ones), so all ranks issue the same collectives. {@link #syncGradients()}, called between
 * {@code loss.backward()} and {@code optimizer.step()}, starts the buckets not yet sent, waits for all of
 * them and writes the averaged gradients back. Any optimizer works, since it then sees the averaged
 * gradients.
 *
 * <p>When the group moves data through shared memory ({@link ProcessGroup#sharedMemory()}: all ranks on one
 * host), there is no communication thread: the ranks' own cores do the copying and reducing either way, so
 * overlapping gains no CPU and a hand-off per bucket costs some. Complete buckets are still copied out as
 * backward produces them, and {@link #syncGradients()} all-reduces all buckets at once on the calling thread.
 *
 * <p>Inside a {@link #noSync()} scope nothing is sent, so gradients accumulate locally over several
 * micro-batches; the backward of the last micro-batch, outside the scope, sends the accumulated gradients.
 * A second backward outside noSync before syncGradients is refused (its gradients would miss the
 * all-reduce). A parameter that got no gradient on any rank keeps a null gradient (so optimizers skip it
 * exactly as in a single process); if only some ranks produced one, the others count as zeros.
 *
 * <p>Between the first backward and syncGradients the communication thread owns the process group: do not
 * run other collectives on it in that window.
 * <pre>{@code
 * var ddp = new DistributedDataParallel(model, pg);
 * var opt = new AdamW(ddp.parameters(), 3e-4);
 * Tensor loss = criterion.forward(ddp.forward(x), y);   // x: this rank's share of the batch
 * opt.zeroGrad();
 * loss.backward();                                      // buckets start their all-reduce as they fill
 * ddp.syncGradients();                                  // waits for them
 * opt.step();
 * }</pre>
 */
public final class DistributedDataParallel extends Module implements AutoCloseable {
    /**
     * 1 MiB, the size of PyTorch's first bucket: a bucket is the unit of overlap, and the models trained on
     * CPUs are small enough that PyTorch's 25 MB default would make one bucket of the whole model.
     */
    public static final int DEFAULT_BUCKET_BYTES = 1 << 20;

    private final Module module;
    private final ProcessGroup pg;
    private final List<Bucket> buckets = new ArrayList<>();
    private final Map<Tensor, Bucket> bucketOf = new IdentityHashMap<>();
    private final List<RemovableHandle> hooks = new ArrayList<>();
    /** The communication thread; null on one rank and on shared-memory groups (see the class comment). */
    private final ExecutorService comm;
    /** Every bucket's gradients then presence flags, bucket after bucket: one all-reduce without a comm thread. */
    private final float[] flat;
    private int nextToSend, noSyncDepth;

    /** One all-reduce's worth of parameters: their gradients, then one presence flag per parameter. */
    private static final class Bucket {
        final List<Tensor> params = new ArrayList<>();
        final IdentityHashMap<Tensor, Integer> index = new IdentityHashMap<>();
        /** Where the bucket starts in {@link #flat}. */
        int offset;
        int values, ready;
        boolean[] isReady;
        boolean sent;
        Future<?> inFlight;

        void add(Tensor p) {
            index.put(p, params.size());
            params.add(p);
            values += p.numel();
        }
    }

    /** Wraps {@code module} with 1 MiB gradient buckets, broadcasting rank 0's parameters. */
    public DistributedDataParallel(Module module, ProcessGroup pg) {
        this(module, pg, DEFAULT_BUCKET_BYTES);
    }

    /** Wraps {@code module} with gradient buckets of about {@code bucketBytes}, broadcasting rank 0's parameters. */
    public DistributedDataParallel(Module module, ProcessGroup pg, int bucketBytes) {
        if (bucketBytes < 4) throw new IllegalArgumentException("DistributedDataParallel: bucketBytes must be >= 4, got " + bucketBytes);
        this.module = register("module", module);
        this.pg = pg;
        int bucketFloats = bucketBytes / 4;
        List<Tensor> params = module.parameters();
        Bucket current = new Bucket();
        for (int i = params.size() - 1; i >= 0; i--) { // last layers first: their gradients are ready first
            Tensor p = params.get(i);
            if (!current.params.isEmpty() && current.values + p.numel() > bucketFloats) {
                buckets.add(current);
                current = new Bucket();
            }
            current.add(p);
            bucketOf.put(p, current);
        }
        if (!current.params.isEmpty()) buckets.add(current);
        int floats = 0;
        for (Bucket b : buckets) {
            b.offset = floats;
            floats += b.values + b.params.size();
            b.isReady = new boolean[b.params.size()];
        }
        flat = new float[floats];
        broadcastState();
        boolean overlap = pg.worldSize() > 1 && !pg.sharedMemory();
        comm = overlap ? Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("kindling-ddp-comm-" + pg.rank()).unstarted(r)) : null;
        if (pg.worldSize() > 1)
            for (Tensor p : params) if (p.requiresGrad()) hooks.add(p.registerPostAccumulateGradHook(this::gradientReady));
    }

    /** The wrapped module (save its stateDict for a checkpoint that loads in a single process). */
    public Module module() {
        return module;
    }

    /** The process group gradients are averaged over. */
    public ProcessGroup processGroup() {
        return pg;
    }

    /** Number of gradient buckets (one all-reduce each per sync). */
    public int bucketCount() {
        return buckets.size();
    }

    @Override
    public Tensor forward(Tensor x) {
        return module.forward(x);
    }

    /** Copies rank 0's parameters and FLOAT32 buffers to every rank (the constructor does this). */
    public void broadcastState() {
        List<Tensor> tensors = new ArrayList<>();
        for (Tensor t : module.stateDict().values()) if (t.dtype() == DType.FLOAT32) tensors.add(t);
        int total = 0;
        for (Tensor t : tensors) total += t.numel();
        // one broadcast of everything: this happens once, and a flat copy of the state is cheap next to training
        float[] buf = new float[total];
        int o = 0;
        for (Tensor t : tensors) {
            Flat.read(t, buf, o);
            o += t.numel();
        }
        pg.broadcast(buf, 0, total, 0);
        o = 0;
        for (Tensor t : tensors) {
            Flat.write(buf, o, t);
            o += t.numel();
        }
    }

    /** The hook: backward has accumulated {@code p}'s gradient; send every bucket that is now complete, in order. */
    private void gradientReady(Tensor p) {
        if (noSyncDepth > 0) return;
        Bucket b = bucketOf.get(p);
        int i = b.index.get(p);
        if (b.isReady[i] || b.sent)
            throw new IllegalStateException("DistributedDataParallel: parameter of shape " + java.util.Arrays.toString(p.shape())
                    + " got a second gradient before syncGradients(); run the backward of all but the last micro-batch inside noSync()");
        b.isReady[i] = true;
        if (++b.ready == b.params.size()) sendCompleteBuckets();
    }

    private void sendCompleteBuckets() {
        while (nextToSend < buckets.size() && buckets.get(nextToSend).ready == buckets.get(nextToSend).params.size())
            send(buckets.get(nextToSend++));
    }

    /** Copies the bucket's gradients (zeros where none) and presence flags, and queues its all-reduce if overlapping. */
    private void send(Bucket b) {
        int o = b.offset, k = b.params.size();
        for (int i = 0; i < k; i++) {
            Tensor p = b.params.get(i);
            Tensor g = p.grad();
            if (g == null) java.util.Arrays.fill(flat, o, o + p.numel(), 0f);
            else Flat.read(g, flat, o);
            flat[b.offset + b.values + i] = g == null ? 0f : 1f;
            o += p.numel();
        }
        b.sent = true;
        // averaged in the collective (no separate scaling pass); a presence flag becomes (ranks that had a
        // gradient) / n, still positive exactly when some rank had one
        if (comm != null) b.inFlight = comm.submit(() -> pg.allReduce(flat, b.offset, b.values + k, ReduceOp.AVG));
    }

    /**
     * Finishes averaging every parameter's gradient across ranks: sends the buckets backward has not
     * completed (parameters without a gradient count as zeros), waits for all all-reduces and writes the
     * averages into the gradients. Does nothing inside a {@link #noSync()} scope. Every rank must call it the
     * same number of times.
     *
     * @throws DistributedException if a collective failed (a peer died or stalled), naming the rank
     */
    public void syncGradients() {
        if (noSyncDepth > 0 || pg.worldSize() == 1) return;
        while (nextToSend < buckets.size()) send(buckets.get(nextToSend++));
        try {
            if (comm == null) pg.allReduce(flat, 0, flat.length, ReduceOp.AVG);
            for (Bucket b : buckets) {
                if (comm != null) await(b.inFlight);
                int o = b.offset;
                for (int i = 0; i < b.params.size(); i++) {
                    Tensor p = b.params.get(i);
                    int len = p.numel();
                    if (flat[b.offset + b.values + i] > 0) {
                        Tensor g = p.grad();
                        if (g != null && Flat.ownsArray(g)) System.arraycopy(flat, o, g.floatData(), 0, len);
                        else p.setGrad(Tensor.fromArray(java.util.Arrays.copyOfRange(flat, o, o + len), p.shape()));
                    }
                    o += len;
                }
            }
        } finally {
            reset();
        }
    }

    private void reset() {
        for (Bucket b : buckets) {
            if (b.inFlight != null && !b.inFlight.isDone()) {
                try {
                    b.inFlight.get(); // a failure left later buckets queued: let them finish (they fail fast) before reuse
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException ignored) {
                    // reported by syncGradients already
                }
            }
            b.inFlight = null;
            b.sent = false;
            b.ready = 0;
            java.util.Arrays.fill(b.isReady, false);
        }
        nextToSend = 0;
    }

    private static void await(Future<?> f) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistributedException("DistributedDataParallel: interrupted while waiting for a gradient all-reduce", e);
        } catch (ExecutionException e) {
            // the communication thread's exception already names the collective, the rank and the culprit
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new DistributedException("DistributedDataParallel: gradient all-reduce failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * A scope in which gradients are not sent, for gradient accumulation: run the first micro-batches'
     * backward inside it and the last one outside, then sync once.
     * <pre>{@code try (var s = ddp.noSync()) { loss1.backward(); } loss2.backward(); ddp.syncGradients(); }</pre>
     */
    public NoSync noSync() {
        noSyncDepth++;
        return new NoSync();
    }

    /** Ends a {@link #noSync()} scope when closed. */
    public final class NoSync implements AutoCloseable {
        private boolean closed;

        private NoSync() {
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                noSyncDepth--;
            }
        }
    }

    /** Removes the gradient hooks and stops the communication thread (the process group stays open). */
    @Override
    public void close() {
        hooks.forEach(RemovableHandle::remove);
        hooks.clear();
        if (comm != null) comm.shutdown();
    }
}
