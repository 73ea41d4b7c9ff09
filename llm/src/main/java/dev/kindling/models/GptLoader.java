package dev.kindling.models;

import dev.kindling.io.Json;
import dev.kindling.io.StateDicts;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Loads a GPT from a folder with config.json and model.safetensors (Kindling's or Hugging Face GPT-2's). */
public final class GptLoader {
    private GptLoader() {}

    public static Gpt load(Path dir) throws IOException {
        Path configFile = dir.resolve("config.json"), weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(configFile)) throw new IOException(dir + ": no config.json");
        if (!Files.isRegularFile(weights)) throw new IOException(dir + ": no model.safetensors");
        Object parsed;
        try {
            parsed = Json.parse(Files.readString(configFile, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> raw)) throw new IOException(configFile + ": expected a JSON object");
        @SuppressWarnings("unchecked")
        Map<String, Object> cfg = (Map<String, Object>) raw;
        Object type = cfg.get("model_type");
        if (type != null && !"gpt2".equals(type))
            throw new IOException(configFile + ": model_type '" + type + "' is not a GPT-2 style model");
        GptConfig config = GptConfig.fromHuggingFace(cfg);
        Gpt model = new Gpt(config, new Generator(0));
        model.loadStateDict(normalizeKeys(StateDicts.load(weights).tensors()));
        model.eval();
        return model;
    }

    /**
     * Hugging Face GPT-2 files may omit the "transformer." prefix (GPT2Model), carry the causal-mask buffers
     * (attn.bias, attn.masked_bias) and the tied lm_head.weight; none of those are parameters here.
     */
    static Map<String, Tensor> normalizeKeys(Map<String, Tensor> in) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : in.entrySet()) {
            String k = e.getKey();
            if (k.endsWith(".attn.bias") && e.getValue().dim() == 4 || k.endsWith(".attn.masked_bias") || k.equals("lm_head.weight")) continue;
            out.put(k.startsWith("transformer.") ? k : "transformer." + k, e.getValue());
        }
        return out;
    }
}
