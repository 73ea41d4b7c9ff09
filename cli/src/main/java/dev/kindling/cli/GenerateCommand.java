package dev.kindling.cli;

import dev.kindling.inference.Sampler;
import dev.kindling.inference.TextGeneration;
import dev.kindling.kernels.Parallel;
import dev.kindling.models.AutoModel;
import dev.kindling.models.Gpt;
import dev.kindling.tensor.DType;
import dev.kindling.tensor.Generator;
import dev.kindling.tokenizers.Tokenizer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kindling generate}: samples text from a trained GPT folder (FP32, or quantized by {@code kindling quantize}),
 * streaming tokens as they come.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate text with a trained GPT (KV-cached decoding).")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Folder with config.json, model.safetensors and tokenizer.json.") Path model;
    @Option(names = "--prompt", description = "Prompt text; repeat for several prompts (decoded as one batch when equally long).") List<String> prompts;
    @Option(names = "--max-new-tokens", defaultValue = "200") int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy (default ${DEFAULT-VALUE}).") double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens (0 = off).") int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass (1 = off).") double topP;
    @Option(names = "--seed", defaultValue = "1337") long seed;
    @Option(names = "--num-samples", defaultValue = "1") int numSamples;
    @Option(names = "--truncate-left", description = "Cut prompts longer than the context from the left instead of failing.") boolean truncateLeft;
    @Option(names = "--threads") Integer threads;
    @Option(names = "--dtype", defaultValue = "f32", description = "f32, bf16 or f16 weight matrices (default ${DEFAULT-VALUE}); "
            + "a quantized folder keeps its int8/int4 matrices.") String dtype;

    @Override
    public Integer call() throws Exception {
        if (numSamples <= 0) throw new IllegalArgumentException("--num-samples must be positive, got " + numSamples);
        if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        if (threads != null) Parallel.setThreads(threads);
        Path tokFile = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) throw new IllegalArgumentException(model + ": no tokenizer.json");
        Tokenizer tokenizer = Tokenizer.load(tokFile);
        DType weights = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.FLOAT32;
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            default -> throw new IllegalArgumentException("--dtype must be f32, bf16 or f16, got '" + dtype + "'");
        };
        try (AutoModel auto = AutoModel.fromPretrained(model, weights)) {
            return generate(auto.as(Gpt.class), tokenizer);
        }
    }

    private int generate(Gpt gpt, Tokenizer tokenizer) {
        var sampler = new Sampler(temperature, topK, topP, new Generator(seed));
        int eos = tokenizer.eosTokenId().orElse(-1);
        var overflow = truncateLeft ? TextGeneration.Overflow.TRUNCATE_LEFT : TextGeneration.Overflow.ERROR;
        List<String> texts = prompts == null || prompts.isEmpty() ? List.of(defaultPrompt(tokenizer)) : prompts;

        // Group equal-length prompts (times samples) into batches; stream when there is a single sequence.
        Map<Integer, List<int[]>> byLength = new LinkedHashMap<>();
        Map<Integer, List<String>> textsByLength = new LinkedHashMap<>();
        for (String t : texts) {
            int[] ids = tokenizer.encode(t);
            if (ids.length == 0) throw new IllegalArgumentException("--prompt '" + t + "' encodes to no tokens");
            for (int s = 0; s < numSamples; s++) {
                byLength.computeIfAbsent(ids.length, k -> new ArrayList<>()).add(ids);
                textsByLength.computeIfAbsent(ids.length, k -> new ArrayList<>()).add(t);
            }
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        boolean stream = texts.size() * numSamples == 1;
        for (var e : byLength.entrySet()) {
            int[][] batch = e.getValue().toArray(new int[0][]);
            List<String> bt = textsByLength.get(e.getKey());
            if (stream) {
                out.print(bt.get(0));
                List<Integer> sofar = new ArrayList<>();
                int[] printed = {0};
                TextGeneration.generate(gpt, batch, maxNewTokens, sampler, eos, overflow, (row, id) -> {
                    if (id == eos) return;
                    sofar.add(id);
                    String text = tokenizer.decode(sofar.stream().mapToInt(Integer::intValue).toArray());
                    // print only complete characters: a byte-level token may end inside a UTF-8 sequence
                    if (!text.endsWith("\uFFFD")) {
                        out.print(text.substring(printed[0]));
                        printed[0] = text.length();
                    }
                });
                out.println();
            } else {
                int[][] gen = TextGeneration.generate(gpt, batch, maxNewTokens, sampler, eos, overflow, null);
                for (int i = 0; i < gen.length; i++) {
                    int[] g = gen[i];
                    if (g.length > 0 && g[g.length - 1] == eos) g = java.util.Arrays.copyOf(g, g.length - 1);
                    out.println(bt.get(i) + tokenizer.decode(g));
                    out.println("---------------");
                }
            }
        }
        return 0;
    }

    /** nanoGPT starts from a newline; fall back to the first vocabulary entry. */
    private static String defaultPrompt(Tokenizer t) {
        try {
            t.encode("\n");
            return "\n";
        } catch (IllegalArgumentException e) {
            return t.decode(new int[] {0});
        }
    }
}
