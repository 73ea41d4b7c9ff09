package dev.kindling.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kindling.inference.TextTokenizer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * POST /v1/embeddings: {@code input} (a string or up to 2048 strings), {@code encoding_format} float or base64
 * (little-endian float32, as OpenAI's clients decode it), optional {@code dimensions} equal to the model's.
 */
final class EmbeddingsEndpoint {
    static final int MAX_INPUTS = 2048;
    private final Registry models;
    private final ServerOptions options;

    EmbeddingsEndpoint(Registry models, ServerOptions options) {
        this.models = models;
        this.options = options;
    }

    void handle(ServerRequest req, ServerResponse res) throws InterruptedException {
        ObjectNode body = JsonBody.parse(Http.body(req, options.maxBodyBytes()));
        ServedModel.Encoder model = models.find(JsonBody.string(body, "model", null), ServedModel.Encoder.class, "embeddings");
        List<String> input = JsonBody.strings(body, "input", true, MAX_INPUTS);
        String format = JsonBody.string(body, "encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64"))
            throw ApiError.invalid("encoding_format", "'encoding_format' must be \"float\" or \"base64\", got \"" + clip(format) + "\"");
        int dims = JsonBody.integer(body, "dimensions", model.dimensions(), 1, Integer.MAX_VALUE);
        if (dims != model.dimensions())
            throw ApiError.invalid("dimensions", "model '" + model.name() + "' makes vectors of " + model.dimensions() + " dimensions, got 'dimensions' " + dims);
        int tokens = 0;
        for (int i = 0; i < input.size(); i++) tokens += countTokens(model.tokenizer(), input.get(i), i);
        List<float[]> vectors;
        try {
            vectors = model.batcher().submit(input).get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw ApiError.timeout(options.requestTimeout().toMillis());
        } catch (ExecutionException e) {
            throw ApiError.internal("embedding failed: " + e.getCause());
        }
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "list");
        ArrayNode data = out.putArray("data");
        for (int i = 0; i < vectors.size(); i++) {
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            float[] v = vectors.get(i);
            if (format.equals("base64")) {
                ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) buf.putFloat(f);
                item.put("embedding", Base64.getEncoder().encodeToString(buf.array()));
            } else {
                ArrayNode arr = item.putArray("embedding");
                for (float f : v) arr.add(f);
            }
        }
        out.put("model", model.name());
        ObjectNode usage = out.putObject("usage");
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        Http.json(res, 200, out);
    }

    private static int countTokens(TextTokenizer tokenizer, String text, int index) {
        TextTokenizer.Encoding e;
        try {
            e = tokenizer.encode(text);
        } catch (IllegalArgumentException ex) {
            throw ApiError.invalid("input", "'input[" + index + "]' cannot be tokenized: " + ex.getMessage());
        }
        int n = 0;
        for (int m : e.attentionMask()) if (m != 0) n++;
        if (n == 0) throw ApiError.invalid("input", "'input[" + index + "]' has no token after tokenizing");
        return n;
    }

    static String clip(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
