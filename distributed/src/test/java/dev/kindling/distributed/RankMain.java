package dev.kindling.distributed;

/**
 * A rank run as its own process by {@link MultiProcessTest}: joins the group from the environment, then
 * either checks an all-reduce and a broadcast ("collectives") or stalls inside a long-running loop of
 * all-reduces so the test can kill a peer mid-collective ("fault").
 */
public final class RankMain {
    public static void main(String[] args) {
        String mode = args[0];
        try (TcpProcessGroup pg = TcpProcessGroup.fromEnvironment()) {
            int rank = pg.rank(), n = pg.worldSize();
            if (mode.equals("collectives")) {
                float[] a = new float[100_003];
                for (int i = 0; i < a.length; i++) a[i] = (rank + 1) * (i % 1000);
                pg.allReduce(a, ReduceOp.SUM);
                int tri = n * (n + 1) / 2;
                for (int i = 0; i < a.length; i++)
                    if (a[i] != tri * (i % 1000)) throw new AssertionError("rank " + rank + ": a[" + i + "] = " + a[i]);
                float[] b = {rank, rank, rank};
                pg.broadcast(b, 0, 3, n - 1);
                if (b[2] != n - 1) throw new AssertionError("rank " + rank + ": broadcast gave " + b[2]);
                pg.barrier();
                System.out.println("ok rank " + rank + " of " + n);
            } else {
                System.out.println("ready rank " + rank);
                System.out.flush();
                float[] a = new float[1 << 20];
                try {
                    while (true) pg.allReduce(a, ReduceOp.AVG);
                } catch (DistributedException e) {
                    System.out.println("failed: " + e.getMessage());
                    System.exit(3);
                }
            }
        }
    }
}
