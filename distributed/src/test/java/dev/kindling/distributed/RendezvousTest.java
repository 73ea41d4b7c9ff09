package dev.kindling.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class RendezvousTest {
    /** An all-gather among threads, as a Spark barrier stage gives one among tasks. */
    static final class ThreadAllGather {
        private final String[] slots;
        private final CyclicBarrier barrier;

        ThreadAllGather(int n) {
            slots = new String[n];
            barrier = new CyclicBarrier(n);
        }

        TcpProcessGroup.AllGather forRank(int rank) {
            return message -> {
                slots[rank] = message;
                try {
                    barrier.await();
                    List<String> all = List.copyOf(Arrays.asList(slots));
                    barrier.await();
                    return all;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
        }
    }

    @Test
    void ranksFindEachOtherThroughAnAllGatherAndReduce() throws Exception {
        int n = 3;
        var gather = new ThreadAllGather(n);
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            List<Future<float[]>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (var pg = TcpProcessGroup.rendezvous(gather.forRank(rank), rank, n, "127.0.0.1", Duration.ofSeconds(30))) {
                        float[] v = {rank, 1};
                        pg.allReduce(v, ReduceOp.SUM);
                        return v;
                    }
                }));
            }
            for (Future<float[]> f : fs) assertArrayEquals(new float[] {3, 3}, f.get());
        }
    }

    @Test
    void aMalformedStoreAddressIsNamed() {
        TcpProcessGroup.AllGather liar = m -> List.of("nowhere", "");
        var e = assertThrows(DistributedException.class,
                () -> TcpProcessGroup.rendezvous(liar, 1, 2, "127.0.0.1", Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("'nowhere'"), e.getMessage());
        var e2 = assertThrows(DistributedException.class,
                () -> TcpProcessGroup.rendezvous(m -> List.of("a:1"), 1, 2, "127.0.0.1", Duration.ofSeconds(5)));
        assertTrue(e2.getMessage().contains("1 messages for 2 ranks"), e2.getMessage());
    }
}
