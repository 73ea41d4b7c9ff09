package dev.kindling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kindling quantize} end to end: a trained GPT and a BERT folder, then generate and embed on the results. */
class QuantizeCommandTest {
    private static String capture(PrintStream[] which, Callable<Integer> run, int expectedCode) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = which == null ? System.out : System.err;
        PrintStream p = new PrintStream(buf, true, StandardCharsets.UTF_8);
        if (which == null) System.setOut(p); else System.setErr(p);
        try {
            assertEquals(expectedCode, run.call());
        } finally {
            if (which == null) System.setOut(old); else System.setErr(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void quantizedGptGeneratesAndBadOptionsFailWithOneLine(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("gpt");
        assertEquals(0, Main.run("train", "gpt", "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--batch-size", "8",
                "--max-iters", "4", "--eval-interval", "4", "--eval-iters", "1", "--warmup", "1", "--quiet", "--threads", "1",
                "--out", out.toString()));
        for (String bits : new String[] {"8", "4"}) {
            Path q = dir.resolve("q" + bits);
            String said = capture(null, () -> Main.run("quantize", "--model", out.toString(), "--out", q.toString(), "--bits", bits), 0);
            assertTrue(said.contains("quantized 5 matrices to " + bits + " bits"), said);
            // the built-in English text has no line this digits-and-signs tokenizer encodes: GPTQ falls back, and says so
            assertTrue(bits.equals("8") ? said.contains("round to nearest") && !said.contains("note:")
                    : said.contains("note: calibration: the tokenizer of") && said.contains("; rounded to nearest"), said);
            assertTrue(Files.readString(q.resolve("config.json")).contains("\"quantization_config\""));
            String text = capture(null, () -> Main.run("generate", "--model", q.toString(), "--prompt", "12+34=", "--temperature", "0",
                    "--max-new-tokens", "3", "--threads", "1"), 0);
            assertTrue(text.startsWith("12+34="), text);
            assertEquals("12+34=".length() + 3, text.strip().length(), text);
        }
        String bf16 = capture(null, () -> Main.run("generate", "--model", out.toString(), "--prompt", "1+1=", "--temperature", "0",
                "--max-new-tokens", "2", "--dtype", "bf16", "--threads", "1"), 0);
        assertTrue(bf16.startsWith("1+1="), bf16);
        PrintStream[] err = {System.err};
        String e = capture(err, () -> Main.run("quantize", "--model", out.toString(), "--out", dir.resolve("x").toString(), "--bits", "3"), 2);
        assertTrue(e.strip().equals("kindling quantize: quantization_config: bits must be 4 or 8, got 3"), e);
        e = capture(err, () -> Main.run("quantize", "--model", out.toString(), "--out", dir.resolve("x").toString(), "--bits", "4",
                "--group-size", "40"), 2);
        assertTrue(e.contains("group_size must be 0 (per row) or a positive multiple of 32, got 40"), e);
        e = capture(err, () -> Main.run("quantize", "--model", out.toString(), "--out", dir.resolve("x").toString(), "--bits", "4",
                "--rounding", "stochastic"), 2);
        assertTrue(e.strip().equals("kindling quantize: --rounding must be nearest or gptq, got 'stochastic'"), e);
        e = capture(err, () -> Main.run("quantize", "--model", out.toString(), "--out", dir.resolve("x").toString(), "--bits", "4",
                "--ffn-int8", "maybe"), 2);
        assertTrue(e.strip().equals("kindling quantize: --ffn-int8 must be auto, yes or no, got 'maybe'"), e);
        e = capture(err, () -> Main.run("quantize", "--model", out.toString(), "--out", dir.resolve("x").toString(), "--bits", "4",
                "--calibration", dir.resolve("none.txt").toString()), 2);
        assertTrue(e.contains("--calibration " + dir.resolve("none.txt") + " is not a file"), e);
        e = capture(err, () -> Main.run("quantize", "--model", out.toString(), "--out", dir.resolve("x").toString(), "--bits", "8",
                "--ffn-int8", "yes"), 2);
        assertTrue(e.contains("it applies to 4 bits"), e);
        e = capture(err, () -> Main.run("generate", "--model", out.toString(), "--dtype", "int3"), 2);
        assertTrue(e.contains("--dtype must be f32, bf16 or f16, got 'int3'"), e);
    }

    @Test
    void int4BertDefaultsToGptqWithFeedForwardInInt8AndEmbeds(@TempDir Path dir) throws Exception {
        Path m = EmbedCommandTest.model(dir), q = dir.resolve("q4"), cal = dir.resolve("cal.txt");
        String said = capture(null, () -> Main.run("quantize", "--model", m.toString(), "--out", q.toString(), "--bits", "4"), 0);
        assertTrue(said.contains("quantized 13 matrices to 4 bits (groups of 32, 4 feed-forward matrices in int8; GPTQ on "), said);
        Files.writeString(cal, "a cafe, unaffable\nrun!\n");
        said = capture(null, () -> Main.run("quantize", "--model", m.toString(), "--out", dir.resolve("q4b").toString(), "--bits", "4",
                "--calibration", cal.toString(), "--ffn-int8", "no"), 0);
        assertTrue(said.contains("(groups of 32; GPTQ on 12 calibration tokens)"), said);
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.jsonl");
        Files.writeString(in, "a cafe, unaffable\n");
        assertEquals(0, Main.run("embed", "--model", q.toString(), "--input", in.toString(), "--output", out.toString(), "--threads", "1"));
        assertTrue(Files.readString(out).startsWith("{\"index\":0,\"embedding\":["));
    }

    @Test
    void quantizedBertEmbeds(@TempDir Path dir) throws Exception {
        Path m = EmbedCommandTest.model(dir), q = dir.resolve("q");
        capture(null, () -> Main.run("quantize", "--model", m.toString(), "--out", q.toString(), "--bits", "8"), 0);
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.jsonl");
        Files.writeString(in, "a cafe, unaffable\nrun!\n");
        assertEquals(0, Main.run("embed", "--model", q.toString(), "--input", in.toString(), "--output", out.toString(), "--max-length", "12", "--threads", "1"));
        var lines = Files.readAllLines(out);
        assertEquals(2, lines.size());
        assertTrue(lines.get(0).startsWith("{\"index\":0,\"embedding\":["), lines.get(0));
    }
}
