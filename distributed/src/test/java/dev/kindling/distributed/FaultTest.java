package dev.kindling.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A rank that stalls or vanishes makes every other rank fail, naming it, instead of hanging. */
class FaultTest {
    @ParameterizedTest(name = "shared bytes {0}")
    @ValueSource(longs = {LocalCluster.TCP, 32 << 20})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aStalledRankIsNamedAfterTheTimeout(long sharedBytes) throws Exception {
        List<Object> results = LocalCluster.runCatching(3, Duration.ofMillis(1500), sharedBytes, pg -> {
            if (pg.rank() == 2) {
                Thread.sleep(6000); // alive but not taking part: a hung training step
                return null;
            }
            pg.allReduce(new float[50_000], ReduceOp.SUM);
            return null;
        });
        for (int r = 0; r < 2; r++) {
            var e = assertInstanceOf(DistributedException.class, results.get(r), "rank " + r);
            System.out.println(e.getMessage());
            assertTrue(e.getMessage().contains("allReduce #1 on rank " + r + " of 3 failed: rank 2 stopped responding or died"), e.getMessage());
        }
        assertNull(results.get(2));
    }

    @ParameterizedTest(name = "shared bytes {0}")
    @ValueSource(longs = {LocalCluster.TCP, 32 << 20})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRankThatClosesItsSocketsMidAllReduceIsNamedAtOnce(long sharedBytes) throws Exception {
        // the timeout is long: the others must notice the closed connections, not wait the timeout out
        List<Object> results = LocalCluster.runCatching(4, Duration.ofSeconds(40), sharedBytes, pg -> {
            if (pg.rank() == 3) {
                Thread.sleep(300); // the others are inside allReduce by now, with data in flight towards us
                ((TcpProcessGroup) pg).abandon();
                return null;
            }
            long t0 = System.nanoTime();
            try {
                pg.allReduce(new float[200_000], ReduceOp.AVG);
            } catch (DistributedException e) {
                return new DistributedException(e.getMessage() + " [after " + (System.nanoTime() - t0) / 1_000_000 + " ms]");
            }
            return null;
        });
        for (int r = 0; r < 3; r++) {
            var e = assertInstanceOf(DistributedException.class, results.get(r), "rank " + r);
            System.out.println(e.getMessage());
            assertTrue(e.getMessage().contains("allReduce #1 on rank " + r + " of 4 failed: rank 3 stopped responding or died"), e.getMessage());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aBrokenGroupRefusesLaterCollectives() throws Exception {
        List<Object> results = LocalCluster.runCatching(2, Duration.ofMillis(500), pg -> {
            if (pg.rank() == 1) {
                Thread.sleep(3000);
                return null;
            }
            try {
                pg.barrier();
            } catch (DistributedException first) {
                try {
                    pg.allReduce(new float[3], ReduceOp.SUM);
                } catch (DistributedException second) {
                    return second;
                }
            }
            return null;
        });
        var e = assertInstanceOf(DistributedException.class, results.get(0));
        assertTrue(e.getMessage().startsWith("allReduce on rank 0: the process group is broken since barrier #1 on rank 0 of 2 failed"), e.getMessage());
    }

    @ParameterizedTest(name = "shared bytes {0}")
    @ValueSource(longs = {LocalCluster.TCP, 32 << 20})
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aRankThatDiesDuringOverlappedBackwardFailsSyncGradientsNamingIt(long sharedBytes) throws Exception {
        List<Object> results = LocalCluster.runCatching(2, Duration.ofSeconds(40), sharedBytes, pg -> {
            var ddp = new DistributedDataParallel(TrainingFixture.mlp(1), pg, 64);
            for (int s = 0; ; s++) {
                if (pg.rank() == 1 && s == 3) {
                    ((TcpProcessGroup) pg).abandon(); // dies between steps: over TCP rank 0's buckets are in flight, over shared memory syncGradients all-reduces them
                    return null;
                }
                TrainingFixture.loss(ddp, TrainingFixture.batch(s, 0, 4)).backward();
                ddp.syncGradients(); // rethrows the communication thread's failure, or fails itself
                ddp.zeroGrad();
            }
        });
        var e = assertInstanceOf(DistributedException.class, results.get(0), () -> String.valueOf(results.get(0)));
        System.out.println(e.getMessage());
        assertTrue(e.getMessage().matches("allReduce #\\d+ on rank 0 of 2 failed: rank 1 stopped responding or died; here: .*"), e.getMessage());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void ranksThatCallDifferentCollectivesFailNamingEachOtherOverSharedMemory() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/dev/shm")), "shared memory needs /dev/shm");
        // over TCP such a mix-up can go unnoticed (both calls move 10 floats); the doorbell's signature catches it
        List<Object> results = LocalCluster.runCatching(2, Duration.ofSeconds(20), pg -> {
            assertTrue(((TcpProcessGroup) pg).sharedMemory());
            if (pg.rank() == 0) pg.allReduce(new float[10], ReduceOp.SUM);
            else pg.broadcast(new float[10], 0, 10, 0);
            return null;
        });
        var e0 = assertInstanceOf(DistributedException.class, results.get(0));
        assertTrue(e0.getMessage().matches("allReduce #1 on rank 0 of 2 failed: here: rank 1 rang the shared-memory doorbell for step 1 "
                + "\\(collective signature \\d+\\) while this rank is at step 1 \\(signature \\d+\\): the ranks did not call the same "
                + "collectives with the same lengths"), e0.getMessage());
        var e1 = assertInstanceOf(DistributedException.class, results.get(1));
        assertTrue(e1.getMessage().startsWith("broadcast #1 on rank 1 of 2 failed: here: rank 0 rang"), e1.getMessage());
    }

    @Test
    void theSharedFileIsDeletedOnceEveryRankHasMappedIt() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/dev/shm")), "shared memory needs /dev/shm");
        List<Object> results = LocalCluster.runCatching(3, Duration.ofSeconds(20), pg -> {
            Path file = ((TcpProcessGroup) pg).sharedFile();
            pg.barrier(); // rank 0 deletes the name before its constructor returns; the barrier orders the checks after it
            float[] x = {pg.rank() + 1};
            pg.allReduce(x, ReduceOp.SUM);
            return file.getFileName() + " exists=" + Files.exists(file) + " sum=" + x[0];
        });
        String name = ((String) results.get(0)).split(" ")[0];
        assertTrue(name.startsWith("kindling-"), name);
        for (Object r : results) assertEquals(name + " exists=false sum=6.0", r);
    }

    @Test
    void badSharedMemorySettingsAreRefusedNamingTheValue() {
        assertEquals(false, TcpProcessGroup.parseSwitch("KINDLING_DIST_SHM", "0"));
        assertEquals(true, TcpProcessGroup.parseSwitch("kindling.dist.shm", " TRUE"));
        var e = assertThrows(IllegalArgumentException.class, () -> TcpProcessGroup.parseSwitch("KINDLING_DIST_SHM", "yes"));
        assertEquals("process group: KINDLING_DIST_SHM must be 0, 1, true or false, got 'yes'", e.getMessage());
        assertEquals(1L << 20, TcpProcessGroup.sharedBytesSetting("1048576"));
        var b = assertThrows(IllegalArgumentException.class, () -> TcpProcessGroup.sharedBytesSetting("32M"));
        assertEquals("process group: kindling.dist.shmBytes must be a byte count of at least 65536, got '32M'", b.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TcpProcessGroup.sharedBytesSetting("1000"));
    }
}
