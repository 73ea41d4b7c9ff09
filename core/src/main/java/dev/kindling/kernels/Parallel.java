package dev.kindling.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The one intra-op thread pool. Kernels split a range of independent work items over it when the
 * work is large enough to pay for the hand-off; small work runs on the calling thread.
 *
 * <p>Size: {@code -Dkindling.threads=N} or {@link #setThreads(int)}; default is the number of cores.
 */
public final class Parallel {
    /** Work below this many scalar operations runs serially: a fork/join hand-off costs a few microseconds. */
    public static final long SERIAL_WORK = 1 << 15;

    private static final java.util.concurrent.atomic.AtomicInteger THREAD_IDS = new java.util.concurrent.atomic.AtomicInteger();

    private static volatile ForkJoinPool pool = newPool(Integer.getInteger("kindling.threads",
            Runtime.getRuntime().availableProcessors()));

    private Parallel() {}

    /** A body that processes items {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Sets the number of threads used by kernels (1 = everything runs on the caller). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be >= 1, got " + n);
        if (n == pool.getParallelism()) return;
        ForkJoinPool old = pool;
        pool = newPool(n);
        old.shutdown();
    }

    private static ForkJoinPool newPool(int n) {
        return new ForkJoinPool(Math.max(1, n), p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            // the pool index is assigned only when the thread registers, after the factory returns
            t.setName("kindling-" + THREAD_IDS.getAndIncrement());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into at most {@link #threads()} contiguous chunks, or
     * serially when {@code n * costPerItem} is below {@link #SERIAL_WORK} or only one thread is set.
     */
    public static void forRange(int n, long costPerItem, RangeBody body) {
        int threads = threads();
        if (n <= 0) return;
        if (threads == 1 || n == 1 || (long) n * Math.max(1, costPerItem) < SERIAL_WORK
                || ForkJoinTask.getPool() == pool) { // already inside a kernel task: don't nest
            body.run(0, n);
            return;
        }
        int chunks = Math.min(n, threads);
        pool.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    /** Like {@link #forRange} but with exactly {@code chunks} pieces (callers that tile work themselves). */
    public static void forChunks(int n, int chunks, RangeBody body) {
        if (n <= 0) return;
        chunks = Math.max(1, Math.min(chunks, n));
        if (chunks == 1 || threads() == 1 || ForkJoinTask.getPool() == pool) {
            body.run(0, n);
            return;
        }
        pool.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int n, chunks, lo, hi;

        Chunk(RangeBody body, int n, int chunks, int lo, int hi) {
            this.body = body; this.n = n; this.chunks = chunks; this.lo = lo; this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int from = (int) ((long) n * lo / chunks), to = (int) ((long) n * (lo + 1) / chunks);
                if (from < to) body.run(from, to);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunk(body, n, chunks, lo, mid), new Chunk(body, n, chunks, mid, hi));
        }
    }

    /**
     * Whether the pool's threads may read a memory segment: one of a confined arena only its owner thread may, so
     * work on it must stay on the calling thread.
     */
    public static boolean canShare(java.lang.foreign.MemorySegment segment) {
        return segment.isAccessibleBy(NOT_OWNER);
    }

    /** A thread that owns nothing: a segment it may access is readable from any thread. */
    private static final Thread NOT_OWNER = new Thread(() -> { });
}
