package dev.kindling.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Debian's headless Chromium driven over the DevTools protocol with the JDK's own WebSocket client: no driver binary
 * to download, works offline. Opens one page and evaluates JavaScript in it.
 */
final class Chromium implements AutoCloseable {
    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    private Chromium(Process process, Path profile, WebSocket socket) {
        this.process = process;
        this.profile = profile;
        this.socket = socket;
    }

    static String binary() {
        String env = System.getenv("KINDLING_CHROMIUM");
        if (env != null) return env;
        for (String name : new String[] {"chromium", "chromium-browser"})
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":"))
                if (Files.isExecutable(Path.of(dir, name))) return Path.of(dir, name).toString();
        throw new IllegalStateException("Chromium is not installed: the playground test needs Debian's 'chromium' package (apt-get install chromium)");
    }

    /** Starts a fresh headless browser on {@code url} and connects to its page. */
    static Chromium open(String url) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("kindling-chromium");
        Process p = new ProcessBuilder(binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--remote-debugging-port=0", "--window-size=1000,900", url)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String devtools = null;
            var err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
            for (String line; (line = err.readLine()) != null; ) {
                int at = line.indexOf("ws://");
                if (line.contains("DevTools listening on") && at >= 0) {
                    devtools = line.substring(at).trim();
                    break;
                }
            }
            if (devtools == null) throw new IOException("chromium exited before it opened its DevTools port");
            Thread.ofVirtual().start(() -> err.lines().forEach(l -> {})); // keep draining its log
            URI browser = URI.create(devtools);
            HttpClient http = HttpClient.newHttpClient();
            String pageWs = null;
            for (int attempt = 0; attempt < 200 && pageWs == null; attempt++) {
                var list = http.send(HttpRequest.newBuilder(URI.create("http://" + browser.getAuthority() + "/json/list")).build(),
                        HttpResponse.BodyHandlers.ofString());
                for (JsonNode t : JsonBody.MAPPER.readTree(list.body()))
                    if ("page".equals(t.path("type").asText()) && t.has("webSocketDebuggerUrl")) pageWs = t.get("webSocketDebuggerUrl").asText();
                if (pageWs == null) Thread.sleep(50);
            }
            if (pageWs == null) throw new IOException("chromium opened no page");
            var holder = new Chromium[1];
            WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create(pageWs), new WebSocket.Listener() {
                final StringBuilder message = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    message.append(data);
                    if (last) {
                        holder[0].received(message.toString());
                        message.setLength(0);
                    }
                    w.request(1);
                    return null;
                }
            }).join();
            holder[0] = new Chromium(p, profile, ws);
            return holder[0];
        } catch (IOException | InterruptedException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    private void received(String text) {
        try {
            JsonNode msg = JsonBody.MAPPER.readTree(text);
            if (msg.has("id")) {
                var f = pending.remove(msg.get("id").asInt());
                if (f != null) f.complete(msg);
            }
        } catch (IOException e) {
            throw new IllegalStateException("chromium sent something that is not JSON: " + text, e);
        }
    }

    /** Calls a DevTools method and returns its result. */
    JsonNode call(String method, ObjectNode params) throws Exception {
        int id = ids.incrementAndGet();
        var f = new CompletableFuture<JsonNode>();
        pending.put(id, f);
        ObjectNode msg = JsonBody.MAPPER.createObjectNode().put("id", id).put("method", method);
        msg.set("params", params);
        socket.sendText(JsonBody.MAPPER.writeValueAsString(msg), true).join();
        JsonNode answer = f.get(60, TimeUnit.SECONDS);
        if (answer.has("error")) throw new IllegalStateException(method + " failed: " + answer.get("error"));
        return answer.get("result");
    }

    /** The value of a JavaScript expression in the page (promises awaited). */
    JsonNode eval(String expression) throws Exception {
        JsonNode r = call("Runtime.evaluate", JsonBody.MAPPER.createObjectNode().put("expression", expression)
                .put("awaitPromise", true).put("returnByValue", true));
        if (r.has("exceptionDetails")) throw new IllegalStateException("JavaScript failed: " + r.get("exceptionDetails"));
        return r.path("result").path("value");
    }

    /** Polls the expression until it is true (a generous minute, then fails); a page still loading counts as false. */
    void waitFor(String expression) throws Exception {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (!eval("(() => { try { return !!(" + expression + "); } catch (e) { return false; } })()").asBoolean(false)) {
            if (System.nanoTime() > end) throw new AssertionError("the page never reached: " + expression);
            Thread.sleep(20);
        }
    }

    /** A PNG screenshot of the page. */
    byte[] screenshot() throws Exception {
        return java.util.Base64.getDecoder().decode(call("Page.captureScreenshot", JsonBody.MAPPER.createObjectNode()).get("data").asText());
    }

    @Override
    public void close() throws IOException {
        socket.abort();
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
