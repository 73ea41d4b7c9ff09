package dev.kindling.examples.spark;

import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.optim.AdamW;
import dev.kindling.spark.GenerateOptions;
import dev.kindling.spark.KindlingSpark;
import dev.kindling.spark.SparkTrainer;
import dev.kindling.spark.StepMetrics;
import dev.kindling.spark.TokenizeResult;
import dev.kindling.spark.TrainResult;
import dev.kindling.tensor.Generator;
import dev.kindling.tokenizers.CharTokenizer;
import java.nio.file.Files;
import java.util.List;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The whole path on a cluster: tokenise a text corpus in parallel, train nanoGPT's baby GPT (character level)
 * with one barrier task per executor, then generate from a DataFrame of prompts.
 * <pre>
 * spark-submit --class dev.kindling.examples.spark.ShakespeareJob --num-executors 2 --executor-cores 1 \
 *   --conf spark.executor.extraJavaOptions=--add-modules=jdk.incubator.vector \
 *   --conf spark.driver.extraJavaOptions=--add-modules=jdk.incubator.vector \
 *   kindling-spark-example.jar INPUT.txt OUTPUT_FOLDER [--workers 2] [--steps 200] [--batch-size 24]
 * </pre>
 * INPUT and OUTPUT_FOLDER are Hadoop URIs (hdfs://, s3a://, file:/ or a plain path). OUTPUT_FOLDER receives
 * {@code tokenizer/}, {@code shards/}, {@code checkpoints/} and {@code model/}; {@code kindling generate --model}
 * runs the model folder on one machine.
 */
public final class ShakespeareJob {
    private ShakespeareJob() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ShakespeareJob INPUT.txt OUTPUT_FOLDER [--workers N] [--steps N] [--batch-size N]");
            System.exit(2);
        }
        String input = args[0], out = args[1];
        int workers = 2, steps = 200, batch = 24;
        for (int i = 2; i + 1 < args.length; i += 2) {
            int v = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--workers" -> workers = v;
                case "--steps" -> steps = v;
                case "--batch-size" -> batch = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        SparkSession spark = SparkSession.builder().appName("kindling-shakespeare").getOrCreate();
        try {
            run(spark, input, out, workers, steps, batch);
        } finally {
            spark.stop();
        }
    }

    static void run(SparkSession spark, String input, String out, int workers, int steps, int batch) throws Exception {
        // 1. the corpus as rows of 20 lines each, newlines kept (a character tokenizer has no end-of-text token)
        Dataset<Row> lines = spark.read().text(input).withColumn("n", functions.monotonically_increasing_id());
        Dataset<Row> docs = lines.groupBy(functions.floor(functions.col("n").divide(20)).as("doc"))
                .agg(functions.concat_ws("", functions.collect_list(functions.concat(functions.col("value"), functions.lit("\n")))).as("text"))
                .repartitionByRange(workers, functions.col("doc")).sortWithinPartitions("doc");

        // 2. a character vocabulary from the distinct characters, saved where the executors can read it
        List<String> chars = docs.select(functions.explode(functions.split(functions.col("text"), "")).as("c")).distinct()
                .as(Encoders.STRING()).collectAsList();
        CharTokenizer tokenizer = CharTokenizer.fromText(String.join("", new TreeSet<>(chars)));
        String tokenizerDir = new Path(out, "tokenizer").toString();
        java.nio.file.Path local = Files.createTempFile("tokenizer", ".json");
        tokenizer.save(local);
        FileSystem fs = new Path(out).getFileSystem(spark.sparkContext().hadoopConfiguration());
        fs.copyFromLocalFile(true, true, new Path(local.toString()), new Path(tokenizerDir, "tokenizer.json"));

        // 3. token shards, one per partition
        String shards = new Path(out, "shards").toString();
        TokenizeResult tokens = KindlingSpark.tokenize(docs, "text", tokenizerDir, shards);
        System.out.printf("tokenised into %d shards, %,d tokens, vocabulary %d%n", tokens.shards().size(), tokens.totalTokens(), tokens.vocabSize());

        // 4. the baby GPT of `kindling train gpt`, data parallel over the workers
        int block = 64;
        GptConfig cfg = new GptConfig(tokenizer.vocabSize(), block, 4, 4, 128, 0.0, true);
        Dataset<Row> windows = KindlingSpark.tokenWindows(spark, shards, block).repartition(workers);
        String modelDir = new Path(out, "model").toString();
        TrainResult r = SparkTrainer.builder()
                .model(() -> new Gpt(cfg, new Generator(1337)))
                .optimizer(p -> new AdamW(p, 1e-3, 0.1))
                .rows(SparkTrainer.tokenWindows("tokens"))
                .batchSize(batch).steps(steps).gradClip(1.0)
                .checkpointDir(new Path(out, "checkpoints").toString()).checkpointEvery(50)
                .outputDir(modelDir).tokenizer(new Path(tokenizerDir, "tokenizer.json").toString())
                .build().fit(windows);
        StepMetrics last = r.steps().get(r.steps().size() - 1);
        System.out.printf("trained %d steps on %d ranks in %.1f s: loss %.4f -> %.4f, %,.0f tokens/s%n", r.steps().size(), r.worldSize(),
                r.seconds(), r.steps().get(0).loss(), last.loss(), last.totalTokensPerSecond());

        // 5. generation over a DataFrame of prompts
        Dataset<Row> prompts = spark.createDataset(List.of("ROMEO:", "JULIET:", "First Citizen:"), Encoders.STRING()).toDF("prompt");
        KindlingSpark.generate(prompts, "prompt", "continuation", modelDir, GenerateOptions.defaults().withMaxNewTokens(100))
                .collectAsList().forEach(row -> System.out.println(row.getString(0) + row.getString(1) + "\n---"));
    }
}
