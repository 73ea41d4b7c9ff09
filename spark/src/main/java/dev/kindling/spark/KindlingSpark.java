package dev.kindling.spark;

import dev.kindling.data.TokenFile;
import dev.kindling.data.TokenShards;
import dev.kindling.inference.Embedder;
import dev.kindling.inference.Sampler;
import dev.kindling.inference.TextGeneration;
import dev.kindling.tensor.Generator;
import dev.kindling.tokenizers.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Kindling over DataFrames: batch embedding and text generation in {@code mapPartitions} (the model is loaded
 * once per executor JVM and shared by its tasks), and tokenisation of a corpus into the token shards that
 * {@link SparkTrainer} (through {@link #tokenWindows}) and {@code kindling train gpt --data FOLDER} read.
 * Folders and files are Hadoop file system URIs (a plain path is the local file system); a model folder on a
 * remote file system is copied to each executor once.
 *
 * <p>Bad rows never fail the job: a null input gives a null output, and so does an input the tokenizer cannot
 * encode or that encodes to no token. Over-long inputs are truncated: embeddings keep the first
 * {@code maxLength} tokens, generation keeps the last tokens of the context (or gives null, if chosen).
 * <pre>{@code
 * Dataset<Row> scored = KindlingSpark.embed(docs, "text", "embedding", "hdfs:///models/minilm", EmbedOptions.defaults());
 * }</pre>
 */
public final class KindlingSpark {
    private static final int EMBED_CHUNK_BATCHES = 8;

    private KindlingSpark() {
    }

    /** {@link #embed(Dataset, String, String, String, EmbedOptions)} with {@link EmbedOptions#defaults()}. */
    public static Dataset<Row> embed(Dataset<Row> df, String inputCol, String outputCol, String modelDir) {
        return embed(df, inputCol, outputCol, modelDir, EmbedOptions.defaults());
    }

    /**
     * {@code df} with a column {@code outputCol} of type array&lt;float&gt;: the embedding of {@code inputCol}
     * (a string column) by the BERT-family encoder in {@code modelDir} (config.json, model.safetensors,
     * tokenizer.json), or null for a null or unencodable text.
     *
     * @throws IllegalArgumentException if a column is missing, of the wrong type, or the output column exists
     */
    public static Dataset<Row> embed(Dataset<Row> df, String inputCol, String outputCol, String modelDir, EmbedOptions options) {
        int in = stringColumn(df, inputCol, "embed");
        newColumn(df, outputCol, "embed");
        StructType schema = df.schema().add(outputCol, DataTypes.createArrayType(DataTypes.FloatType, false), true);
        HadoopFiles files = HadoopFiles.of(df.sparkSession().sparkContext().hadoopConfiguration());
        int chunk = options.batchSize() * EMBED_CHUNK_BATCHES;
        JavaRDD<Row> out = df.javaRDD().mapPartitions(rows -> {
            Embedder embedder = ExecutorModels.embedder(files, modelDir, options);
            return new Chunked(rows, chunk, block -> {
                List<String> texts = new ArrayList<>();
                for (Row r : block) if (!r.isNullAt(in)) texts.add(r.getString(in));
                List<float[]> vectors = embedAll(embedder, texts);
                List<Row> result = new ArrayList<>(block.size());
                int k = 0;
                for (Row r : block) result.add(append(r, r.isNullAt(in) ? null : vectors.get(k++)));
                return result;
            });
        });
        return df.sparkSession().createDataFrame(out, schema);
    }

    /** The vectors of {@code texts}, null for each text that cannot be embedded (the others are unaffected). */
    static List<float[]> embedAll(Embedder embedder, List<String> texts) {
        try {
            return embedder.embed(texts);
        } catch (RuntimeException batchFailed) {
            // one bad text fails its batch: embed them one by one to find it and keep the rest
            List<float[]> out = new ArrayList<>(texts.size());
            for (String t : texts) {
                try {
                    out.add(embedder.embed(List.of(t)).get(0));
                } catch (RuntimeException e) {
                    out.add(null);
                }
            }
            return out;
        }
    }

    /** {@link #generate(Dataset, String, String, String, GenerateOptions)} with {@link GenerateOptions#defaults()}. */
    public static Dataset<Row> generate(Dataset<Row> df, String promptCol, String outputCol, String modelDir) {
        return generate(df, promptCol, outputCol, modelDir, GenerateOptions.defaults());
    }

    /**
     * {@code df} with a string column {@code outputCol}: the text a GPT folder (config.json, model.safetensors,
     * tokenizer.json, as {@code kindling train gpt} and {@link SparkTrainer} write it) generates after the prompt
     * in {@code promptCol}, without the prompt and without the end-of-text token. Null for a null prompt, a prompt
     * that encodes to nothing or cannot be encoded, and an over-long prompt when {@code truncateLeft} is off.
     */
    public static Dataset<Row> generate(Dataset<Row> df, String promptCol, String outputCol, String modelDir, GenerateOptions options) {
        int in = stringColumn(df, promptCol, "generate");
        newColumn(df, outputCol, "generate");
        StructType schema = df.schema().add(outputCol, DataTypes.StringType, true);
        HadoopFiles files = HadoopFiles.of(df.sparkSession().sparkContext().hadoopConfiguration());
        JavaRDD<Row> out = df.javaRDD().mapPartitions(rows -> {
            ExecutorModels.LoadedGpt gpt = ExecutorModels.gpt(files, modelDir);
            var sampler = new Sampler(options.temperature(), options.topK(), options.topP(),
                    new Generator(options.seed() + TaskContext.getPartitionId()));
            return new Chunked(rows, 32, block -> generateBlock(gpt, sampler, options, block, in));
        });
        return df.sparkSession().createDataFrame(out, schema);
    }

    /** Generates for a block of rows, decoding prompts of equal length together as one batch. */
    private static List<Row> generateBlock(ExecutorModels.LoadedGpt gpt, Sampler sampler, GenerateOptions o, List<Row> block, int in) {
        Tokenizer tok = gpt.tokenizer();
        int context = gpt.model().config.blockSize(), eos = tok.eosTokenId().orElse(-1);
        String[] texts = new String[block.size()];
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        int[][] prompts = new int[block.size()][];
        for (int i = 0; i < block.size(); i++) {
            Row r = block.get(i);
            if (r.isNullAt(in)) continue;
            int[] ids;
            try {
                ids = tok.encode(r.getString(in));
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (ids.length == 0 || ids.length > context && !o.truncateLeft()) continue;
            if (ids.length > context) ids = Arrays.copyOfRange(ids, ids.length - context, ids.length);
            prompts[i] = ids;
            byLength.computeIfAbsent(ids.length, k -> new ArrayList<>()).add(i);
        }
        for (List<Integer> rows : byLength.values()) {
            int[][] batch = new int[rows.size()][];
            for (int j = 0; j < batch.length; j++) batch[j] = prompts[rows.get(j)];
            int[][] gen = TextGeneration.generate(gpt.model(), batch, o.maxNewTokens(), sampler, eos, TextGeneration.Overflow.TRUNCATE_LEFT, null);
            for (int j = 0; j < gen.length; j++) {
                int[] g = gen[j];
                if (g.length > 0 && g[g.length - 1] == eos) g = Arrays.copyOf(g, g.length - 1);
                texts[rows.get(j)] = tok.decode(g);
            }
        }
        List<Row> out = new ArrayList<>(block.size());
        for (int i = 0; i < block.size(); i++) out.add(append(block.get(i), texts[i]));
        return out;
    }

    /**
     * Tokenises {@code textCol} with the tokenizer.json in {@code tokenizerDir}, one shard per partition, written
     * to {@code outputPath} with a manifest and a copy of the tokenizer (see {@link TokenShards}). Each row's ids
     * are followed by the end-of-text id when the tokenizer has one, so documents stay apart; a tokenizer without
     * one (characters) concatenates the rows as they are, so rows should carry their own separators (newlines).
     * Rows with a null text or a text the tokenizer cannot encode are left out and counted. A re-run task
     * overwrites its own shard, so retries are safe.
     */
    public static TokenizeResult tokenize(Dataset<Row> df, String textCol, String tokenizerDir, String outputPath) {
        int in = stringColumn(df, textCol, "tokenize");
        HadoopFiles files = HadoopFiles.of(df.sparkSession().sparkContext().hadoopConfiguration());
        String tokenizerFile = HadoopFiles.child(tokenizerDir, TokenShards.TOKENIZER);
        Tokenizer driverTokenizer;
        Path tmp = null;
        try {
            if (!files.exists(tokenizerFile)) throw new IllegalArgumentException("tokenize: " + tokenizerDir + " has no " + TokenShards.TOKENIZER);
            tmp = Files.createTempFile("kindling-tokenizer-", ".json");
            files.download(tokenizerFile, tmp);
            driverTokenizer = Tokenizer.load(tmp);
        } catch (IOException e) {
            throw HadoopFiles.unchecked("tokenize: reading " + tokenizerFile, e);
        } finally {
            if (tmp != null) tmp.toFile().delete();
        }
        int vocab = driverTokenizer.vocabSize();
        List<TokenShards.Shard> written = df.javaRDD().mapPartitionsWithIndex((partition, rows) -> {
            Tokenizer tok = ExecutorModels.tokenizer(files, tokenizerDir);
            int eos = tok.eosTokenId().orElse(-1);
            int[] ids = new int[1024];
            int n = 0;
            long count = 0, skipped = 0;
            while (rows.hasNext()) {
                Row r = rows.next();
                count++;
                int[] e;
                try {
                    e = r.isNullAt(in) ? null : tok.encode(r.getString(in));
                } catch (IllegalArgumentException bad) {
                    e = null;
                }
                if (e == null) {
                    skipped++;
                    continue;
                }
                int need = n + e.length + 1;
                if (need > ids.length) ids = Arrays.copyOf(ids, Math.max(need, 2 * ids.length));
                System.arraycopy(e, 0, ids, n, e.length);
                n += e.length;
                if (eos >= 0) ids[n++] = eos;
            }
            if (count == 0) return List.<TokenShards.Shard>of().iterator();
            String name = String.format("shard-%05d.bin", partition);
            Path local = Files.createTempFile("kindling-shard-", ".bin");
            try {
                TokenFile.write(local, Arrays.copyOf(ids, n), tok.vocabSize());
                files.upload(local, HadoopFiles.child(outputPath, name));
            } finally {
                Files.deleteIfExists(local);
            }
            return List.of(new TokenShards.Shard(name, n, count, skipped)).iterator();
        }, false).collect();
        try {
            files.writeString(HadoopFiles.child(outputPath, TokenShards.TOKENIZER), files.readString(tokenizerFile));
            files.writeString(HadoopFiles.child(outputPath, TokenShards.MANIFEST), TokenShards.manifest(written, vocab));
        } catch (IOException e) {
            throw HadoopFiles.unchecked("tokenize: writing the manifest to " + outputPath, e);
        }
        return new TokenizeResult(outputPath, List.copyOf(written), vocab);
    }

    /**
     * The token shards written by {@link #tokenize} as training rows: one partition per shard, one row per
     * window of {@code blockSize + 1} consecutive ids (column {@code tokens}, array&lt;int&gt;), windows
     * {@code blockSize} apart so each id is a target once. Feed them to {@link SparkTrainer} with
     * {@link SparkTrainer#tokenWindows SparkTrainer.tokenWindows("tokens")}.
     */
    public static Dataset<Row> tokenWindows(SparkSession spark, String shardsPath, int blockSize) {
        if (blockSize < 1) throw new IllegalArgumentException("tokenWindows: block size must be positive, got " + blockSize);
        HadoopFiles files = HadoopFiles.of(spark.sparkContext().hadoopConfiguration());
        List<String> shards = new ArrayList<>();
        Path tmp = null;
        try {
            String manifest = HadoopFiles.child(shardsPath, TokenShards.MANIFEST);
            if (!files.exists(manifest)) throw new IllegalArgumentException("tokenWindows: " + shardsPath + " has no " + TokenShards.MANIFEST);
            tmp = Files.createTempDirectory("kindling-manifest-");
            files.download(manifest, tmp.resolve(TokenShards.MANIFEST));
            for (TokenShards.Shard s : TokenShards.readManifest(tmp))
                if (s.tokens() > blockSize) shards.add(HadoopFiles.child(shardsPath, s.file()));
        } catch (IOException e) {
            throw HadoopFiles.unchecked("tokenWindows: reading " + shardsPath, e);
        } finally {
            if (tmp != null) {
                tmp.resolve(TokenShards.MANIFEST).toFile().delete();
                tmp.toFile().delete();
            }
        }
        if (shards.isEmpty())
            throw new IllegalArgumentException("tokenWindows: no shard in " + shardsPath + " holds more than " + blockSize + " tokens");
        StructType schema = new StructType().add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false);
        JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(shards, shards.size()).mapPartitions(uris -> {
            List<Row> out = new ArrayList<>();
            while (uris.hasNext()) {
                Path local = Files.createTempFile("kindling-shard-", ".bin");
                try {
                    files.download(uris.next(), local);
                    try (TokenFile f = TokenFile.open(local)) {
                        for (long start = 0; start + blockSize + 1 <= f.size(); start += blockSize) {
                            int[] w = new int[blockSize + 1];
                            for (int i = 0; i <= blockSize; i++) w[i] = f.get(start + i);
                            out.add(RowFactory.create((Object) w));
                        }
                    }
                } finally {
                    Files.deleteIfExists(local);
                }
            }
            return out.iterator();
        });
        return spark.createDataFrame(rows, schema);
    }

    private static int stringColumn(Dataset<Row> df, String col, String op) {
        StructType s = df.schema();
        if (!Arrays.asList(s.fieldNames()).contains(col))
            throw new IllegalArgumentException(op + ": no column '" + col + "' (columns: " + String.join(", ", s.fieldNames()) + ")");
        int i = s.fieldIndex(col);
        DataType t = s.fields()[i].dataType();
        if (!t.equals(DataTypes.StringType))
            throw new IllegalArgumentException(op + ": column '" + col + "' is " + t.simpleString() + ", not string");
        return i;
    }

    private static void newColumn(Dataset<Row> df, String col, String op) {
        if (Arrays.asList(df.schema().fieldNames()).contains(col))
            throw new IllegalArgumentException(op + ": output column '" + col + "' already exists");
    }

    private static Row append(Row r, Object value) {
        Object[] v = new Object[r.length() + 1];
        for (int i = 0; i < r.length(); i++) v[i] = r.get(i);
        v[r.length()] = value;
        return RowFactory.create(v);
    }

    /** Runs a function over consecutive blocks of up to {@code size} rows, lazily, so a partition is never held whole. */
    static final class Chunked implements Iterator<Row> {
        interface Block {
            List<Row> apply(List<Row> rows);
        }

        private final Iterator<Row> in;
        private final int size;
        private final Block fn;
        private Iterator<Row> current = java.util.Collections.emptyIterator();

        Chunked(Iterator<Row> in, int size, Block fn) {
            this.in = in;
            this.size = size;
            this.fn = fn;
        }

        @Override
        public boolean hasNext() {
            while (!current.hasNext() && in.hasNext()) {
                List<Row> block = new ArrayList<>(size);
                while (block.size() < size && in.hasNext()) block.add(in.next());
                current = fn.apply(block).iterator();
            }
            return current.hasNext();
        }

        @Override
        public Row next() {
            if (!hasNext()) throw new java.util.NoSuchElementException();
            return current.next();
        }
    }
}
