package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** tokenizer.json files as Hugging Face's tokenizers library writes them (see resources tokenizers/hf/README.md). */
class HuggingFaceFilesTest {
    @SuppressWarnings("unchecked")
    private static void assertSamples(Tokenizer tok, String samplesFile) throws IOException {
        var root = (Map<String, Object>) Json.parse(Files.readAllBytes(TestData.resource("hf/" + samplesFile)));
        List<Object> samples = (List<Object>) root.get("samples");
        assertTrue(samples.size() > 10);
        for (Object o : samples) {
            var sample = (Map<String, Object>) o;
            String text = (String) sample.get("text");
            int[] ids = ((List<Object>) sample.get("ids")).stream().mapToInt(x -> ((Long) x).intValue()).toArray();
            assertArrayEquals(ids, tok.encode(text), () -> Json.write(text));
            assertEquals(text, tok.decode(ids));
        }
    }

    @Test
    void byteLevelBpeWrittenByHuggingFace() throws IOException {
        var tok = assertInstanceOf(ByteLevelBpeTokenizer.class,
                Tokenizer.load(TestData.resource("hf/bpe1024.tokenizer.json")));
        assertEquals(1024, tok.vocabSize());
        assertEquals(1023, tok.eosTokenId().orElseThrow());
        assertSamples(tok, "bpe1024.samples.json");
    }

    @Test
    void characterVocabularyWrittenByHuggingFace() throws IOException {
        var tok = assertInstanceOf(CharTokenizer.class, Tokenizer.load(TestData.resource("hf/chars.tokenizer.json")));
        assertEquals(65, tok.vocabSize());
        assertSamples(tok, "chars.samples.json");
    }
}
