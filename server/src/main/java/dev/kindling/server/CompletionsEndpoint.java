package dev.kindling.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kindling.inference.Sampler;
import dev.kindling.tensor.Generator;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * POST /v1/completions and /v1/chat/completions: validates the request, queues one {@link Sequence} per choice on the
 * model's scheduler and answers with the whole result or, with {@code stream: true}, with server-sent events as
 * tokens come. A client that goes away mid-stream cancels its sequences; so does the request timeout.
 */
final class CompletionsEndpoint {
    static final int MAX_N = 8, MAX_PROMPTS = 16, MAX_STOPS = 4, MAX_MESSAGES = 256;
    private static final List<String> ROLES = List.of("system", "developer", "user", "assistant", "tool");

    private final Registry models;
    private final ServerOptions options;
    private final boolean chat;

    CompletionsEndpoint(Registry models, ServerOptions options, boolean chat) {
        this.models = models;
        this.options = options;
        this.chat = chat;
    }

    /** The validated settings of one request. */
    private record Params(int maxTokens, double temperature, double topP, int topK, List<String> stops, long seed, int n,
                          boolean stream, boolean includeUsage) {}

    void handle(ServerRequest req, ServerResponse res) throws InterruptedException {
        ObjectNode body = JsonBody.parse(Http.body(req, options.maxBodyBytes()));
        ServedModel.Generator model = models.find(JsonBody.string(body, "model", null), ServedModel.Generator.class,
                chat ? "chat completions" : "completions");
        int context = model.gpt().config.blockSize();
        List<String> prompts;
        List<String> stops = new ArrayList<>(JsonBody.strings(body, "stop", false, MAX_STOPS));
        for (int i = 0; i < stops.size(); i++)
            if (stops.get(i).isEmpty()) throw ApiError.invalid("stop", "'stop[" + i + "]' must not be empty");
        if (chat) {
            prompts = List.of(model.template().render(messages(body)));
            stops.addAll(model.template().stops);
        } else {
            prompts = JsonBody.strings(body, "prompt", true, MAX_PROMPTS);
        }
        int maxTokensDefault = chat ? context : 16;
        int maxTokens = JsonBody.integer(body, "max_tokens", maxTokensDefault, 1, Integer.MAX_VALUE);
        if (chat) maxTokens = JsonBody.integer(body, "max_completion_tokens", maxTokens, 1, Integer.MAX_VALUE);
        double temperature = JsonBody.number(body, "temperature", 1.0, 0, 2);
        double topP = JsonBody.number(body, "top_p", 1.0, 0, 1);
        if (topP == 0) throw ApiError.invalid("top_p", "'top_p' must be greater than 0, got 0");
        int topK = JsonBody.integer(body, "top_k", 0, 0, model.gpt().config.vocabSize());
        long seed = JsonBody.longValue(body, "seed", ThreadLocalRandom.current().nextLong());
        int n = JsonBody.integer(body, "n", 1, 1, MAX_N);
        boolean stream = JsonBody.bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = JsonBody.field(body, "stream_options");
        if (so != null) {
            if (!(so instanceof ObjectNode sop)) throw ApiError.invalid("stream_options", "'stream_options' must be an object, got " + JsonBody.kind(so));
            includeUsage = JsonBody.bool(sop, "include_usage", false);
        }
        var p = new Params(maxTokens, temperature, topP, topK, List.copyOf(stops), seed, n, stream, includeUsage);

        String param = chat ? "messages" : "prompt";
        List<int[]> ids = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            String where = chat ? "'messages'" : prompts.size() == 1 ? "'prompt'" : "'prompt[" + i + "]'";
            int[] t;
            try {
                t = model.tokenizer().encode(prompts.get(i));
            } catch (IllegalArgumentException e) {
                throw ApiError.invalid(param, where + " cannot be tokenized: " + e.getMessage());
            }
            if (t.length == 0) throw ApiError.invalid(param, where + " encodes to no tokens");
            if (t.length >= context)
                throw ApiError.invalid(param, where + " has " + t.length + " tokens but the model's context is " + context
                        + ", which leaves no room for a new token");
            ids.add(t);
        }

        long deadline = System.nanoTime() + options.requestTimeout().toNanos();
        var events = new LinkedBlockingQueue<Sequence.Event>();
        List<Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++)
            for (int j = 0; j < n; j++) {
                int index = i * n + j;
                var sampler = new Sampler(temperature, topK, topP, new Generator(seed + index));
                seqs.add(new Sequence(index, ids.get(i), maxTokens, sampler, p.stops(), deadline, model.tokenizer(), model.eos(), events));
            }
        model.scheduler().submit(seqs);
        String id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        long created = System.currentTimeMillis() / 1000;
        try {
            if (stream) stream(res, model.name(), id, created, seqs, events, deadline, p);
            else whole(res, model.name(), id, created, seqs, events, deadline);
        } finally {
            for (Sequence s : seqs) s.cancel(); // no-op for finished ones; frees the slot of any other
        }
    }

    private List<ChatTemplate.Message> messages(ObjectNode body) {
        JsonNode v = JsonBody.field(body, "messages");
        if (v == null) throw ApiError.invalid("messages", "'messages' is required");
        if (!v.isArray()) throw ApiError.invalid("messages", "'messages' must be an array, got " + JsonBody.kind(v));
        if (v.isEmpty()) throw ApiError.invalid("messages", "'messages' must not be empty");
        if (v.size() > MAX_MESSAGES) throw ApiError.invalid("messages", "'messages' has " + v.size() + " items; at most " + MAX_MESSAGES + " are allowed");
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            String at = "'messages[" + i + "]";
            if (!(v.get(i) instanceof ObjectNode m)) throw ApiError.invalid("messages", at + "' must be an object, got " + JsonBody.kind(v.get(i)));
            JsonNode role = JsonBody.field(m, "role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.textValue()))
                throw ApiError.invalid("messages", at + ".role' must be one of " + ROLES + ", got " + (role == null ? "nothing" : JsonBody.shown(role)));
            JsonNode content = JsonBody.field(m, "content");
            String text;
            if (content == null) text = "";
            else if (content.isTextual()) text = JsonBody.checkText("messages[" + i + "].content", content.textValue());
            else if (content.isArray()) {
                StringBuilder sb = new StringBuilder();
                for (int k = 0; k < content.size(); k++) {
                    JsonNode part = content.get(k);
                    if (!(part instanceof ObjectNode po) || !"text".equals(JsonBody.string(po, "type", null)) || !(JsonBody.field(po, "text") instanceof JsonNode t) || !t.isTextual())
                        throw ApiError.invalid("messages", at + ".content[" + k + "]' must be a {\"type\": \"text\", \"text\": string} part");
                    sb.append(JsonBody.checkText("messages[" + i + "].content[" + k + "].text", t.textValue()));
                }
                text = sb.toString();
            } else throw ApiError.invalid("messages", at + ".content' must be a string or an array of text parts, got " + JsonBody.kind(content));
            String r = role.textValue().equals("developer") ? "system" : role.textValue();
            out.add(new ChatTemplate.Message(r, text));
        }
        return out;
    }

    /** Waits for every choice and answers once. */
    private void whole(ServerResponse res, String model, String id, long created, List<Sequence> seqs,
                       LinkedBlockingQueue<Sequence.Event> events, long deadline) throws InterruptedException {
        int n = seqs.size();
        StringBuilder[] texts = new StringBuilder[n];
        Sequence.Done[] done = new Sequence.Done[n];
        for (int i = 0; i < n; i++) texts[i] = new StringBuilder();
        for (int left = n; left > 0; ) {
            Sequence.Event e = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (e == null) throw ApiError.timeout(options.requestTimeout().toMillis());
            switch (e) {
                case Sequence.Delta d -> texts[d.index()].append(d.text());
                case Sequence.Done d -> {
                    if (d.finishReason().equals("timeout")) throw ApiError.timeout(options.requestTimeout().toMillis());
                    if (d.error() != null) throw ApiError.internal(d.error());
                    done[d.index()] = d;
                    left--;
                }
            }
        }
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("id", id);
        out.put("object", chat ? "chat.completion" : "text_completion");
        out.put("created", created);
        out.put("model", model);
        var choices = out.putArray("choices");
        int prompt = 0, completion = 0;
        for (int i = 0; i < n; i++) {
            ObjectNode c = choices.addObject();
            c.put("index", i);
            if (chat) {
                ObjectNode msg = c.putObject("message");
                msg.put("role", "assistant");
                msg.put("content", texts[i].toString());
            } else {
                c.put("text", texts[i].toString());
                c.putNull("logprobs");
            }
            c.put("finish_reason", done[i].finishReason());
            completion += done[i].completionTokens();
            // each prompt counts once, however many choices it has
            if (i == 0 || seqs.get(i).prompt != seqs.get(i - 1).prompt) prompt += done[i].promptTokens();
        }
        usage(out, prompt, completion);
        Http.json(res, 200, out);
    }

    /** Server-sent events: one chunk per text delta and per finished choice, then {@code data: [DONE]}. */
    private void stream(ServerResponse res, String model, String id, long created, List<Sequence> seqs,
                        LinkedBlockingQueue<Sequence.Event> events, long deadline, Params p) throws InterruptedException {
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        int n = seqs.size();
        try (OutputStream os = res.outputStream()) {
            if (chat)
                for (int i = 0; i < n; i++) {
                    ObjectNode c = chunk(id, created, model, i);
                    ((ObjectNode) c.get("choices").get(0)).putObject("delta").put("role", "assistant").put("content", "");
                    send(os, c);
                }
            int prompt = 0, completion = 0;
            for (int left = n; left > 0; ) {
                Sequence.Event e = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (e == null || e instanceof Sequence.Done d && (d.finishReason().equals("timeout") || d.error() != null)) {
                    ApiError err = e instanceof Sequence.Done d && d.error() != null ? ApiError.internal(d.error())
                            : ApiError.timeout(options.requestTimeout().toMillis());
                    send(os, Http.errorObject(err));
                    return;
                }
                switch (e) {
                    case Sequence.Delta d -> {
                        ObjectNode c = chunk(id, created, model, d.index());
                        ObjectNode choice = (ObjectNode) c.get("choices").get(0);
                        if (chat) choice.putObject("delta").put("content", d.text());
                        else choice.put("text", d.text());
                        choice.putNull("finish_reason");
                        send(os, c);
                    }
                    case Sequence.Done d -> {
                        ObjectNode c = chunk(id, created, model, d.index());
                        ObjectNode choice = (ObjectNode) c.get("choices").get(0);
                        if (chat) choice.putObject("delta");
                        else choice.put("text", "");
                        choice.put("finish_reason", d.finishReason());
                        send(os, c);
                        completion += d.completionTokens();
                        if (d.index() == 0 || seqs.get(d.index()).prompt != seqs.get(d.index() - 1).prompt) prompt += d.promptTokens();
                        left--;
                    }
                }
            }
            if (p.includeUsage()) {
                ObjectNode c = chunk(id, created, model, 0);
                c.putArray("choices");
                usage(c, prompt, completion);
                send(os, c);
            }
            os.write("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
            os.flush();
        } catch (IOException | java.io.UncheckedIOException e) {
            // the client went away: the finally of handle() cancels the sequences and frees their slots
        }
    }

    private ObjectNode chunk(String id, long created, String model, int index) {
        ObjectNode c = JsonBody.MAPPER.createObjectNode();
        c.put("id", id);
        c.put("object", chat ? "chat.completion.chunk" : "text_completion");
        c.put("created", created);
        c.put("model", model);
        c.putArray("choices").addObject().put("index", index);
        return c;
    }

    private static void usage(ObjectNode out, int prompt, int completion) {
        ObjectNode u = out.putObject("usage");
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
    }

    private static void send(OutputStream os, ObjectNode event) throws IOException {
        os.write("data: ".getBytes(StandardCharsets.US_ASCII));
        os.write(JsonBody.write(event));
        os.write("\n\n".getBytes(StandardCharsets.US_ASCII));
        os.flush();
    }
}
