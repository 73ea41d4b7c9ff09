package dev.kindling.spark;

import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.util.AccumulatorV2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Training progress on the driver: rank 0 puts {step, total steps, loss} into an accumulator, executors send
 * accumulator values with their heartbeats ({@code spark.executor.heartbeatInterval}), and this listener logs
 * each new step it sees. Barrier tasks have no other channel to the driver while they run.
 */
final class TrainProgress extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(SparkTrainer.class);
    private final Latest accumulator = new Latest();
    private final int ranks;
    private double lastLogged = -1;

    TrainProgress(int ranks) {
        this.ranks = ranks;
    }

    Latest accumulator() {
        return accumulator;
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t : CollectionConverters.asJava(update.accumUpdates())) {
            for (AccumulableInfo info : CollectionConverters.asJava(t._4())) {
                if (info.id() != accumulator.id() || info.update().isEmpty()) continue;
                if (info.update().get() instanceof double[] v && v.length == 3 && v[0] > lastLogged) {
                    lastLogged = v[0];
                    LOG.info("step {}/{} on {} ranks, loss {}", (long) v[0] + 1, (long) v[1], ranks, String.format("%.4f", v[2]));
                }
            }
        }
    }

    /** Keeps the latest {step, total, loss} (the highest step wins a merge). */
    static final class Latest extends AccumulatorV2<double[], double[]> {
        private double[] value;

        @Override
        public boolean isZero() {
            return value == null;
        }

        @Override
        public AccumulatorV2<double[], double[]> copy() {
            Latest c = new Latest();
            c.value = value == null ? null : value.clone();
            return c;
        }

        @Override
        public void reset() {
            value = null;
        }

        @Override
        public void add(double[] v) {
            if (value == null || v[0] >= value[0]) value = v.clone();
        }

        @Override
        public void merge(AccumulatorV2<double[], double[]> other) {
            if (other.value() != null) add(other.value());
        }

        @Override
        public double[] value() {
            return value;
        }
    }
}
