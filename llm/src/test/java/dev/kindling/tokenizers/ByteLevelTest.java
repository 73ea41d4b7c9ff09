package dev.kindling.tokenizers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kindling.io.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;

class ByteLevelTest {
    @Test
    void alphabetIsGpt2s() {
        assertEquals('Ġ', ByteLevel.BYTE_TO_CHAR[' ']);
        assertEquals('Ċ', ByteLevel.BYTE_TO_CHAR['\n']);
        assertEquals('Ā', ByteLevel.BYTE_TO_CHAR[0]);
        assertEquals('!', ByteLevel.BYTE_TO_CHAR['!']);
        assertEquals('ÿ', ByteLevel.BYTE_TO_CHAR[0xFF]);
        assertEquals('Ń', ByteLevel.BYTE_TO_CHAR[0xAD]); // the last of the 68 moved bytes
        byte[] all = new byte[256];
        for (int b = 0; b < 256; b++) all[b] = (byte) b;
        assertEquals(new String(all, StandardCharsets.ISO_8859_1),
                new String(ByteLevel.fromAlphabet(ByteLevel.toAlphabet(all)), StandardCharsets.ISO_8859_1));
    }

    private static List<String> byRegex(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = ByteLevel.GPT2_PATTERN.matcher(text);
        while (m.find()) out.add(m.group());
        return out;
    }

    private static List<String> byScanner(String text) {
        List<String> out = new ArrayList<>();
        for (int i = 0, end; i < text.length(); i = end) {
            end = ByteLevel.wordEnd(text, i, text.length());
            out.add(text.substring(i, end));
        }
        return out;
    }

    @Test
    void scannerSplitsLikeTheRegex() {
        String[] fixed = {"", "a", " ", "  ", "a  b", "a \n b", "\n\nb", "\n\n b", "'s'S'll 'll''re", "'", "x'",
            "it's  ", "1,234.5 ½", "  !!  ", "e\u0301", "\u00a0a\u3000b\u2003 c", "\t\t", "a\u0085b", "😀 😀",
            "don't you've we'd I'm", "\uD800 x", " \uD83D"};
        for (String text : fixed) assertEquals(byRegex(text), byScanner(text), () -> Json.write(text));
        String pool = "'''sStTrReEvVmMlLdD abc XYZ   \n\n\t\r0123456789½Ⅻ٣.,!?-_()\"/\u00a0\u3000\u2003\u0085\u0301"
                + "éÀß日本語한😀🎉\u200b\u00ad\u001b";
        int[] cps = pool.codePoints().toArray();
        Random random = new Random(99);
        for (int trial = 0; trial < 3000; trial++) {
            StringBuilder sb = new StringBuilder();
            int n = random.nextInt(30);
            for (int i = 0; i < n; i++) sb.appendCodePoint(cps[random.nextInt(cps.length)]);
            String text = sb.toString();
            assertEquals(byRegex(text), byScanner(text), () -> Json.write(text));
        }
    }

    /** Every code point of the BMP and a sample above it: same class as the regex gives. */
    @Test
    void scannerClassifiesEveryCodePointLikeTheRegex() {
        for (int cp = 0; cp < 0x110000; cp += cp < 0x10000 ? 1 : 7) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            String text = "a" + Character.toString(cp) + "a  " + Character.toString(cp) + Character.toString(cp)
                    + "1" + Character.toString(cp) + " ";
            if (!byRegex(text).equals(byScanner(text))) {
                assertEquals(byRegex(text), byScanner(text), String.format("U+%04X", cp));
            }
        }
    }
}
