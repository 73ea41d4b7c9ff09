package dev.kindling.distributed;

import static dev.kindling.distributed.TrainingFixture.BATCH;
import static dev.kindling.distributed.TrainingFixture.STEPS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.optim.Optimizer;
import dev.kindling.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DistributedDataParallelTest {
    @ParameterizedTest
    @ValueSource(strings = {"sgd", "adamw"})
    void twoRanksWithHalfBatchesMatchOneProcessWithTheWholeBatch(String optimizer) throws Exception {
        float[] reference = TrainingFixture.trainSingle(optimizer);
        List<float[]> ranks = LocalCluster.run(2, pg -> {
            // rank 1 starts from different weights: the constructor's broadcast must replace them with rank 0's
            var ddp = new DistributedDataParallel(TrainingFixture.mlp(1 + pg.rank()), pg);
            trainOnHalfBatches(ddp, TrainingFixture.optimizer(optimizer, ddp.parameters()), pg.rank());
            return TrainingFixture.flatten(ddp.module());
        });
        TrainingFixture.assertClose(reference, ranks.get(0), 1e-5, optimizer + " rank 0");
        assertEquals(Arrays.toString(ranks.get(0)), Arrays.toString(ranks.get(1)), "replicas must stay bit-identical");
    }

    /**
     * Weak scaling, nanoGPT's DDP recipe: every rank keeps the whole per-rank batch, so the run is one process
     * training on the doubled batch (the mean loss of each rank, averaged, is the mean over both ranks' rows).
     */
    @Test
    void twoRanksWithAWholeBatchEachMatchOneProcessWithTheDoubledBatch() throws Exception {
        float[] reference = TrainingFixture.trainSingle("adamw", 2 * BATCH);
        List<float[]> ranks = LocalCluster.run(2, pg -> {
            var ddp = new DistributedDataParallel(TrainingFixture.mlp(1), pg);
            Optimizer opt = TrainingFixture.optimizer("adamw", ddp.parameters());
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                TrainingFixture.loss(ddp, TrainingFixture.batch(s, 2 * BATCH, pg.rank() * BATCH, (pg.rank() + 1) * BATCH)).backward();
                ddp.syncGradients();
                opt.step();
            }
            return TrainingFixture.flatten(ddp.module());
        });
        TrainingFixture.assertClose(reference, ranks.get(0), 1e-5, "weak scaling rank 0");
        assertEquals(Arrays.toString(ranks.get(0)), Arrays.toString(ranks.get(1)), "replicas must stay bit-identical");
    }

    @Test
    void noSyncAccumulatesMicroBatchesAndSyncsOnce() throws Exception {
        float[] reference = TrainingFixture.trainSingle("adamw");
        List<float[]> ranks = LocalCluster.run(2, pg -> {
            // tiny buckets: every parameter gets its own all-reduce
            var ddp = new DistributedDataParallel(TrainingFixture.mlp(1), pg, 64);
            assertEquals(4, ddp.bucketCount());
            Optimizer opt = TrainingFixture.optimizer("adamw", ddp.parameters());
            int quarter = BATCH / 4;
            for (int s = 0; s < STEPS; s++) {
                opt.zeroGrad();
                int first = pg.rank() * 2 * quarter;
                try (var scope = ddp.noSync()) {
                    TrainingFixture.loss(ddp, TrainingFixture.batch(s, first, first + quarter)).mul(0.5).backward();
                    ddp.syncGradients(); // ignored inside the scope
                }
                TrainingFixture.loss(ddp, TrainingFixture.batch(s, first + quarter, first + 2 * quarter)).mul(0.5).backward();
                ddp.syncGradients();
                opt.step();
            }
            return TrainingFixture.flatten(ddp.module());
        });
        TrainingFixture.assertClose(reference, ranks.get(0), 1e-5, "accumulated rank 0");
        TrainingFixture.assertClose(reference, ranks.get(1), 1e-5, "accumulated rank 1");
    }

    @Test
    void parametersWithoutAGradientAnywhereKeepNone() throws Exception {
        LocalCluster.run(3, pg -> {
            Module unused = new Linear(2, 2);
            Module both = new dev.kindling.nn.Sequential(new Linear(2, 2), unused);
            var ddp = new DistributedDataParallel(both, pg);
            Linear first = (Linear) ((dev.kindling.nn.Sequential) both).get(0);
            // only rank 0 computes a gradient for the first layer; the others count as zeros
            if (pg.rank() == 0) first.forward(Tensor.ones(1, 2)).sum().backward();
            ddp.syncGradients();
            float[] g = first.bias.grad().toFloatArray();
            assertEquals(1f / 3, g[0], 1e-7);
            assertNull(((Linear) unused).weight.grad());
            return null;
        });
    }

    /** Passes collectives through, noting which thread called allReduce and opening a latch at the first one. */
    private record Recording(ProcessGroup pg, java.util.concurrent.CountDownLatch firstAllReduce, List<String> threads, boolean overlap)
            implements ProcessGroup {
        public int rank() { return pg.rank(); }
        public int worldSize() { return pg.worldSize(); }
        public java.time.Duration timeout() { return pg.timeout(); }
        public void allReduce(float[] buf, int off, int len, ReduceOp op) {
            threads.add(Thread.currentThread().getName());
            firstAllReduce.countDown();
            pg.allReduce(buf, off, len, op);
        }
        public void reduceScatter(float[] buf, int off, int len, ReduceOp op) { pg.reduceScatter(buf, off, len, op); }
        public void allGather(float[] buf, int off, int len) { pg.allGather(buf, off, len); }
        public void broadcast(float[] buf, int off, int len, int root) { pg.broadcast(buf, off, len, root); }
        public void barrier() { pg.barrier(); }
        public boolean sharedMemory() { return pg.sharedMemory() && !overlap; }
        public void close() { pg.close(); }
    }

    @Test
    void aBucketIsAllReducedOnTheCommunicationThreadWhileBackwardIsStillRunning() throws Exception {
        float[] reference = TrainingFixture.trainSingle("sgd");
        List<Object[]> out = LocalCluster.run(2, pg -> {
            var started = new java.util.concurrent.CountDownLatch(1);
            var threads = java.util.Collections.synchronizedList(new java.util.ArrayList<String>());
            Module m = TrainingFixture.mlp(1);
            // 64-byte buckets: one per parameter, last layer first
            var ddp = new DistributedDataParallel(m, new Recording(pg, started, threads, true), 64);
            Tensor firstWeight = m.parameters().get(0);
            boolean[] overlapped = new boolean[STEPS];
            int[] step = {0};
            // the first layer's weight gets its gradient last: by then the last layer's bucket must be in flight
            // (the wait is only a bound that turns a missing overlap into a failure instead of a hang)
            firstWeight.registerPostAccumulateGradHook(t -> {
                try {
                    overlapped[step[0]] = started.await(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Optimizer opt = TrainingFixture.optimizer("sgd", ddp.parameters());
            int half = BATCH / 2;
            for (int s = 0; s < STEPS; s++) {
                step[0] = s;
                opt.zeroGrad();
                TrainingFixture.loss(ddp, TrainingFixture.batch(s, pg.rank() * half, (pg.rank() + 1) * half)).backward();
                ddp.syncGradients();
                opt.step();
            }
            ddp.close();
            return new Object[] {overlapped[0], List.copyOf(threads), TrainingFixture.flatten(m)};
        });
        for (int r = 0; r < 2; r++) {
            assertEquals(Boolean.TRUE, out.get(r)[0], "rank " + r + ": no all-reduce started during backward");
            @SuppressWarnings("unchecked")
            List<String> threads = (List<String>) out.get(r)[1];
            assertEquals(4 * STEPS, threads.size());
            for (String t : threads) assertEquals("kindling-ddp-comm-" + r, t);
            TrainingFixture.assertClose(reference, (float[]) out.get(r)[2], 1e-5, "overlapped rank " + r);
        }
    }

    @Test
    void onASharedMemoryGroupAllBucketsAreAllReducedOnceBySyncOnTheCallingThread() throws Exception {
        float[] reference = TrainingFixture.trainSingle("adamw");
        List<Object[]> out = LocalCluster.run(2, pg -> {
            var threads = java.util.Collections.synchronizedList(new java.util.ArrayList<String>());
            Module m = TrainingFixture.mlp(1);
            var ddp = new DistributedDataParallel(m, new Recording(pg, new java.util.concurrent.CountDownLatch(1), threads, false), 64);
            trainOnHalfBatches(ddp, TrainingFixture.optimizer("adamw", ddp.parameters()), pg.rank());
            return new Object[] {pg.sharedMemory(), ddp.bucketCount(), List.copyOf(threads), Thread.currentThread().getName(), TrainingFixture.flatten(m)};
        });
        for (int r = 0; r < 2; r++) {
            assertEquals(Boolean.TRUE, out.get(r)[0], "rank " + r + " transport");
            assertEquals(4, out.get(r)[1], "rank " + r + " buckets");
            // one all-reduce of the 4 buckets per step, by the thread that called syncGradients
            assertEquals(java.util.Collections.nCopies(STEPS, out.get(r)[3]), out.get(r)[2], "rank " + r + " all-reduce threads");
            TrainingFixture.assertClose(reference, (float[]) out.get(r)[4], 1e-5, "shared-memory rank " + r);
        }
    }

    @Test
    void aSecondBackwardBeforeSyncIsRefusedOutsideNoSync() throws Exception {
        List<Object> out = LocalCluster.run(2, pg -> {
            Module m = TrainingFixture.mlp(1);
            var ddp = new DistributedDataParallel(m, pg, 64);
            TrainingFixture.loss(ddp, TrainingFixture.batch(0, 0, 2)).backward();
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> TrainingFixture.loss(ddp, TrainingFixture.batch(1, 0, 2)).backward());
            ddp.syncGradients(); // the first backward's buckets still complete on both ranks
            return e.getMessage();
        });
        assertEquals("DistributedDataParallel: parameter of shape [4] got a second gradient before syncGradients(); "
                + "run the backward of all but the last micro-batch inside noSync()", out.get(0));
    }

    /** STEPS DDP steps, rank r on rows [r B/2, (r + 1) B/2) of each batch: with two ranks, the whole batch. */
    private static void trainOnHalfBatches(DistributedDataParallel ddp, Optimizer opt, int rank) {
        int half = BATCH / 2;
        for (int s = 0; s < STEPS; s++) {
            opt.zeroGrad();
            TrainingFixture.loss(ddp, TrainingFixture.batch(s, rank * half, (rank + 1) * half)).backward();
            ddp.syncGradients();
            opt.step();
        }
    }
}
