package dev.kindling.bench;

import dev.kindling.distributed.ReduceOp;
import dev.kindling.distributed.TcpProcessGroup;
import dev.kindling.distributed.TcpStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * All-reduce bandwidth of {@link TcpProcessGroup} on one host (through shared memory, or loopback TCP with
 * {@code KINDLING_DIST_SHM=0}), ranks as threads of this JVM, for buffers of
 * 1 KiB to 64 MiB. Prints nccl-tests' columns: algorithm bandwidth (bytes / time) and bus bandwidth
 * (algbw × 2(n-1)/n, what each link carries, comparable across world sizes), and the CPU time a rank spends per
 * all-reduce (user and system: the kernel's socket copies count), in total and per byte of the buffer.
 * <pre>java ... dev.kindling.bench.AllReduceBench [worldSize=2] [maxBytes=67108864]</pre>
 */
public final class AllReduceBench {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        long maxBytes = args.length > 1 ? Long.parseLong(args[1]) : 64L << 20;
        List<Long> sizes = new ArrayList<>();
        for (long b = 1024; b <= maxBytes; b *= 4) sizes.add(b);
        Duration timeout = Duration.ofSeconds(120);
        try (TcpStore.Server server = TcpStore.serve("127.0.0.1", 0); ExecutorService pool = Executors.newFixedThreadPool(n)) {
            List<Future<double[]>> fs = new ArrayList<>();
            boolean[] sharedMemory = new boolean[1];
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    var threadMx = java.lang.management.ManagementFactory.getThreadMXBean();
                    try (TcpStore store = new TcpStore("127.0.0.1", server.port(), timeout);
                         TcpProcessGroup pg = new TcpProcessGroup(store, rank, n, "127.0.0.1", timeout)) {
                        if (rank == 0) sharedMemory[0] = pg.sharedMemory();
                        // [0, k): seconds per all-reduce; [k, 2k): this rank's CPU seconds per all-reduce (user + system,
                        // so the kernel's socket copies count): what the transport costs a rank besides the wait
                        double[] secs = new double[2 * sizes.size()];
                        for (int i = 0; i < sizes.size(); i++) {
                            float[] buf = new float[(int) (sizes.get(i) / 4)];
                            java.util.Arrays.fill(buf, 1f);
                            // warm-up, then enough iterations for ~0.5 s or at least 5
                            for (int w = 0; w < 3; w++) pg.allReduce(buf, ReduceOp.SUM);
                            int iters = (int) Math.max(5, Math.min(2000, (256L << 20) / sizes.get(i)));
                            pg.barrier();
                            long t0 = System.nanoTime(), c0 = threadMx.getCurrentThreadCpuTime();
                            for (int it = 0; it < iters; it++) pg.allReduce(buf, ReduceOp.AVG);
                            long c1 = threadMx.getCurrentThreadCpuTime();
                            pg.barrier();
                            secs[i] = (System.nanoTime() - t0) / 1e9 / iters;
                            secs[sizes.size() + i] = (c1 - c0) / 1e9 / iters;
                        }
                        return secs;
                    }
                }));
            }
            double[] secs = fs.get(0).get();
            int k = sizes.size();
            double[] cpu = new double[k]; // mean over the ranks
            for (Future<double[]> f : fs) {
                double[] s = f.get();
                for (int i = 0; i < k; i++) cpu[i] += s[k + i] / n;
            }
            System.out.printf(Locale.ROOT, "all-reduce, %d ranks (threads), %d cores, data through %s%n", n, Runtime.getRuntime().availableProcessors(),
                    sharedMemory[0] ? "shared memory (doorbells over loopback TCP)" : "loopback TCP");
            System.out.printf(Locale.ROOT, "%12s %12s %12s %12s %14s %14s%n", "bytes", "time (us)", "algbw GB/s", "busbw GB/s",
                    "cpu us/rank", "cpu ns/B/rank");
            for (int i = 0; i < k; i++) {
                double alg = sizes.get(i) / secs[i] / 1e9;
                System.out.printf(Locale.ROOT, "%12d %12.1f %12.3f %12.3f %14.1f %14.3f%n", sizes.get(i), secs[i] * 1e6, alg,
                        alg * 2 * (n - 1) / n, cpu[i] * 1e6, cpu[i] * 1e9 / sizes.get(i));
            }
        }
    }
}
