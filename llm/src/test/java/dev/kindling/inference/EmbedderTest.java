package dev.kindling.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kindling.autograd.Grad;
import dev.kindling.models.AutoModel;
import dev.kindling.models.BertModel;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Embedder on the tiny BERT fixture with a character tokenizer: [CLS]=2, one id per character, [SEP]=3. */
class EmbedderTest {
    static AutoModel auto;
    static BertModel bert;
    static final TextTokenizer CHARS = TextTokenizer.ofIds(text -> {
        int[] ids = new int[text.length() + 2];
        ids[0] = 2;
        for (int i = 0; i < text.length(); i++) ids[i + 1] = 4 + text.charAt(i) % 36;
        ids[ids.length - 1] = 3;
        return ids;
    });
    static final List<String> TEXTS = List.of("a", "longest!!", "mid size", "", "xy", "ten chars.");

    @BeforeAll
    static void load() throws Exception {
        Path dir = Path.of(EmbedderTest.class.getResource("/golden/tiny-bert/config.json").toURI()).getParent();
        auto = AutoModel.fromPretrained(dir, DType.FLOAT32);
        bert = auto.as(BertModel.class);
    }

    @AfterAll
    static void close() {
        auto.close();
    }

    /** The hidden states of one text run alone (no padding). */
    static float[][] alone(String text) {
        int[] ids = CHARS.encode(text).ids();
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        try (var g = Grad.disabled()) {
            Tensor h = bert.forward(Tensor.wrapLongs(l, 1, l.length));
            float[] a = h.toFloatArray();
            float[][] rows = new float[l.length][16];
            for (int j = 0; j < l.length; j++) System.arraycopy(a, j * 16, rows[j], 0, 16);
            return rows;
        }
    }

    @Test
    void meanPoolingInBatchesEqualsEachTextAloneInInputOrder() {
        // batch size 4: the short texts share a batch with longer ones and are padded; the result must not notice
        List<float[]> got = Embedder.builder(auto, CHARS).batchSize(4).build().embed(TEXTS);
        assertEquals(TEXTS.size(), got.size());
        for (int i = 0; i < TEXTS.size(); i++) {
            float[][] rows = alone(TEXTS.get(i));
            float[] mean = new float[16];
            for (float[] r : rows) for (int d = 0; d < 16; d++) mean[d] += r[d] / rows.length;
            assertArrayEquals(mean, got.get(i), 1e-5f, "text " + i);
        }
    }

    @Test
    void clsAndMaxPoolingIgnorePadding() {
        List<float[]> cls = Embedder.builder(bert, CHARS).batchSize(3).pooling(Embedder.Pooling.CLS).build().embed(TEXTS);
        List<float[]> max = Embedder.builder(bert, CHARS).batchSize(3).pooling(Embedder.Pooling.MAX).build().embed(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            float[][] rows = alone(TEXTS.get(i));
            assertArrayEquals(rows[0], cls.get(i), 1e-5f, "CLS of text " + i);
            float[] m = rows[0].clone();
            for (float[] r : rows) for (int d = 0; d < 16; d++) m[d] = Math.max(m[d], r[d]);
            assertArrayEquals(m, max.get(i), 1e-5f, "MAX of text " + i);
        }
    }

    @Test
    void normalizeGivesUnitVectorsInTheSameDirection() {
        List<float[]> raw = Embedder.builder(bert, CHARS).build().embed(TEXTS);
        List<float[]> unit = Embedder.builder(bert, CHARS).normalize(true).build().embed(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            double norm = 0, rawNorm = 0;
            for (float x : unit.get(i)) norm += x * x;
            for (float x : raw.get(i)) rawNorm += x * x;
            assertEquals(1.0, norm, 1e-5, "text " + i);
            for (int d = 0; d < 16; d++) assertEquals(raw.get(i)[d] / Math.sqrt(rawNorm), unit.get(i)[d], 1e-5);
        }
    }

    @Test
    void maskedTokensAndTruncationAreHonoured() {
        // a tokenizer-side mask of 0 excludes a token from attention and from the mean, like padding
        TextTokenizer masked = text -> new TextTokenizer.Encoding(new int[] {2, 10, 11, 3, 0, 0}, new int[] {1, 1, 1, 1, 0, 0});
        float[] a = Embedder.builder(bert, masked).build().embed(List.of("x")).get(0);
        float[] b = Embedder.builder(bert, TextTokenizer.ofIds(t -> new int[] {2, 10, 11, 3})).build().embed(List.of("x")).get(0);
        assertArrayEquals(b, a, 1e-5f);
        // max length 3 keeps the first 3 ids
        float[] cut = Embedder.builder(bert, CHARS).maxLength(3).build().embed(List.of("abcdef")).get(0);
        float[] first3 = Embedder.builder(bert, TextTokenizer.ofIds(t -> java.util.Arrays.copyOf(CHARS.encode(t).ids(), 3)))
                .build().embed(List.of("abcdef")).get(0);
        assertArrayEquals(first3, cut, 1e-6f);
    }

    @Test
    void emptyInputAndBadSettings() {
        assertEquals(List.of(), Embedder.builder(bert, CHARS).build().embed(List.of()));
        var e = assertThrows(IllegalArgumentException.class, () -> Embedder.builder(bert, TextTokenizer.ofIds(t -> new int[0]))
                .build().embed(List.of("fine", "")));
        assertTrue(e.getMessage().contains("text 0 has no token"), e.getMessage());
        var len = assertThrows(IllegalArgumentException.class, () -> Embedder.builder(bert, CHARS).maxLength(13));
        assertTrue(len.getMessage().contains("max length 13 is outside [1, 12]"), len.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Embedder.builder(bert, CHARS).batchSize(0));
    }
}
