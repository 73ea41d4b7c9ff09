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
        e = capture(err, () -> Main.run("generate", "--model", out.toString(), "--dtype", "int3"), 2);
        assertTrue(e.contains("--dtype must be f32, bf16 or f16, got 'int3'"), e);
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
