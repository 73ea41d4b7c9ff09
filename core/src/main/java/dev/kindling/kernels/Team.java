package dev.kindling.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed team of threads that all enter one parallel region together and meet at spin barriers inside it, as
 * llama.cpp's thread pool does: the calling thread is member 0, the others are resident threads that wait for the
 * next region. Batch-1 decoding runs a whole token as one region, each member doing its fixed share of every
 * matrix-vector product, with a barrier between dependent steps. A fork/join task per product (the {@link Parallel}
 * pool) costs a round trip of 10-30 us, as much as streaming a 768 x 768 FP32 matrix; a barrier between two threads
 * that are already running costs well under a microsecond.
 *
 * <p>Members spin while they wait, briefly at a barrier ({@link #BARRIER_SPIN_NANOS}) and longer for the next region
 * ({@link #IDLE_SPIN_NANOS}: the next token follows soon), then park: an idle team costs nothing, and on a busy machine
 * a member does not burn the CPU time that the member it waits for needs. Size: {@link Parallel#threads()}.
 * One region runs at a time; a region started from inside a region (or with one thread) runs on the caller alone.
 */
public final class Team {
    /** The body of a region: run by every member, each with its own {@link Member} view of the region. */
    @FunctionalInterface
    public interface Body {
        void run(Member m);
    }

    /** One member's view of a running region: its index, the region's size, and the barrier. */
    public static final class Member {
        private final Team team;
        private final int index, size;

        private Member(Team team, int index, int size) {
            this.team = team;
            this.index = index;
            this.size = size;
        }

        /** This member's index in [0, size). */
        public int index() {
            return index;
        }

        /** Members in the region. */
        public int size() {
            return size;
        }

        /**
         * Waits until every member of the region has called it (each member calls it the same number of times).
         * Writes made before the barrier are visible to every member after it.
         */
        public void barrier() {
            if (size > 1) team.barrier(index);
        }

        /** [from, to) of this member's share of n items: contiguous, in multiples of {@code align} except the last. */
        public int from(int n, int align) {
            return share(n, align, index, size);
        }

        /** The end of this member's share (see {@link #from}). */
        public int to(int n, int align) {
            return index + 1 == size ? n : share(n, align, index + 1, size);
        }

        private static int share(int n, int align, int i, int size) {
            return (int) ((long) n * i / size) / align * align;
        }
    }

    private static final Member SOLO = new Member(null, 0, 1);

    /** How long a member spins for the next region before it parks (the next token follows within this when decoding). */
    static final long IDLE_SPIN_NANOS = 200_000;
    /**
     * How long a member spins at a barrier before it parks until the last member arrives. Longer than the members'
     * usual imbalance on a quiet machine; short, because on a busy one the member it waits for may have lost its core
     * for a whole time slice, and spinning then only takes CPU from it.
     */
    static final long BARRIER_SPIN_NANOS = 20_000;

    private static Team shared;

    private final int size;
    private final Thread[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger arrived = new AtomicInteger(), running = new AtomicInteger();
    /** Member i's thread (member 0: the thread running the current region), and whether it is parked at a barrier. */
    private final Thread[] threads;
    private final java.util.concurrent.atomic.AtomicIntegerArray sleeping;
    private final Member[] members;
    private volatile Body body;
    private volatile int epoch, phase;
    private volatile boolean stopped;
    private volatile Throwable failure;

    private Team(int size) {
        this.size = size;
        workers = new Thread[size - 1];
        threads = new Thread[size];
        sleeping = new java.util.concurrent.atomic.AtomicIntegerArray(size);
        members = new Member[size];
        for (int i = 0; i < size; i++) members[i] = new Member(this, i, size);
        for (int i = 1; i < size; i++) {
            int member = i;
            Thread t = new Thread(() -> work(member), "kindling-team-" + i);
            t.setDaemon(true);
            workers[i - 1] = t;
            threads[i] = t;
            t.start();
        }
    }

    /** The team of {@link Parallel#threads()} members (made again when that number changes). */
    public static synchronized Team shared() {
        int n = Parallel.threads();
        if (shared == null || shared.size != n) {
            if (shared != null) shared.stop();
            shared = new Team(n);
        }
        return shared;
    }

    /** Runs {@code body} on the calling thread alone, as a region of one member. */
    public static void runOnCaller(Body body) {
        body.run(SOLO);
    }

    /** Members of this team, the caller included. */
    public int size() {
        return size;
    }

    /**
     * Runs {@code body} on every member and returns when all have finished. An exception thrown by any member is
     * rethrown here (the other members leave their barriers at once).
     */
    public void run(Body body) {
        if (size == 1 || lock.isHeldByCurrentThread() || isMember()) {
            body.run(SOLO);
            return;
        }
        lock.lock();
        try {
            failure = null;
            threads[0] = Thread.currentThread();
            arrived.set(0);
            running.set(size - 1);
            this.body = body;
            epoch++; // publishes body to the workers
            // unconditional: a member that is spinning keeps a permit it will spend on one extra loop later
            for (Thread t : workers) LockSupport.unpark(t);
            try {
                body.run(members[0]);
                members[0].barrier(); // the end of the region: when it passes, every member has finished the body
            } catch (Aborted e) {
                // another member failed; its exception is rethrown below
            } catch (Throwable e) {
                fail(e);
            }
            awaitZero(running); // the workers leave right after the last barrier (at once when a member failed)
            this.body = null;
            Throwable f = failure;
            if (f instanceof RuntimeException r) throw r;
            if (f instanceof Error e) throw e;
            if (f != null) throw new IllegalStateException("Team: a member failed", f);
        } finally {
            lock.unlock();
        }
    }

    private void barrier(int me) {
        int p = phase;
        if (arrived.incrementAndGet() == size) {
            arrived.set(0);
            phase = p + 1;
            wakeSleepers();
            return;
        }
        long start = System.nanoTime();
        while (phase == p) {
            if (failure != null) throw new Aborted();
            for (int i = 0; i < 64 && phase == p; i++) Thread.onSpinWait();
            if (phase != p || System.nanoTime() - start < BARRIER_SPIN_NANOS) continue;
            // Dekker-style with the releaser (it writes phase, then reads sleeping): one of the two sees the other
            sleeping.set(me, 1);
            while (phase == p && failure == null) LockSupport.park(this);
            sleeping.set(me, 0);
        }
    }

    private void wakeSleepers() {
        for (int i = 0; i < size; i++) if (sleeping.get(i) != 0) LockSupport.unpark(threads[i]);
    }

    private boolean isMember() {
        Thread me = Thread.currentThread();
        for (Thread t : workers) if (t == me) return true;
        return false;
    }

    private void fail(Throwable e) {
        synchronized (this) {
            if (failure == null) failure = e;
        }
        for (Thread t : threads) if (t != null) LockSupport.unpark(t); // members parked at a barrier leave it
    }

    private void awaitZero(AtomicInteger count) {
        long start = 0;
        for (int spins = 0; count.get() != 0; spins++) {
            if ((spins & 255) == 255) {
                long now = System.nanoTime();
                if (start == 0) start = now;
                else if (now - start > BARRIER_SPIN_NANOS) Thread.yield();
            }
            Thread.onSpinWait();
        }
    }

    private void work(int member) {
        int seen = 0;
        while (!stopped) {
            if (epoch == seen) {
                idle(seen);
                continue;
            }
            seen = epoch;
            Body b = body;
            try {
                if (b != null) {
                    b.run(members[member]);
                    members[member].barrier();
                }
            } catch (Aborted e) {
                // another member failed first
            } catch (Throwable e) {
                fail(e);
            } finally {
                running.decrementAndGet();
            }
        }
    }

    /** Spins for the next region, then parks until {@link #run} unparks this member. */
    private void idle(int seen) {
        long start = System.nanoTime();
        while (epoch == seen && !stopped) {
            for (int i = 0; i < 256 && epoch == seen; i++) Thread.onSpinWait();
            if (System.nanoTime() - start > IDLE_SPIN_NANOS) {
                // run() increments epoch before it unparks: a park that starts after that returns at once
                if (epoch == seen && !stopped) LockSupport.park(this);
                start = System.nanoTime();
            }
        }
    }

    private void stop() {
        stopped = true;
        for (Thread t : workers) LockSupport.unpark(t);
    }

    /** Thrown inside members to leave a region another member failed in. */
    private static final class Aborted extends RuntimeException {
        Aborted() {
            super(null, null, false, false);
        }
    }
}
