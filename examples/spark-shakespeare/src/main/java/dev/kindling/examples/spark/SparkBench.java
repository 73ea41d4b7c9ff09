package dev.kindling.examples.spark;

import dev.kindling.inference.Embedder;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.models.AutoModel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.optim.AdamW;
import dev.kindling.spark.EmbedOptions;
import dev.kindling.spark.KindlingSpark;
import dev.kindling.spark.SparkTrainer;
import dev.kindling.spark.StepMetrics;
import dev.kindling.spark.TrainResult;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import dev.kindling.tokenizers.CharTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Throughput on a cluster (run by {@code examples/spark-shakespeare/bench}, which picks the executors):
 * {@code gpt TEXT STEPS} trains the baby GPT with 12 windows of 64 tokens per rank and step and prints the median
 * tokens/s over the steps after the first two; {@code embed TEXT ROWS} embeds lines of TEXT with a random
 * MiniLM-sized BERT (6 layers, 384 wide) on the executors and, in the same run, with the single-process
 * {@link Embedder} in the driver, and prints rows/s of both.
 */
public final class SparkBench {
    private SparkBench() {
    }

    public static void main(String[] args) throws Exception {
        SparkSession spark = SparkSession.builder().appName("kindling-bench").getOrCreate();
        try {
            int executors = spark.sparkContext().getExecutorMemoryStatus().size() - 1;
            long deadline = System.nanoTime() + 300_000_000_000L;
            String master = spark.sparkContext().master();
            int want = master.startsWith("local-cluster[") ? Integer.parseInt(master.substring(14, master.indexOf(','))) : 1;
            while (executors < want && System.nanoTime() < deadline) { // executors register after the session starts
                Thread.sleep(500);
                executors = spark.sparkContext().getExecutorMemoryStatus().size() - 1;
            }
            String text = Files.readString(Path.of(args[1]));
            if (args[0].equals("gpt")) gpt(spark, want, text, Integer.parseInt(args[2]));
            else embed(spark, want, text, Integer.parseInt(args[2]));
        } finally {
            spark.stop();
        }
    }

    static void gpt(SparkSession spark, int workers, String text, int steps) {
        CharTokenizer tok = CharTokenizer.fromText(text);
        int[] ids = tok.encode(text);
        int block = 64;
        List<Row> rows = new ArrayList<>();
        for (int s = 0; s + block + 1 <= ids.length; s += block) rows.add(RowFactory.create((Object) Arrays.copyOfRange(ids, s, s + block + 1)));
        StructType schema = new StructType().add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false);
        Dataset<Row> windows = spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, workers), schema);
        GptConfig cfg = new GptConfig(tok.vocabSize(), block, 4, 4, 128, 0.0, true);
        TrainResult r = SparkTrainer.builder().model(() -> new Gpt(cfg, new Generator(1337))).optimizer(p -> new AdamW(p, 1e-3, 0.1))
                .rows(SparkTrainer.tokenWindows("tokens")).batchSize(12 * workers).steps(steps).build().fit(windows);
        double[] total = r.steps().stream().skip(2).mapToDouble(StepMetrics::totalTokensPerSecond).sorted().toArray();
        System.out.printf("RESULT gpt executors=%d tokens_per_s=%.0f (median of %d steps; loss %.3f -> %.3f)%n", workers,
                total[total.length / 2], total.length, r.steps().get(0).loss(), r.finalLoss());
    }

    static void embed(SparkSession spark, int workers, String text, int n) throws Exception {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).limit(n).toList();
        CharTokenizer tok = CharTokenizer.fromText(text);
        Path dir = randomBert(Files.createTempDirectory("kindling-bert-"), tok);
        StructType schema = new StructType().add("text", DataTypes.StringType);
        List<Row> rows = lines.stream().map(l -> RowFactory.create(l)).toList();
        Dataset<Row> df = spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, 2 * workers), schema);
        EmbedOptions o = EmbedOptions.defaults().withBatchSize(32).withMaxLength(128);
        KindlingSpark.embed(df.limit(2 * workers), "text", "v", dir.toString(), o).count(); // load the model on the executors
        double[] spark3 = new double[3], single3 = new double[3];
        try (AutoModel auto = AutoModel.fromPretrained(dir, DType.FLOAT32)) {
            Embedder single = Embedder.builder(auto, TextTokenizer.ofIds(tok::encode)).batchSize(32).maxLength(128).normalize(true).build();
            single.embed(lines.subList(0, 64));
            for (int rep = 0; rep < 3; rep++) { // alternate, so both see the same background load
                long t0 = System.nanoTime();
                long count = KindlingSpark.embed(df, "text", "v", dir.toString(), o).filter("v is not null").count();
                spark3[rep] = count / ((System.nanoTime() - t0) / 1e9);
                t0 = System.nanoTime();
                int m = single.embed(lines).size();
                single3[rep] = m / ((System.nanoTime() - t0) / 1e9);
            }
        }
        Arrays.sort(spark3);
        Arrays.sort(single3);
        System.out.printf("RESULT embed rows=%d executors=%d spark_rows_per_s=%.1f single_process_rows_per_s=%.1f (medians of 3)%n",
                lines.size(), workers, spark3[1], single3[1]);
    }

    /** A BERT of MiniLM-L6's shape (6 layers, 384 wide, 12 heads, 1536 feed-forward) with random weights. */
    static Path randomBert(Path dir, CharTokenizer tok) throws Exception {
        int h = 384, f = 1536, layers = 6, positions = 128;
        tok.save(dir.resolve("tokenizer.json"));
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "bert");
        cfg.put("vocab_size", tok.vocabSize());
        cfg.put("hidden_size", h);
        cfg.put("num_hidden_layers", layers);
        cfg.put("num_attention_heads", 12);
        cfg.put("intermediate_size", f);
        cfg.put("max_position_embeddings", positions);
        Files.writeString(dir.resolve("config.json"), Json.write(cfg));
        Generator g = new Generator(3);
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("embeddings.word_embeddings.weight", Tensor.randn(g, tok.vocabSize(), h).mul(0.02));
        w.put("embeddings.position_embeddings.weight", Tensor.randn(g, positions, h).mul(0.02));
        w.put("embeddings.token_type_embeddings.weight", Tensor.randn(g, 2, h).mul(0.02));
        norm(w, "embeddings.LayerNorm", h);
        for (int i = 0; i < layers; i++) {
            String p = "encoder.layer." + i + ".";
            for (String m : new String[] {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"})
                dense(w, g, p + m, h, h);
            norm(w, p + "attention.output.LayerNorm", h);
            dense(w, g, p + "intermediate.dense", f, h);
            dense(w, g, p + "output.dense", h, f);
            norm(w, p + "output.LayerNorm", h);
        }
        StateDicts.save(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        return dir;
    }

    private static void dense(Map<String, Tensor> w, Generator g, String name, int out, int in) {
        w.put(name + ".weight", Tensor.randn(g, out, in).mul(0.02));
        w.put(name + ".bias", Tensor.zeros(out));
    }

    private static void norm(Map<String, Tensor> w, String name, int h) {
        w.put(name + ".weight", Tensor.ones(h));
        w.put(name + ".bias", Tensor.zeros(h));
    }
}
