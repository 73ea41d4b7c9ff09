package dev.kindling.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.StateDicts;
import dev.kindling.nn.Module;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on two executor JVMs: serialization, sockets between processes, and a process that dies. */
class ClusterTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = Sessions.cluster();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static float[] trainedWeights(String dir) throws Exception {
        Module m = Fixture.mlp();
        m.loadStateDict(StateDicts.load(Path.of(dir, "model.safetensors")).tensors());
        return Fixture.flatten(m);
    }

    static SparkTrainer.Builder trainer(Path dir) {
        return SparkTrainer.builder().model(Fixture::mlp).optimizer(Fixture::adamw).rows(Fixture::example)
                .batchSize(Fixture.BATCH).steps(Fixture.STEPS).threadsPerTask(1)
                .outputDir(dir.resolve("model").toString());
    }

    @Test
    void ddpOnTwoExecutorsMatchesOneProcessWithTheWholeBatch(@TempDir Path dir) throws Exception {
        TrainResult r = trainer(dir).build().fit(Fixture.frame(spark));
        assertEquals(2, r.worldSize());
        assertEquals(Fixture.STEPS, r.steps().size());
        assertEquals(0, r.resumedFromStep());
        assertEquals(2, r.steps().get(0).examplesPerSecond().length);
        Fixture.assertClose(Fixture.trainSingle(Fixture.STEPS), trainedWeights(r.modelPath()), 1e-5, "DDP on 2 executors");
    }

    /** Calls of the loss in this JVM: the executor that runs rank 1 dies at its 8th step of the first attempt. */
    static final AtomicInteger CALLS = new AtomicInteger();

    @Test
    void aKilledTaskIsRetriedAndTheRunResumesFromItsCheckpoint(@TempDir Path dir) throws Exception {
        SparkTrainer.LossFunction dying = (model, batch) -> {
            TaskContext c = TaskContext.get();
            if (c.stageAttemptNumber() == 0 && c.partitionId() == 1 && CALLS.incrementAndGet() == 8) Runtime.getRuntime().halt(17);
            return SparkTrainer.LossFunction.crossEntropy().loss(model, batch);
        };
        TrainResult r = trainer(dir).loss(dying).checkpointDir(dir.resolve("checkpoints").toString()).checkpointEvery(5)
                .build().fit(Fixture.frame(spark));
        assertEquals(5, r.resumedFromStep(), "the retried stage starts from the checkpoint of step 5");
        assertEquals(Fixture.STEPS, r.steps().size());
        for (int s = 0; s < Fixture.STEPS; s++) assertEquals(s, r.steps().get(s).step());
        assertTrue(r.finalLoss() < r.steps().get(0).loss());
        // the data order and optimizer state survive the restart: the result is the uninterrupted run's
        Fixture.assertClose(Fixture.trainSingle(Fixture.STEPS), trainedWeights(r.modelPath()), 1e-5, "resumed run");
    }
}
