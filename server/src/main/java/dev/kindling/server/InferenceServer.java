package dev.kindling.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.Method;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An OpenAI-compatible HTTP service for the models of a {@link ServerOptions}: POST /v1/embeddings,
 * /v1/completions and /v1/chat/completions (with server-sent-event streaming), GET /v1/models, /health, /metrics
 * (Prometheus text) and a playground page at /. Generation uses continuous batching, embeddings coalesce requests.
 * <pre>{@code
 * try (var server = InferenceServer.start(ServerOptions.defaults(List.of(modelDir)).withPort(0))) {
 *     System.out.println("http://127.0.0.1:" + server.port() + "/");
 *     server.awaitClose();
 * }}</pre>
 */
public final class InferenceServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(InferenceServer.class.getName());
    /** The routes metrics are kept for; any other path counts as "other" so hostile paths cannot add series. */
    private static final List<String> ROUTES = List.of("/v1/embeddings", "/v1/completions", "/v1/chat/completions", "/v1/models",
            "/health", "/metrics", "/");

    private final ServerOptions options;
    private final Map<String, ServedModel> models;
    private final Metrics metrics = new Metrics();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final long started = System.currentTimeMillis() / 1000;
    private final String playground;
    private volatile boolean draining;
    private WebServer server;

    private InferenceServer(ServerOptions options) throws IOException {
        this.options = options;
        models = ServedModel.load(options, metrics);
        try (InputStream in = InferenceServer.class.getResourceAsStream("playground.html")) {
            if (in == null) throw new IllegalStateException("server: playground.html is missing from the jar");
            playground = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * Loads the models and starts listening.
     *
     * @throws IOException if a model folder cannot be read
     * @throws IllegalArgumentException if a folder is not a supported model (named)
     */
    public static InferenceServer start(ServerOptions options) throws IOException {
        var s = new InferenceServer(options);
        try {
            s.server = WebServer.builder().host(options.host()).port(options.port()).shutdownHook(false)
                    .routing(s::routes).build().start();
        } catch (RuntimeException e) {
            for (ServedModel m : s.models.values()) m.close();
            throw e;
        }
        return s;
    }

    /** The port the server listens on (the chosen one when the options said 0). */
    public int port() {
        return server.port();
    }

    /** The names of the served models. */
    public List<String> modelNames() {
        return List.copyOf(models.keySet());
    }

    private void routes(HttpRouting.Builder r) {
        var registry = new Registry(models);
        var embeddings = new EmbeddingsEndpoint(registry, options);
        var completions = new CompletionsEndpoint(registry, options, false);
        var chat = new CompletionsEndpoint(registry, options, true);
        r.addFilter(this::filter)
                .get("/", guard((req, res) -> Http.text(res, "text/html; charset=utf-8", playground)))
                .get("/health", guard((req, res) -> Http.json(res, 200, Map.of("status", "ok", "models", models.keySet()))))
                .get("/metrics", guard((req, res) -> Http.text(res, "text/plain; version=0.0.4; charset=utf-8", metrics.render())))
                .get("/v1/models", guard(this::listModels))
                .get("/v1/models/{id}", guard(this::oneModel))
                .post("/v1/embeddings", guard(embeddings::handle))
                .post("/v1/completions", guard(completions::handle))
                .post("/v1/chat/completions", guard(chat::handle))
                .any(guard(this::unknownRoute));
    }

    /** Counts and times every request, refuses new work while draining, and checks the API key on /v1. */
    private void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        long t0 = System.nanoTime();
        String path = req.path().path();
        String route = ROUTES.contains(path) ? path : path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
        inFlight.incrementAndGet();
        try {
            if (draining) Http.error(res, ApiError.shuttingDown());
            else if (options.apiKey() != null && path.startsWith("/v1/") && !authorized(req)) {
                Http.error(res, ApiError.unauthorized(req.headers().contains(io.helidon.http.HeaderNames.AUTHORIZATION)
                        ? "the API key is wrong" : "an API key is required: send 'Authorization: Bearer <key>'"));
            } else chain.proceed();
        } finally {
            inFlight.decrementAndGet();
            metrics.request(route, res.status().code(), (System.nanoTime() - t0) / 1e9);
        }
    }

    private boolean authorized(RoutingRequest req) {
        String h = req.headers().first(io.helidon.http.HeaderNames.AUTHORIZATION).orElse("");
        if (!h.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
        // constant-time comparison: the time to reject must not tell how much of the key was right
        return MessageDigest.isEqual(h.substring(7).trim().getBytes(StandardCharsets.UTF_8), options.apiKey().getBytes(StandardCharsets.UTF_8));
    }

    /** Every error, including a bug, leaves as a JSON error object; a client that went away is not an error. */
    private Handler guard(Handler h) {
        return (req, res) -> {
            try {
                h.handle(req, res);
            } catch (ApiError e) {
                if (!res.isSent()) Http.error(res, e);
            } catch (java.io.UncheckedIOException e) {
                LOG.log(Level.FINE, "client connection lost", e);
            } catch (Exception | StackOverflowError e) {
                LOG.log(Level.WARNING, "request " + req.prologue().method() + " " + req.path().path() + " failed", e);
                if (!res.isSent()) Http.error(res, ApiError.internal("internal error: " + e));
            }
        };
    }

    private void listModels(io.helidon.webserver.http.ServerRequest req, io.helidon.webserver.http.ServerResponse res) {
        ObjectNode out = JsonBody.MAPPER.createObjectNode();
        out.put("object", "list");
        var data = out.putArray("data");
        for (ServedModel m : models.values()) data.add(modelObject(m));
        Http.json(res, 200, out);
    }

    private void oneModel(io.helidon.webserver.http.ServerRequest req, io.helidon.webserver.http.ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        ServedModel m = models.get(id);
        if (m == null) throw ApiError.notFound("model_not_found", "model", "the model '" + EmbeddingsEndpoint.clip(id) + "' does not exist; loaded: " + models.keySet());
        Http.json(res, 200, modelObject(m));
    }

    private ObjectNode modelObject(ServedModel m) {
        ObjectNode o = JsonBody.MAPPER.createObjectNode();
        o.put("id", m.name());
        o.put("object", "model");
        o.put("created", started);
        o.put("owned_by", "kindling");
        o.put("capability", m instanceof ServedModel.Generator ? "completions" : "embeddings");
        if (m instanceof ServedModel.Generator g) o.put("context_length", g.gpt().config.blockSize());
        if (m instanceof ServedModel.Encoder e) o.put("dimensions", e.dimensions());
        return o;
    }

    private void unknownRoute(io.helidon.webserver.http.ServerRequest req, io.helidon.webserver.http.ServerResponse res) {
        String path = req.path().path();
        Method method = req.prologue().method();
        if (ROUTES.contains(path))
            throw new ApiError(405, "invalid_request_error", null, "method_not_allowed",
                    "method " + EmbeddingsEndpoint.clip(method.text()) + " is not allowed on " + path, 0);
        throw ApiError.notFound("unknown_url", null, "unknown route: " + EmbeddingsEndpoint.clip(method.text()) + " " + EmbeddingsEndpoint.clip(path));
    }

    /** Metric value for tests and tools: sequences that ended for {@code reason} (stop, length, cancelled, timeout). */
    long finishedSequences(String reason) {
        return metrics.finishedCount(reason);
    }

    /**
     * Stops gracefully: new requests get 503, requests in flight finish (up to the request timeout), then the
     * schedulers and the listener stop. Safe to call more than once and from any thread.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed.getCount() == 0) return;
            draining = true;
        }
        long deadline = System.nanoTime() + options.requestTimeout().toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (ServedModel m : models.values()) m.close();
        server.stop();
        closed.countDown();
    }

    /** Blocks until {@link #close()} has finished. */
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    /**
     * Closes the server gracefully on SIGTERM and SIGINT (instead of the JVM's immediate exit), and blocks until it
     * is closed; the caller then returns normally, so the process exits with status 0.
     */
    public void closeOnSignals() throws InterruptedException {
        for (String name : List.of("TERM", "INT")) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> Thread.ofPlatform().name("kindling-shutdown").start(this::close));
            } catch (IllegalArgumentException e) {
                LOG.fine("signal " + name + " cannot be handled here: " + e.getMessage());
            }
        }
        awaitClose();
    }
}
