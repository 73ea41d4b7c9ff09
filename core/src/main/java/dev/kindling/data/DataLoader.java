package dev.kindling.data;

import dev.kindling.tensor.Generator;
import java.lang.ref.Cleaner;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Iterates a dataset in batches, like PyTorch's DataLoader: batch size, shuffling with a seed (a new,
 * reproducible order each epoch: the order of epoch e depends only on the seed and e), dropLast, a collate
 * step, and a background thread that prepares the next batches while the current one trains.
 *
 * <pre>{@code
 * var loader = DataLoader.builder(dataset).batchSize(64).shuffle(1).build();
 * for (Batch b : loader) { ... }   // each for-loop is one epoch
 * }</pre>
 */
public final class DataLoader implements Iterable<Batch> {
    private final Dataset dataset;
    private final int batchSize;
    private final boolean shuffle, dropLast;
    private final long seed;
    private final int prefetch;
    private final Function<List<Example>, Batch> collate;
    private int epoch;

    private DataLoader(Builder b) {
        this.dataset = b.dataset;
        this.batchSize = b.batchSize;
        this.shuffle = b.shuffle;
        this.seed = b.seed;
        this.dropLast = b.dropLast;
        this.prefetch = b.prefetch;
        this.collate = b.collate;
    }

    public static Builder builder(Dataset dataset) {
        return new Builder(dataset);
    }

    /** Number of batches per epoch. */
    public int numBatches() {
        int n = dataset.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    public Dataset dataset() {
        return dataset;
    }

    /** The epoch the next iteration will run (iteration advances it). */
    public int epoch() {
        return epoch;
    }

    /** Sets the epoch the next iteration runs (for resuming: the order depends only on seed and epoch). */
    public void setEpoch(int epoch) {
        this.epoch = epoch;
    }

    /** The sample order for an epoch. */
    public int[] order(int epoch) {
        int n = dataset.size();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        if (shuffle) new Generator(seed * 0x9E3779B97F4A7C15L + epoch).shuffle(idx);
        return idx;
    }

    private Batch load(int[] order, int b) {
        int from = b * batchSize, to = Math.min(order.length, from + batchSize);
        int[] idx = java.util.Arrays.copyOfRange(order, from, to);
        if (collate == null) return dataset.batch(idx);
        List<Example> ex = new java.util.ArrayList<>(idx.length);
        for (int i : idx) ex.add(dataset.get(i));
        return collate.apply(ex);
    }

    @Override
    public Iterator<Batch> iterator() {
        int[] order = order(epoch++);
        int batches = numBatches();
        return prefetch > 0 && batches > 1 ? new Prefetching(order, batches) : new Serial(order, batches);
    }

    private final class Serial implements Iterator<Batch> {
        private final int[] order;
        private final int batches;
        private int next;

        Serial(int[] order, int batches) {
            this.order = order;
            this.batches = batches;
        }

        @Override public boolean hasNext() { return next < batches; }

        @Override public Batch next() {
            if (!hasNext()) throw new NoSuchElementException();
            return load(order, next++);
        }
    }

    /** What the loading thread shares with its iterator; the thread must not reach the iterator itself. */
    private static final class Pipe {
        final BlockingQueue<Object> queue;
        volatile boolean cancelled;

        Pipe(int capacity) {
            queue = new ArrayBlockingQueue<>(capacity);
        }
    }

    /** Stops the loading threads of iterators that were dropped before their last batch (a break in a for loop). */
    private static final Cleaner CLEANER = Cleaner.create(Thread.ofPlatform().daemon().name("kindling-dataloader-cleaner").factory());

    /**
     * Loads batches on a daemon thread into a bounded queue; a failure there is rethrown by next(). An
     * iterator abandoned early is cancelled when it becomes unreachable, so its thread ends instead of waiting
     * forever for a consumer.
     */
    private final class Prefetching implements Iterator<Batch> {
        private final Pipe pipe = new Pipe(prefetch);
        private final int batches;
        private int taken;

        Prefetching(int[] order, int batches) {
            this.batches = batches;
            Pipe p = pipe;
            DataLoader loader = DataLoader.this; // not this iterator: the thread must not keep it reachable
            Thread.ofPlatform().daemon().name("kindling-dataloader").start(() -> {
                try {
                    for (int b = 0; b < batches && !p.cancelled; b++) {
                        Object item;
                        try {
                            item = loader.load(order, b);
                        } catch (RuntimeException | Error e) {
                            item = e;
                        }
                        while (!p.cancelled && !p.queue.offer(item, 100, TimeUnit.MILLISECONDS)) { /* wait for the consumer */ }
                        if (item instanceof Throwable) return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            CLEANER.register(this, () -> p.cancelled = true);
        }

        @Override public boolean hasNext() {
            boolean more = taken < batches;
            if (!more) pipe.cancelled = true;
            return more;
        }

        @Override public Batch next() {
            if (!hasNext()) throw new NoSuchElementException();
            Object item;
            try {
                item = pipe.queue.take();
            } catch (InterruptedException e) {
                pipe.cancelled = true;
                Thread.currentThread().interrupt();
                throw new IllegalStateException("DataLoader: interrupted while waiting for a batch", e);
            }
            taken++;
            if (item instanceof RuntimeException re) { pipe.cancelled = true; throw re; }
            if (item instanceof Error err) { pipe.cancelled = true; throw err; }
            return (Batch) item;
        }
    }

    /** Builder with PyTorch's defaults: batch size 1, no shuffle, keep the last partial batch, prefetch 2. */
    public static final class Builder {
        private final Dataset dataset;
        private int batchSize = 1;
        private boolean shuffle, dropLast;
        private long seed;
        private int prefetch = 2;
        private Function<List<Example>, Batch> collate;

        private Builder(Dataset dataset) {
            if (dataset == null) throw new IllegalArgumentException("DataLoader: dataset is null");
            this.dataset = dataset;
        }

        public Builder batchSize(int n) {
            if (n <= 0) throw new IllegalArgumentException("DataLoader: batch size must be positive, got " + n);
            batchSize = n;
            return this;
        }

        /** Shuffles each epoch with an order derived from {@code seed} and the epoch number. */
        public Builder shuffle(long seed) {
            this.shuffle = true;
            this.seed = seed;
            return this;
        }

        public Builder dropLast(boolean v) {
            dropLast = v;
            return this;
        }

        /** Batches prepared ahead on a background thread (0 = load on the caller). */
        public Builder prefetch(int n) {
            if (n < 0) throw new IllegalArgumentException("DataLoader: prefetch must be >= 0, got " + n);
            prefetch = n;
            return this;
        }

        /** A custom collate step from samples to a batch (default: the dataset's own batching, stacking). */
        public Builder collate(Function<List<Example>, Batch> fn) {
            collate = fn;
            return this;
        }

        public DataLoader build() {
            return new DataLoader(this);
        }
    }
}
