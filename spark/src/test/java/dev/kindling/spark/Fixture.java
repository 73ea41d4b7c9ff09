package dev.kindling.spark;

import dev.kindling.data.Batch;
import dev.kindling.data.Example;
import dev.kindling.nn.Linear;
import dev.kindling.nn.Module;
import dev.kindling.nn.ReLU;
import dev.kindling.nn.Sequential;
import dev.kindling.optim.AdamW;
import dev.kindling.optim.Optimizer;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** A small classification task as a DataFrame of two partitions, and its single-process reference run. */
final class Fixture {
    static final int IN = 6, HIDDEN = 16, CLASSES = 4, ROWS_PER_PART = 12, BATCH = 8, STEPS = 20;
    static final StructType SCHEMA = new StructType()
            .add("x", DataTypes.createArrayType(DataTypes.FloatType, false), false)
            .add("y", DataTypes.LongType, false);

    static Module mlp() {
        Generator g = new Generator(7);
        return new Sequential(new Linear(IN, HIDDEN, true, g), new ReLU(), new Linear(HIDDEN, CLASSES, true, g));
    }

    static Optimizer adamw(List<Tensor> params) {
        return new AdamW(params, 0.01, 0.1);
    }

    static List<Row> rows() {
        Random r = new Random(42);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 2 * ROWS_PER_PART; i++) {
            float[] x = new float[IN];
            for (int j = 0; j < IN; j++) x[j] = (float) r.nextGaussian();
            rows.add(RowFactory.create(x, (long) r.nextInt(CLASSES)));
        }
        return rows;
    }

    /** The rows in two partitions: the first half in partition 0. */
    static Dataset<Row> frame(SparkSession spark) {
        var jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(rows(), 2), SCHEMA);
    }

    static Example example(Row row) {
        // Spark hands the array column over as a list; the rows made here hold the float[] itself
        float[] v;
        if (row.get(0) instanceof float[] a) v = a;
        else {
            List<Float> x = row.getList(0);
            v = new float[x.size()];
            for (int i = 0; i < v.length; i++) v[i] = x.get(i);
        }
        return new Example(Tensor.fromArray(v, v.length), Tensor.wrapLongs(new long[] {row.getLong(1)}));
    }

    /** One process, the whole global batch per step: each rank's share of step s, concatenated. */
    static float[] trainSingle(int steps) {
        List<Row> rows = rows();
        Module m = mlp();
        Optimizer opt = adamw(m.parameters());
        int half = BATCH / 2;
        for (int s = 0; s < steps; s++) {
            List<Tensor> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (int part = 0; part < 2; part++)
                for (int i = 0; i < half; i++) {
                    Example e = example(rows.get(part * ROWS_PER_PART + (s * half + i) % ROWS_PER_PART));
                    xs.add(e.input());
                    ys.add(e.target());
                }
            opt.zeroGrad();
            SparkTrainer.LossFunction.crossEntropy().loss(m, new Batch(Tensor.stack(xs, 0), Tensor.stack(ys, 0))).backward();
            opt.step();
        }
        return flatten(m);
    }

    static float[] flatten(Module m) {
        List<Float> out = new ArrayList<>();
        for (Tensor p : m.parameters()) for (float f : p.toFloatArray()) out.add(f);
        float[] v = new float[out.size()];
        for (int i = 0; i < v.length; i++) v[i] = out.get(i);
        return v;
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        if (expected.length != actual.length) throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        for (int i = 0; i < expected.length; i++)
            if (!(Math.abs(expected[i] - actual[i]) <= tol))
                throw new AssertionError(what + ": parameter value " + i + " is " + actual[i] + ", expected " + expected[i]);
    }
}
