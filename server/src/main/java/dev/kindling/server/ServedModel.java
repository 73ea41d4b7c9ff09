package dev.kindling.server;

import dev.kindling.inference.Embedder;
import dev.kindling.inference.TextTokenizer;
import dev.kindling.models.AutoModel;
import dev.kindling.models.BertModel;
import dev.kindling.models.Gpt;
import dev.kindling.models.GptLoader;
import dev.kindling.tokenizers.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A model the server serves under its folder's name: a GPT for completions and chat, or an encoder for embeddings. */
sealed interface ServedModel extends AutoCloseable {
    String name();

    /** A GPT-2 style model with its tokenizer, chat template and scheduler. */
    record Generator(String name, Gpt gpt, Tokenizer tokenizer, int eos, ChatTemplate template, GenerationScheduler scheduler)
            implements ServedModel {
        @Override
        public void close() {
            scheduler.close();
        }
    }

    /** A BERT-family encoder with its tokenizer and batcher; vectors are mean-pooled and unit length. */
    record Encoder(String name, AutoModel model, TextTokenizer tokenizer, int dimensions, EmbeddingBatcher batcher)
            implements ServedModel {
        @Override
        public void close() {
            batcher.close();
            model.close();
        }
    }

    @Override
    void close();

    /**
     * Loads every folder of the options, keyed by folder name.
     *
     * @throws IllegalArgumentException naming the folder that is missing a file, has an unsupported model, or repeats a name
     */
    static Map<String, ServedModel> load(ServerOptions options, Metrics metrics) throws IOException {
        Map<String, ServedModel> out = new LinkedHashMap<>();
        Map<String, Path> folders = new LinkedHashMap<>();
        try {
            for (Path dir : options.models()) {
                Path abs = dir.toAbsolutePath().normalize();
                String name = abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
                if (folders.containsKey(name))
                    throw new IllegalArgumentException("server: models " + folders.get(name) + " and " + dir + " have the same name '" + name + "'");
                folders.put(name, dir);
                out.put(name, loadOne(name, dir, options, metrics));
            }
        } catch (IOException | RuntimeException e) {
            for (ServedModel m : out.values()) m.close();
            throw e;
        }
        return out;
    }

    private static ServedModel loadOne(String name, Path dir, ServerOptions options, Metrics metrics) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("server: --model " + dir + " is not a folder");
        Path tokFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) throw new IllegalArgumentException("server: --model " + dir + " has no tokenizer.json");
        Tokenizer tokenizer = Tokenizer.load(tokFile);
        AutoModel auto = AutoModel.fromPretrained(dir, dev.kindling.tensor.DType.FLOAT32);
        if (auto.module() instanceof Gpt gpt) {
            var scheduler = new GenerationScheduler(name, gpt, options.maxBatch(), options.maxQueue(), metrics);
            return new Generator(name, gpt, tokenizer, tokenizer.eosTokenId().orElse(-1), ChatTemplate.of(dir), scheduler);
        }
        BertModel bert = auto.as(BertModel.class);
        int maxLength = Math.min(512, bert.config.maxPositionEmbeddings());
        TextTokenizer textTokenizer = TextTokenizer.of(tokenizer, maxLength);
        Embedder embedder = Embedder.builder(bert, textTokenizer).batchSize(options.maxBatch()).maxLength(maxLength)
                .pooling(Embedder.Pooling.MEAN).normalize(true).build();
        var batcher = new EmbeddingBatcher(name, embedder, options.maxBatch(), options.maxQueue(), options.batchWindow().toNanos(), metrics);
        return new Encoder(name, auto, textTokenizer, bert.config.hiddenSize(), batcher);
    }

    /** The names of the models of one kind, for error messages. */
    static List<String> names(Map<String, ServedModel> models, Class<? extends ServedModel> kind) {
        return models.values().stream().filter(kind::isInstance).map(ServedModel::name).toList();
    }
}
