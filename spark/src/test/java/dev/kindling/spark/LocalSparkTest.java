package dev.kindling.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.data.TokenShards;
import dev.kindling.inference.Embedder;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.io.StateDicts;
import dev.kindling.models.AutoModel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptConfig;
import dev.kindling.models.GptLoader;
import dev.kindling.nn.Module;
import dev.kindling.optim.AdamW;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tokenizers.CharTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public API on a local[2] session: training, tokenisation, embedding and generation over DataFrames. */
class LocalSparkTest {
    static SparkSession spark;
    static final StructType TEXT = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType, true);

    @BeforeAll
    static void start() {
        spark = Sessions.local();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static Dataset<Row> texts(String... texts) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) rows.add(RowFactory.create(i, texts[i]));
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, 2), TEXT);
    }

    @Test
    void zeroStage2MatchesOneProcessAndWritesTheModelAndMetrics(@TempDir Path dir) throws Exception {
        TrainResult r = SparkTrainer.builder().model(Fixture::mlp).optimizer(Fixture::adamw).rows(Fixture::example)
                .strategy(SparkTrainer.Strategy.ZERO2).batchSize(Fixture.BATCH).steps(Fixture.STEPS).threadsPerTask(1)
                .outputDir(dir.toString()).modelConfig(java.util.Map.of("kind", "mlp")).build().fit(Fixture.frame(spark));
        Module m = Fixture.mlp();
        m.loadStateDict(StateDicts.load(dir.resolve("model.safetensors")).tensors());
        Fixture.assertClose(Fixture.trainSingle(Fixture.STEPS), Fixture.flatten(m), 1e-5, "ZeRO-2 on 2 tasks");
        assertEquals(Fixture.STEPS, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
        assertTrue(Files.readString(dir.resolve("config.json")).contains("\"kind\":\"mlp\""));
        assertEquals(Fixture.STEPS, r.steps().size());
    }

    @Test
    void badSettingsAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> SparkTrainer.builder().model(Fixture::mlp).optimizer(Fixture::adamw)
                .rows(Fixture::example).batchSize(7).steps(1).build().fit(Fixture.frame(spark)));
        assertTrue(e.getMessage().contains("batch size 7 is not divisible by the 2 workers"), e.getMessage());
        var e2 = assertThrows(IllegalStateException.class, () -> SparkTrainer.builder().model(Fixture::mlp).batchSize(2).build());
        assertTrue(e2.getMessage().contains("not set: optimizer rows"), e2.getMessage());
        var e3 = assertThrows(IllegalStateException.class, () -> SparkTrainer.builder().model(Fixture::mlp).optimizer(Fixture::adamw)
                .rows(Fixture::example).batchSize(2).strategy(SparkTrainer.Strategy.ZERO1).gradClip(1).build());
        assertTrue(e3.getMessage().contains("gradClip needs the DDP strategy"), e3.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SparkTrainer.builder().steps(0));
        var e4 = assertThrows(IllegalArgumentException.class, () -> KindlingSpark.embed(texts("a"), "body", "v", "nowhere"));
        assertTrue(e4.getMessage().contains("no column 'body' (columns: id, text)"), e4.getMessage());
        var e5 = assertThrows(IllegalArgumentException.class, () -> KindlingSpark.generate(texts("a"), "id", "v", "nowhere"));
        assertTrue(e5.getMessage().contains("column 'id' is int, not string"), e5.getMessage());
        var e6 = assertThrows(IllegalArgumentException.class, () -> KindlingSpark.embed(texts("a"), "text", "id", "nowhere"));
        assertTrue(e6.getMessage().contains("output column 'id' already exists"), e6.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EmbedOptions.defaults().withBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> GenerateOptions.defaults().withTopP(0));
    }

    @Test
    void embeddingsMatchTheSingleProcessEmbedderAndBadRowsGetNull(@TempDir Path dir) throws Exception {
        Path model = TinyModels.bert(dir.resolve("bert"));
        String longText = "the quick brown fox jumps over the lazy dog";
        Dataset<Row> df = texts("hello world", null, "", "caf\u00e9 is not in the alphabet", longText, "abc");
        int before = ExecutorModels.loads();
        List<Row> out = KindlingSpark.embed(df, "text", "vec", model.toString(), EmbedOptions.defaults().withBatchSize(2))
                .orderBy("id").collectAsList();
        assertEquals(1, ExecutorModels.loads() - before, "both tasks of this JVM share one loaded model");
        assertNull(out.get(1).get(2), "null text");
        assertNull(out.get(2).get(2), "empty text");
        assertNull(out.get(3).get(2), "a character outside the vocabulary");
        try (AutoModel auto = AutoModel.fromPretrained(model, DType.FLOAT32)) {
            Embedder single = Embedder.builder(auto, TextTokenizer.ofIds(TinyModels.chars()::encode)).maxLength(TinyModels.POSITIONS)
                    .normalize(true).build();
            // the over-long text is cut to its first max_position_embeddings tokens
            List<float[]> expect = single.embed(List.of("hello world", longText.substring(0, TinyModels.POSITIONS), "abc"));
            int[] rows = {0, 4, 5};
            for (int i = 0; i < rows.length; i++) {
                List<Float> got = out.get(rows[i]).getList(2);
                float[] v = new float[got.size()];
                for (int j = 0; j < v.length; j++) v[j] = got.get(j);
                assertArrayEquals(expect.get(i), v, 1e-5f, "row " + rows[i]);
            }
        }
    }

    @Test
    void tokenizeTrainAndGenerate(@TempDir Path dir) throws Exception {
        CharTokenizer tok = TinyModels.chars();
        Path tokDir = Files.createDirectories(dir.resolve("tok"));
        tok.save(tokDir.resolve("tokenizer.json"));
        String line = "to be or not to be, that is the question.\n";
        Dataset<Row> corpus = texts(line.repeat(3), null, "caf\u00e9\n", line.repeat(2), line);
        String shards = dir.resolve("shards").toString();
        TokenizeResult t = KindlingSpark.tokenize(corpus, "text", tokDir.toString(), shards);
        assertEquals(2, t.shards().size());
        assertEquals(2, t.skippedRows(), "the null row and the one with a character outside the vocabulary");
        assertEquals(6L * line.length(), t.totalTokens());
        int[] all = TokenShards.readAll(Path.of(shards));
        assertArrayEquals(tok.encode(line.repeat(6)), all, "shards in partition order hold the rows in order");

        int block = 8;
        Dataset<Row> windows = KindlingSpark.tokenWindows(spark, shards, block);
        assertEquals(2, windows.javaRDD().getNumPartitions());
        // 126 and 126 tokens per shard: windows of 9 ids, 8 apart
        assertEquals(2 * ((126 - 1) / block), windows.count());

        GptConfig cfg = new GptConfig(tok.vocabSize(), block, 1, 2, 16, 0, true);
        Path out = dir.resolve("gpt");
        TrainResult r = SparkTrainer.builder().model(() -> new Gpt(cfg, new Generator(1))).optimizer(p -> new AdamW(p, 3e-3))
                .rows(SparkTrainer.tokenWindows("tokens")).batchSize(8).epochs(2).threadsPerTask(1)
                .outputDir(out.toString()).tokenizer(tokDir.resolve("tokenizer.json").toString()).build().fit(windows);
        assertEquals(2 * 15 / 4, r.steps().size(), "two passes over 15 windows per rank, 4 per step");
        assertTrue(r.finalLoss() < r.steps().get(0).loss());
        Gpt loaded = GptLoader.load(out);
        assertEquals(cfg, loaded.config);

        Dataset<Row> prompts = texts("to be", null, "caf\u00e9", "x".repeat(3 * block), "", "to be");
        List<Row> gen = KindlingSpark.generate(prompts, "text", "continued", out.toString(),
                GenerateOptions.defaults().withMaxNewTokens(5).withTemperature(0)).orderBy("id").collectAsList();
        assertEquals(5, gen.get(0).getString(2).length());
        assertEquals(gen.get(0).getString(2), gen.get(5).getString(2), "greedy decoding of the same prompt");
        assertNull(gen.get(1).get(2), "null prompt");
        assertNull(gen.get(2).get(2), "unencodable prompt");
        assertNotNull(gen.get(3).get(2), "an over-long prompt is cut from the left");
        assertNull(gen.get(4).get(2), "empty prompt");
        List<Row> strict = KindlingSpark.generate(prompts, "text", "continued", out.toString(),
                GenerateOptions.defaults().withMaxNewTokens(2).withTruncateLeft(false)).orderBy("id").collectAsList();
        assertNull(strict.get(3).get(2), "over-long prompt without truncation");
        assertEquals(Arrays.asList(0, 1, 2, 3, 4, 5), strict.stream().map(x -> x.getInt(0)).toList());
    }
}
