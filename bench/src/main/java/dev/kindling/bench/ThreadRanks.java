package dev.kindling.bench;

import dev.kindling.distributed.ProcessGroup;
import dev.kindling.distributed.TcpProcessGroup;
import dev.kindling.distributed.TcpStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs a body on every rank of a group whose ranks are threads of this JVM, over loopback TCP. */
final class ThreadRanks {
    interface Body<T> {
        T run(ProcessGroup pg) throws Exception;
    }

    private ThreadRanks() {}

    /** Each rank's result, in rank order; the first failure is rethrown. */
    static <T> List<T> run(int n, Body<T> body) throws Exception {
        Duration timeout = Duration.ofSeconds(120);
        try (TcpStore.Server server = TcpStore.serve("127.0.0.1", 0); ExecutorService pool = Executors.newFixedThreadPool(n)) {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (TcpStore store = new TcpStore("127.0.0.1", server.port(), timeout);
                         ProcessGroup pg = new TcpProcessGroup(store, rank, n, "127.0.0.1", timeout)) {
                        return body.run(pg);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) out.add(f.get());
            return out;
        }
    }
}
