package dev.kindling.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.SafetensorsWriter.Entry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsIndexTest {
    @TempDir
    Path dir;

    private static Entry floats(float... v) {
        return Entry.ofFloats(new long[] {v.length}, v);
    }

    /** Two shards and an index the way transformers' save_pretrained writes them. */
    private Path shardedModel() throws IOException {
        Map<String, Entry> first = new LinkedHashMap<>();
        first.put("embed.weight", floats(1, 2));
        first.put("layers.0.weight", floats(3));
        Map<String, Entry> second = new LinkedHashMap<>();
        second.put("layers.1.weight", floats(4));
        second.put("lm_head.weight", floats(5, 6, 7));
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
        Files.writeString(dir.resolve(SafetensorsIndex.INDEX_FILE), """
                {
                  "metadata": {"total_size": 28, "note": "x"},
                  "weight_map": {
                    "embed.weight": "model-00001-of-00002.safetensors",
                    "layers.0.weight": "model-00001-of-00002.safetensors",
                    "layers.1.weight": "model-00002-of-00002.safetensors",
                    "lm_head.weight": "model-00002-of-00002.safetensors"
                  }
                }
                """);
        return dir;
    }

    @Test
    void opensEachShardOnceFromTheFolderOrTheIndexFile() throws IOException {
        shardedModel();
        for (Path source : List.of(dir, dir.resolve(SafetensorsIndex.INDEX_FILE))) {
            try (SafetensorsIndex index = SafetensorsIndex.open(source)) {
                assertEquals(List.of("embed.weight", "layers.0.weight", "layers.1.weight", "lm_head.weight"),
                        index.names());
                assertEquals(Map.of("total_size", "28", "note", "x"), index.metadata());
                assertEquals(2, index.shards().size());
                assertSame(index.file("embed.weight"), index.file("layers.0.weight"));
                assertSame(index.file("layers.1.weight"), index.file("lm_head.weight"));
                assertArrayEquals(new float[] {5, 6, 7}, index.file("lm_head.weight").readFloats("lm_head.weight"));
                assertEquals(3, index.info("lm_head.weight").numel());
                assertTrue(index.contains("embed.weight"));
                assertFalse(index.contains("nope"));
                var e = assertThrows(IllegalArgumentException.class, () -> index.file("nope"));
                assertEquals("safetensors: " + index.source() + " has no tensor 'nope' (4 tensors in 2 file(s))",
                        e.getMessage());
            }
        }
    }

    @Test
    void closingTheIndexClosesTheShards() throws IOException {
        SafetensorsIndex index = SafetensorsIndex.open(shardedModel());
        SafetensorsFile shard = index.file("embed.weight");
        index.close();
        assertThrows(IllegalStateException.class, () -> shard.readFloats("embed.weight"));
    }

    @Test
    void opensASingleFileFolderOrFile() throws IOException {
        Map<String, Entry> m = new LinkedHashMap<>();
        m.put("b", floats(1));
        m.put("a", floats(2, 3));
        SafetensorsWriter.write(dir.resolve(SafetensorsIndex.SINGLE_FILE), m, Map.of("format", "pt"));
        for (Path source : List.of(dir, dir.resolve(SafetensorsIndex.SINGLE_FILE))) {
            try (SafetensorsIndex index = SafetensorsIndex.open(source)) {
                assertEquals(List.of("b", "a"), index.names());
                assertEquals(Map.of(), index.metadata());
                assertEquals(1, index.shards().size());
                assertArrayEquals(new float[] {2, 3}, index.file("a").readFloats("a"));
                assertEquals(Map.of("format", "pt"), index.file("a").metadata());
            }
        }
    }

    @Test
    void prefersTheIndexOverASingleFile() throws IOException {
        shardedModel();
        SafetensorsWriter.write(dir.resolve(SafetensorsIndex.SINGLE_FILE), Map.of("stale", floats(0)), null);
        try (SafetensorsIndex index = SafetensorsIndex.open(dir)) {
            assertEquals(4, index.names().size());
        }
    }

    @Test
    void emptyFolderSaysWhatIsMissing() {
        var e = assertThrows(NoSuchFileException.class, () -> SafetensorsIndex.open(dir));
        assertEquals(dir + ": safetensors: folder has neither model.safetensors.index.json nor model.safetensors",
                e.getMessage());
    }

    private String indexError(String json) throws IOException {
        Path index = dir.resolve(SafetensorsIndex.INDEX_FILE);
        Files.writeString(index, json);
        var e = assertThrows(FileFormatException.class, () -> SafetensorsIndex.open(dir).close());
        String prefix = "safetensors index: " + index + " ";
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        return e.getMessage().substring(prefix.length());
    }

    @Test
    void rejectsBadIndexes() throws IOException {
        SafetensorsWriter.write(dir.resolve("s1.safetensors"), Map.of("a", floats(1)), null);
        assertEquals("is not valid JSON: unexpected end of input, expected a value at byte 14",
                indexError("{\"weight_map\":"));
        assertEquals("is not a JSON object", indexError("[]"));
        assertEquals("has no \"weight_map\" object", indexError("{\"metadata\":{}}"));
        assertEquals("has \"metadata\" that is not an object", indexError("{\"metadata\":1,\"weight_map\":{}}"));
        assertEquals("maps tensor 'a' to a non-string", indexError("{\"weight_map\":{\"a\":1}}"));
        assertEquals("says tensor 'b' is in s1.safetensors but that shard has no such tensor (it has 1)",
                indexError("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}"));
        assertEquals("maps tensor 'a' to shard '../s1.safetensors', which is not a file inside the index's folder",
                indexError("{\"weight_map\":{\"a\":\"../s1.safetensors\"}}"));
        assertEquals("maps tensor 'a' to shard '/etc/passwd', which is not a file inside the index's folder",
                indexError("{\"weight_map\":{\"a\":\"/etc/passwd\"}}"));
        assertEquals("maps tensor 'a' to shard '.', which is not a file inside the index's folder",
                indexError("{\"weight_map\":{\"a\":\".\"}}"));
    }

    @Test
    void missingOrCorruptShardsFail() throws IOException {
        Files.writeString(dir.resolve(SafetensorsIndex.INDEX_FILE),
                "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"gone.safetensors\"}}");
        SafetensorsWriter.write(dir.resolve("s1.safetensors"), Map.of("a", floats(1)), null);
        assertThrows(NoSuchFileException.class, () -> SafetensorsIndex.open(dir));
        Files.write(dir.resolve("gone.safetensors"), new byte[3]);
        var e = assertThrows(FileFormatException.class, () -> SafetensorsIndex.open(dir));
        assertTrue(e.getMessage().contains("gone.safetensors: file has 3 bytes"), e.getMessage());
    }
}
