package dev.kindling.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainGptCommandTest {
    private static final String[] TINY = {"--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "8",
            "--max-iters", "12", "--eval-interval", "4", "--eval-iters", "2", "--warmup", "2", "--quiet", "--threads", "1"};

    private static String[] args(String[] base, String... more) {
        List<String> all = new ArrayList<>(List.of("train", "gpt"));
        all.addAll(List.of(base));
        all.addAll(List.of(more));
        return all.toArray(new String[0]);
    }

    private static Path corpus(Path dir) throws Exception {
        Path f = dir.resolve("corpus.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 200; i++) sb.append("To be, or not to be: that is the question. ");
        Files.writeString(f, sb.toString());
        return f;
    }

    @Test
    void resumedRunEndsWithTheSameWeightsAsAnUninterruptedOne(@TempDir Path dir) throws Exception {
        Path data = corpus(dir);
        Path a = dir.resolve("a"), b = dir.resolve("b");
        String[] common = args(TINY, "--data", data.toString(), "--block-size", "16");
        assertEquals(0, Main.run(concat(common, "--out", a.toString())));
        assertEquals(0, Main.run(concat(common, "--out", b.toString(), "--stop-at", "6")));
        assertTrue(Files.exists(b.resolve("checkpoint.safetensors")));
        assertEquals(0, Main.run(concat(common, "--resume", b.toString())));
        assertArrayEquals(Files.readAllBytes(a.resolve("model.safetensors")), Files.readAllBytes(b.resolve("model.safetensors")));
        assertEquals(withoutSpeed(a.resolve("metrics.jsonl")), withoutSpeed(b.resolve("metrics.jsonl")));
        for (String f : List.of("config.json", "tokenizer.json", "curves.png", "tokens.bin"))
            assertTrue(Files.size(a.resolve(f)) > 0, f);
    }

    @Test
    void aFolderOfTokenShardsIsTrainedOnInShardOrder(@TempDir Path dir) throws Exception {
        var tok = dev.kindling.tokenizers.CharTokenizer.fromText(Files.readString(corpus(dir)));
        Path shards = Files.createDirectories(dir.resolve("shards"));
        int[] a = tok.encode("To be, or not to be: that is the question. ".repeat(40)), b = tok.encode("or not to be ".repeat(40));
        dev.kindling.data.TokenFile.write(shards.resolve("shard-00000.bin"), a, tok.vocabSize());
        dev.kindling.data.TokenFile.write(shards.resolve("shard-00001.bin"), b, tok.vocabSize());
        tok.save(shards.resolve("tokenizer.json"));
        Files.writeString(shards.resolve("manifest.json"), dev.kindling.data.TokenShards.manifest(List.of(
                new dev.kindling.data.TokenShards.Shard("shard-00000.bin", a.length, 40, 0),
                new dev.kindling.data.TokenShards.Shard("shard-00001.bin", b.length, 40, 1)), tok.vocabSize()));
        Path out = dir.resolve("run");
        assertEquals(0, Main.run(args(TINY, "--data", shards.toString(), "--block-size", "16", "--out", out.toString())));
        try (var f = dev.kindling.data.TokenFile.open(out.resolve("tokens.bin"))) {
            assertEquals(a.length + b.length, f.size());
            assertEquals(b[0], f.get(a.length));
        }
        assertTrue(Files.size(out.resolve("model.safetensors")) > 0);
        Files.delete(shards.resolve("manifest.json"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertNotEquals(0, Main.run(args(TINY, "--data", shards.toString(), "--out", dir.resolve("bad").toString())));
        } finally {
            System.setErr(old);
        }
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("without manifest.json"), err.toString(StandardCharsets.UTF_8));
    }

    private static List<String> withoutSpeed(Path metrics) throws Exception {
        return Files.readAllLines(metrics).stream().map(l -> l.replaceAll(",\"tokens_per_s\":\\d+", "")).toList();
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void checkpointedActivationsTrainToTheSameBitsAndFp16ResumesWithItsLossScale(@TempDir Path dir) throws Exception {
        Path data = corpus(dir);
        String[] common = args(TINY, "--data", data.toString(), "--block-size", "16", "--dropout", "0.1");
        Path plain = dir.resolve("plain"), ckpt = dir.resolve("ckpt");
        assertEquals(0, Main.run(concat(common, "--out", plain.toString())));
        assertEquals(0, Main.run(concat(common, "--out", ckpt.toString(), "--checkpoint-activations")));
        assertArrayEquals(Files.readAllBytes(plain.resolve("model.safetensors")), Files.readAllBytes(ckpt.resolve("model.safetensors")),
                "recomputed activations give the same gradients, hence the same weights");

        Path a = dir.resolve("fp16"), b = dir.resolve("fp16-resumed");
        String[] fp16 = concat(common, "--precision", "fp16");
        assertEquals(0, Main.run(concat(fp16, "--out", a.toString())));
        assertEquals(0, Main.run(concat(fp16, "--out", b.toString(), "--stop-at", "6")));
        var saved = dev.kindling.io.StateDicts.load(b.resolve("checkpoint.safetensors")).tensors();
        assertEquals(65536f, saved.get("scaler.scale").item(), "no overflow in 6 steps: the initial scale");
        assertEquals(6, saved.get("scaler.growth_tracker").toLongArray()[0]);
        assertEquals(0, Main.run(concat(fp16, "--resume", b.toString())));
        assertArrayEquals(Files.readAllBytes(a.resolve("model.safetensors")), Files.readAllBytes(b.resolve("model.safetensors")));

        Path bf = dir.resolve("bf16");
        assertEquals(0, Main.run(concat(common, "--out", bf.toString(), "--precision", "bf16")));
        double fp32Val = lastValLoss(plain), bf16Val = lastValLoss(bf), fp16Val = lastValLoss(a);
        assertTrue(Math.abs(bf16Val - fp32Val) < 0.05 && Math.abs(fp16Val - fp32Val) < 0.05,
                "val loss fp32 " + fp32Val + ", bf16 " + bf16Val + ", fp16 " + fp16Val);
        assertTrue(bf16Val != fp32Val, "bf16 really computed in bf16");
    }

    private static double lastValLoss(Path run) throws Exception {
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        var m = java.util.regex.Pattern.compile("\"val_loss\":([0-9.]+)").matcher(lines.get(lines.size() - 1));
        assertTrue(m.find(), lines.get(lines.size() - 1));
        return Double.parseDouble(m.group(1));
    }

    @Test
    void additionRunWritesAModelThatGenerateCanRun(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("add");
        assertEquals(0, Main.run(args(TINY, "--out", out.toString())));
        assertTrue(Files.exists(out.resolve("addition_eval.json")));
        String text = captureOut(() -> Main.run("generate", "--model", out.toString(), "--prompt", "12+34=", "--temperature", "0",
                "--max-new-tokens", "3", "--threads", "1"));
        assertTrue(text.startsWith("12+34="), text);
        assertEquals("12+34=".length() + 3, text.strip().length(), text);
    }

    @Test
    void badArgumentsGiveOneLineAndANonZeroExit(@TempDir Path dir) throws Exception {
        for (String[] bad : List.of(
                args(new String[0], "--n-embd", "30", "--n-head", "4"),
                args(new String[0], "--data", dir.resolve("missing.txt").toString()),
                args(new String[0], "--batch-size", "0"),
                args(new String[0], "--precision", "fp8"),
                args(new String[0], "--resume", dir.toString()))) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            PrintStream old = System.err;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code;
            try {
                code = Main.run(bad);
            } finally {
                System.setErr(old);
            }
            String msg = err.toString(StandardCharsets.UTF_8).strip();
            assertNotEquals(0, code, String.join(" ", bad));
            assertEquals(1, msg.lines().count(), msg);
            assertTrue(msg.startsWith("kindling "), msg);
        }
    }

    static String captureOut(java.util.concurrent.Callable<Integer> body) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, body.call());
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
