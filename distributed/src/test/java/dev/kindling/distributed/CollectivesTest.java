package dev.kindling.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class CollectivesTest {
    /**
     * Lengths around the shard boundaries, one past the 1 MiB scratch buffer, and zero; up to 1000 take the
     * small-message path at every world size, 4099 at 2 and 3 ranks, 300001 never.
     */
    private static final int[] LENGTHS = {0, 1, 2, 3, 5, 7, 8, 9, 17, 1000, 4099, 300_001};

    private static float[] data(int rank, int len, int salt) {
        Random r = new Random(31L * rank + 1_000_003L * len + salt);
        float[] a = new float[len];
        for (int i = 0; i < len; i++) a[i] = (float) r.nextGaussian() * (1 + rank);
        return a;
    }

    private static float[] reference(int worldSize, int len, int salt, ReduceOp op) {
        double[] acc = new double[len];
        if (op == ReduceOp.MAX) Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        for (int r = 0; r < worldSize; r++) {
            float[] a = data(r, len, salt);
            for (int i = 0; i < len; i++) acc[i] = op == ReduceOp.MAX ? Math.max(acc[i], a[i]) : acc[i] + a[i];
        }
        float[] out = new float[len];
        for (int i = 0; i < len; i++) out[i] = (float) (op == ReduceOp.AVG ? acc[i] / worldSize : acc[i]);
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, int from, int to, String what) {
        for (int i = from; i < to; i++) {
            float tol = 1e-5f * (1 + Math.abs(expected[i])) * 8;
            if (!(Math.abs(expected[i] - actual[i]) <= tol))
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
        }
    }

    /** World sizes 1-8 over TCP and over shared memory, and a few with slots so small that buffers are chunked. */
    static Stream<Arguments> worlds() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int n = 1; n <= 8; n++) {
            b.add(Arguments.of(n, LocalCluster.TCP));
            b.add(Arguments.of(n, TcpProcessGroup.SHM_BYTES));
        }
        for (int n : new int[] {2, 3, 4}) b.add(Arguments.of(n, LocalCluster.SMALL_SLOTS));
        return b.build();
    }

    @ParameterizedTest(name = "{0} ranks, shared bytes {1}")
    @MethodSource("worlds")
    void collectivesMatchASerialReference(int n, long sharedBytes) throws Exception {
        if (sharedBytes > 0) assumeTrue(Files.isDirectory(Path.of("/dev/shm")), "shared memory needs /dev/shm");
        LocalCluster.run(n, sharedBytes, pg -> {
            assertEquals(n > 1 && sharedBytes > 0, ((TcpProcessGroup) pg).sharedMemory(), "transport");
            int rank = pg.rank(), salt = 0;
            Random pick = new Random(n); // the same on every rank: all ranks must agree on the call sequence
            for (int len : LENGTHS) {
                if (len > 100_000 && n > 4) continue; // keep the 2-core machine quick; n <= 4 covers streaming
                for (ReduceOp op : ReduceOp.values()) {
                    salt++;
                    // allReduce on a region in the middle of a bigger array: the borders must stay untouched
                    float[] buf = new float[len + 5];
                    Arrays.fill(buf, -7f);
                    System.arraycopy(data(rank, len, salt), 0, buf, 2, len);
                    pg.allReduce(buf, 2, len, op);
                    float[] got = Arrays.copyOfRange(buf, 2, 2 + len);
                    assertClose(reference(n, len, salt, op), got, 0, len, "allReduce " + op + " n=" + n + " len=" + len);
                    assertEquals(-7f, buf[0]);
                    assertEquals(-7f, buf[len + 4]);

                    salt++;
                    float[] rs = data(rank, len, salt);
                    pg.reduceScatter(rs, 0, len, op);
                    int s = ProcessGroup.shardStart(len, n, rank), e = s + ProcessGroup.shardLength(len, n, rank);
                    assertClose(reference(n, len, salt, op), rs, s, e, "reduceScatter " + op + " n=" + n + " len=" + len);
                }
                // allGather: every rank fills its shard with its own values
                float[] full = reference(1, len, 999, ReduceOp.SUM);
                float[] ag = new float[len];
                int s = ProcessGroup.shardStart(len, n, rank);
                System.arraycopy(full, s, ag, s, ProcessGroup.shardLength(len, n, rank));
                pg.allGather(ag, 0, len);
                assertEquals(Arrays.toString(Arrays.copyOf(full, Math.min(len, 20))), Arrays.toString(Arrays.copyOf(ag, Math.min(len, 20))));
                assertClose(full, ag, 0, len, "allGather n=" + n + " len=" + len);

                int root = pick.nextInt(n);
                float[] b = data(rank, len, 4242);
                pg.broadcast(b, 0, len, root);
                assertClose(data(root, len, 4242), b, 0, len, "broadcast root " + root + " n=" + n + " len=" + len);
                pg.barrier();
            }
            return null;
        });
    }

    @ParameterizedTest(name = "{0} floats, shared bytes {1}")
    @CsvSource({"10001, 0", "333, 0", "10001, 33554432", "333, 33554432", "10001, 262144"})
    void averagingGivesTheSameBitsOnEveryRank(int len, long sharedBytes) throws Exception {
        // 10001 floats take the ring: the owner of each shard reduces it and the all-gather copies it; 333 take
        // the small-message path, where every rank sums the same copies in rank order. Either way replicas
        // cannot drift apart; the same holds for both paths over shared memory, chunked or not.
        assertEquals(len * 3 <= TcpProcessGroup.SMALL_FLOATS, len == 333);
        List<float[]> out = LocalCluster.run(3, sharedBytes, pg -> {
            float[] a = data(pg.rank(), len, 5);
            pg.allReduce(a, ReduceOp.AVG);
            return a;
        });
        assertEquals(Arrays.hashCode(out.get(0)), Arrays.hashCode(out.get(1)));
        assertEquals(Arrays.hashCode(out.get(0)), Arrays.hashCode(out.get(2)));
    }

    @Test
    void badRegionsAreRefusedWithTheirBounds() throws Exception {
        LocalCluster.run(1, pg -> {
            var e = assertThrows(IllegalArgumentException.class, () -> pg.allReduce(new float[4], 2, 3, ReduceOp.SUM));
            assertEquals("allReduce: region [2, 5) is outside a buffer of 4", e.getMessage());
            var b = assertThrows(IllegalArgumentException.class, () -> pg.broadcast(new float[4], 0, 4, 1));
            assertEquals("broadcast: root 1 is not a rank of a group of 1", b.getMessage());
            return null;
        });
    }

    @Test
    void shardsCoverTheRegionWithLongerShardsFirst() {
        assertEquals(List.of(0, 3, 6, 8, 10), List.of(ProcessGroup.shardStart(10, 4, 0), ProcessGroup.shardStart(10, 4, 1),
                ProcessGroup.shardStart(10, 4, 2), ProcessGroup.shardStart(10, 4, 3), ProcessGroup.shardStart(10, 4, 4)));
        assertEquals(0, ProcessGroup.shardLength(2, 4, 3));
    }
}
