package dev.kindling.distributed;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs a body on every rank of a world of threads in this JVM, each with its own TCP group over loopback;
 * the ranks share this host, so the groups move data through shared memory unless told otherwise.
 */
final class LocalCluster {
    /** Shared-memory file sizes to pass as {@code sharedBytes}: TCP only, and slots of 8-33 K floats (n = 4 to 2). */
    static final long TCP = 0, SMALL_SLOTS = 256 << 10;

    interface Body<T> {
        T run(ProcessGroup pg) throws Exception;
    }

    /** Each rank's result, or the exception it threw (as the element). */
    static <T> List<Object> runCatching(int worldSize, Duration timeout, Body<T> body) throws InterruptedException {
        return runCatching(worldSize, timeout, TcpProcessGroup.SHM_BYTES, body);
    }

    /** As above, with a shared-memory file of {@code sharedBytes} (0: TCP only). */
    static <T> List<Object> runCatching(int worldSize, Duration timeout, long sharedBytes, Body<T> body) throws InterruptedException {
        try (TcpStore.Server server = TcpStore.serve("127.0.0.1", 0);
             ExecutorService pool = Executors.newFixedThreadPool(worldSize)) {
            List<Future<Object>> futures = new ArrayList<>();
            for (int r = 0; r < worldSize; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    try (TcpStore store = new TcpStore("127.0.0.1", server.port(), timeout);
                         TcpProcessGroup pg = new TcpProcessGroup(store, rank, worldSize, "127.0.0.1", timeout, sharedBytes)) {
                        return body.run(pg);
                    } catch (Exception e) {
                        return e;
                    }
                }));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    out.add(e.getCause());
                }
            }
            return out;
        }
    }

    /** Each rank's result; rethrows the first failure. */
    static <T> List<T> run(int worldSize, Body<T> body) throws Exception {
        return run(worldSize, TcpProcessGroup.SHM_BYTES, body);
    }

    /** As above, with a shared-memory file of {@code sharedBytes} (0: TCP only). */
    @SuppressWarnings("unchecked")
    static <T> List<T> run(int worldSize, long sharedBytes, Body<T> body) throws Exception {
        List<Object> results = runCatching(worldSize, Duration.ofSeconds(60), sharedBytes, body);
        for (int r = 0; r < results.size(); r++)
            if (results.get(r) instanceof Throwable t) throw new AssertionError("rank " + r + " failed: " + t, t);
        return (List<T>) results;
    }
}
