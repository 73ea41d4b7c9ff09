package dev.kindling.distributed;

import dev.kindling.nn.Module;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Data-parallel training (PyTorch's DistributedDataParallel): every rank holds a full replica of the model
 * and trains on its own part of each batch; after backward the gradients are averaged across ranks, so all
 * replicas take the same optimizer step and stay equal.
 *
 * <p>On construction the replicas are made equal by broadcasting rank 0's parameters and float buffers.
 * Call {@link #syncGradients()} between {@code loss.backward()} and {@code optimizer.step()}; it averages
 * the gradients in buckets of about {@code bucketBytes} (default 25 MB, as PyTorch), one all-reduce per
 * bucket. Any optimizer works, since it then sees the averaged gradients. Inside a {@link #noSync()} scope
 * syncGradients does nothing, so gradients accumulate locally over several micro-batches and are averaged
 * once, by the first sync after the scope.
 *
 * <p>Gradients are averaged after backward has finished, not overlapped with it: the autograd engine has no
 * per-parameter completion hooks yet. A parameter that got no gradient on any rank keeps a null gradient
 * (so optimizers skip it exactly as in a single process); if only some ranks produced one, the others
 * count as zeros.
 * <pre>{@code
 * var ddp = new DistributedDataParallel(model, pg);
 * var opt = new AdamW(ddp.parameters(), 3e-4);
 * Tensor loss = criterion.forward(ddp.forward(x), y);   // x: this rank's share of the batch
 * opt.zeroGrad();
 * loss.backward();
 * ddp.syncGradients();
 * opt.step();
 * }</pre>
 */
public final class DistributedDataParallel extends Module {
    /** PyTorch's default bucket size. */
    public static final int DEFAULT_BUCKET_BYTES = 25 << 20;

    private final Module module;
    private final ProcessGroup pg;
    private final List<List<Tensor>> buckets = new ArrayList<>();
    private final float[] flat;
    private int noSyncDepth;

    /** Wraps {@code module} with 25 MB gradient buckets, broadcasting rank 0's parameters. */
    public DistributedDataParallel(Module module, ProcessGroup pg) {
        this(module, pg, DEFAULT_BUCKET_BYTES);
    }

    /** Wraps {@code module} with gradient buckets of about {@code bucketBytes}, broadcasting rank 0's parameters. */
    public DistributedDataParallel(Module module, ProcessGroup pg, int bucketBytes) {
        if (bucketBytes < 4) throw new IllegalArgumentException("DistributedDataParallel: bucketBytes must be >= 4, got " + bucketBytes);
        this.module = register("module", module);
        this.pg = pg;
        int bucketFloats = bucketBytes / 4, largest = 0, filled = 0;
        List<Tensor> current = new ArrayList<>();
        for (Tensor p : module.parameters()) {
            if (!current.isEmpty() && filled + p.numel() > bucketFloats) {
                buckets.add(current);
                current = new ArrayList<>();
                filled = 0;
            }
            current.add(p);
            filled += p.numel();
            largest = Math.max(largest, filled + current.size());
        }
        if (!current.isEmpty()) buckets.add(current);
        // one float per parameter after its bucket's values says whether that rank had a gradient
        flat = new float[largest];
        broadcastState();
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
        int at = 0;
        List<Tensor> chunk = new ArrayList<>();
        for (int i = 0; i <= tensors.size(); i++) {
            Tensor t = i < tensors.size() ? tensors.get(i) : null;
            if (t == null || (!chunk.isEmpty() && at + t.numel() > flat.length)) {
                float[] buf = at <= flat.length ? flat : new float[at];
                int o = 0;
                for (Tensor c : chunk) {
                    Flat.read(c, buf, o);
                    o += c.numel();
                }
                pg.broadcast(buf, 0, o, 0);
                o = 0;
                for (Tensor c : chunk) {
                    Flat.write(buf, o, c);
                    o += c.numel();
                }
                chunk.clear();
                at = 0;
            }
            if (t != null) {
                chunk.add(t);
                at += t.numel();
            }
        }
    }

    /**
     * Averages every parameter's gradient across ranks (one all-reduce per bucket); does nothing inside a
     * {@link #noSync()} scope. Every rank must call it the same number of times.
     */
    public void syncGradients() {
        if (noSyncDepth > 0) return;
        int n = pg.worldSize();
        if (n == 1) return;
        float inv = 1f / n;
        for (List<Tensor> bucket : buckets) {
            int o = 0, k = bucket.size();
            for (Tensor p : bucket) {
                Tensor g = p.grad();
                if (g == null) java.util.Arrays.fill(flat, o, o + p.numel(), 0f);
                else Flat.read(g, flat, o);
                o += p.numel();
            }
            for (int i = 0; i < k; i++) flat[o + i] = bucket.get(i).grad() == null ? 0f : 1f;
            // SUM then scale while copying back: the presence flags must be counts, not averages
            pg.allReduce(flat, 0, o + k, ReduceOp.SUM);
            o = 0;
            for (int i = 0; i < k; i++) {
                Tensor p = bucket.get(i);
                int len = p.numel();
                if (flat[bucketEnd(bucket) + i] > 0) {
                    for (int j = o; j < o + len; j++) flat[j] *= inv;
                    Tensor g = p.grad();
                    if (g != null && Flat.ownsArray(g)) System.arraycopy(flat, o, g.floatData(), 0, len);
                    else {
                        float[] v = new float[len];
                        System.arraycopy(flat, o, v, 0, len);
                        p.setGrad(Tensor.fromArray(v, p.shape()));
                    }
                }
                o += len;
            }
        }
    }

    private static int bucketEnd(List<Tensor> bucket) {
        int o = 0;
        for (Tensor p : bucket) o += p.numel();
        return o;
    }

    /**
     * A scope in which {@link #syncGradients()} does nothing, for gradient accumulation: run the first
     * micro-batches' backward inside it and the last one outside, then sync once.
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
}
