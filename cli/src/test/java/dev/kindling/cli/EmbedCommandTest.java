package dev.kindling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedCommandTest {
    /** The tiny BERT that tools/golden/bert_fixture.py wrote (vocabulary of 40), with a hand-written WordPiece tokenizer. */
    static Path model(Path dir) throws Exception {
        Path src = Path.of("../llm/src/test/resources/golden/tiny-bert");
        Path m = dir.resolve("model");
        Files.createDirectories(m);
        for (String f : List.of("config.json", "model.safetensors")) Files.copy(src.resolve(f), m.resolve(f));
        String vocab = "{\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"un\": 4, \"##aff\": 5, \"##able\": 6, "
                + "\"a\": 7, \"cafe\": 8, \",\": 9, \"!\": 10, \"##s\": 11, \"run\": 12}";
        String special = "{\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                + "\"normalized\": false, \"special\": true}";
        String json = "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": ["
                + String.format(special, 0, "[PAD]") + ", " + String.format(special, 1, "[UNK]") + ", "
                + String.format(special, 2, "[CLS]") + ", " + String.format(special, 3, "[SEP]") + "], "
                + "\"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true, "
                + "\"strip_accents\": null, \"lowercase\": true}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
                + "\"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": [\"[CLS]\", 2]}, "
                + "\"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\", \"cleanup\": true}, "
                + "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", "
                + "\"max_input_chars_per_word\": 10, \"vocab\": " + vocab + "}}";
        Files.writeString(m.resolve("tokenizer.json"), json);
        return m;
    }

    @Test
    void embedsLinesAndJsonlInInputOrderAsUnitVectors(@TempDir Path dir) throws Exception {
        Path m = model(dir);
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.jsonl");
        Files.writeString(in, "a cafe\n{\"text\": \"unaffable runs!\"}\n\ncafe, a cafe, a cafe\n");
        assertEquals(0, Main.run("embed", "--model", m.toString(), "--input", in.toString(), "--output", out.toString(),
                "--batch-size", "2", "--max-length", "12", "--threads", "1"));
        List<String> lines = Files.readAllLines(out);
        assertEquals(3, lines.size(), "blank lines are skipped");
        var json = new ObjectMapper();
        for (int i = 0; i < 3; i++) {
            var node = json.readTree(lines.get(i));
            assertEquals(i, node.get("index").asInt());
            double norm = 0;
            for (var v : node.get("embedding")) norm += v.asDouble() * v.asDouble();
            assertEquals(16, node.get("embedding").size());
            assertEquals(1.0, norm, 1e-5);
        }
        assertNotEquals(json.readTree(lines.get(0)).get("embedding"), json.readTree(lines.get(1)).get("embedding"));
        // the same texts in another batch size give the same vectors (batching and padding do not change results)
        Path out2 = dir.resolve("out2.jsonl");
        assertEquals(0, Main.run("embed", "--model", m.toString(), "--input", in.toString(), "--output", out2.toString(),
                "--batch-size", "3", "--threads", "1", "--max-length", "12"));
        List<String> again = Files.readAllLines(out2);
        for (int i = 0; i < 3; i++) {
            var a = json.readTree(lines.get(i)).get("embedding");
            var b = json.readTree(again.get(i)).get("embedding");
            for (int j = 0; j < 16; j++) assertEquals(a.get(j).asDouble(), b.get(j).asDouble(), 1e-5);
        }
    }

    @Test
    void badInputGivesOneLine(@TempDir Path dir) throws Exception {
        Path m = model(dir);
        Path in = dir.resolve("bad.jsonl");
        Files.writeString(in, "{\"text\": 3}\n");
        assertEquals(2, Main.run("embed", "--model", m.toString(), "--input", in.toString(), "--output", dir.resolve("o").toString()));
        assertEquals(2, Main.run("embed", "--model", dir.resolve("nope").toString()));
        assertEquals(2, Main.run("embed", "--model", m.toString(), "--dtype", "int3"));
        assertTrue(Files.exists(m));
    }

    @Test
    void maxLengthDefaultsToTheModelsPositions(@TempDir Path dir) throws Exception {
        Path m = model(dir); // max_position_embeddings 12: the default 512 is capped to it
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.jsonl");
        Files.writeString(in, "a cafe a cafe a cafe a cafe a cafe a cafe\n");
        assertEquals(0, Main.run("embed", "--model", m.toString(), "--input", in.toString(), "--output", out.toString(), "--threads", "1"));
        assertEquals(1, Files.readAllLines(out).size());
        assertEquals(2, Main.run("embed", "--model", m.toString(), "--input", in.toString(), "--max-length", "13"));
    }

    /** all-MiniLM-L6-v2 as an ONNX file with its tokenizer from langchain4j's jar. */
    private static Path onnxModel(Path dir, String tokenizerName) throws Exception {
        Path m = dir.resolve("minilm.onnx");
        try (var s = EmbedCommandTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            Files.copy(s, m);
        }
        try (var s = EmbedCommandTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(s, dir.resolve(tokenizerName));
        }
        return m;
    }

    @Test
    void embedsWithAnOnnxFileAndMatchesAcrossBatchSizes(@TempDir Path dir) throws Exception {
        Path m = onnxModel(dir, "tokenizer.json");
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.jsonl"), out2 = dir.resolve("out2.jsonl");
        Files.writeString(in, "A man is eating food.\nThe weather is lovely today, isn't it?\nok\n");
        assertEquals(0, Main.run("embed", "--model", m.toString(), "--input", in.toString(), "--output", out.toString(), "--batch-size", "2"));
        assertEquals(0, Main.run("embed", "--model", m.toString(), "--tokenizer", dir.resolve("tokenizer.json").toString(),
                "--input", in.toString(), "--output", out2.toString(), "--batch-size", "1"));
        var json = new ObjectMapper();
        List<String> a = Files.readAllLines(out), b = Files.readAllLines(out2);
        assertEquals(3, a.size());
        for (int i = 0; i < 3; i++) {
            var x = json.readTree(a.get(i)).get("embedding");
            var y = json.readTree(b.get(i)).get("embedding");
            assertEquals(384, x.size());
            double norm = 0;
            for (int j = 0; j < 384; j++) {
                norm += x.get(j).asDouble() * x.get(j).asDouble();
                assertEquals(x.get(j).asDouble(), y.get(j).asDouble(), 1e-4, "text " + i + " dim " + j + " depends on the batch");
            }
            assertEquals(1.0, norm, 1e-5);
        }
    }

    @Test
    void onnxWithoutTokenizerOrWithHalfDtypeIsRefused(@TempDir Path dir) throws Exception {
        Path m = onnxModel(dir, "other-name.json");
        Path in = dir.resolve("in.txt");
        Files.writeString(in, "hello\n");
        assertEquals(2, Main.run("embed", "--model", m.toString(), "--input", in.toString()), "no tokenizer.json beside the model");
        assertEquals(2, Main.run("embed", "--model", m.toString(), "--tokenizer", dir.resolve("other-name.json").toString(),
                "--input", in.toString(), "--dtype", "bf16"));
        assertEquals(2, Main.run("embed", "--model", m.toString(), "--tokenizer", dir.resolve("other-name.json").toString(),
                "--input", in.toString(), "--max-length", "513"), "MiniLM has 512 positions");
    }
}
